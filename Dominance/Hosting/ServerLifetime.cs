using Dominance.Api;
using Dominance.Core;
using Dominance.Persistence;
using Dominance.Reload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortalService = Dominance.Portal.Portal;

namespace Dominance.Hosting;

/// <summary>
/// Ties the game to the host's lifetime. Start: the database is migrated, the newest intact world save is read, and the
/// game thread starts the module with it. Stop (Ctrl-C, SIGTERM): every player is told, their queued output is flushed
/// and their connections closed, the world is saved, then the game thread stops.
/// </summary>
internal sealed class ServerLifetime(
    GameLoop core,
    PortalService portal,
    IGameStore store,
    WorldSaves saves,
    DominanceSettings settings,
    GameSetup game,
    IServiceProvider services,
    ILogger<ServerLifetime> log)
    : IHostedLifecycleService
{
    public const string ShutdownMessage = "The server is shutting down. See you soon!";

    private bool _saving;

    /// <summary>
    /// The final world save's outcome, once the server has stopped; <see langword="null"/> if there was none (the game
    /// never started).
    /// </summary>
    public SaveResult? FinalSave { get; private set; }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        store.Alarm += OnStoreAlarm;
        RestoredSave? restored;
        try
        {
            int version = await store.MigrateAsync().ConfigureAwait(false);
            log.LogInformation("Accounts and world saves are kept in {Store} (schema version {Version})", store.Description, version);
            restored = await saves.LoadNewestAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new StoreException($"cannot use the database ({store.Description}): {StoreException.CauseOf(e)}", e);
        }

        ReadOnlyMemory<byte> state = restored?.Data ?? default;
        if (services.GetService<ReloadCoordinator>() is { } reloads)
        {
            (IGameModule module, StateSerializer serializer) = await reloads.LoadFirstAsync().ConfigureAwait(false);
            core.Start(module, state, serializer);
        }
        else
        {
            core.Start(game.Module!, state);
        }

        try
        {
            await core.Started.ConfigureAwait(false);
        }
        catch (Exception e) when (restored is not null)
        {
            // The save is intact (its checksum matched), so the game code cannot read it. Starting a new world instead
            // would bury it: stop, and say which save and why.
            throw new GameLoadException(
                $"The game failed to start from world save #{restored.Save.Id} of {restored.Save.CreatedAt:u}: {e.Message} " +
                "The save is kept. Fix the game code, or point Persistence:SqliteFile or Persistence:PostgreSQL at another database to start a new world.");
        }

        if (restored is null)
        {
            log.LogInformation("No world save yet: a new world begins");
        }
        else
        {
            log.LogInformation(
                "Restored the world from save #{Id} of {Time:u} ({Bytes:N0} bytes)", restored.Save.Id, restored.Save.CreatedAt, restored.Data.Length);
        }

        saves.Start();
        _saving = true;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // Runs before Kestrel stops, while connections are still open.
        log.LogInformation("Shutting down: telling {Sessions} session(s)", portal.SessionCount);
        portal.StopAccepting();
        await core.DisconnectAllAsync(ShutdownMessage).ConfigureAwait(false);
        int aborted = await portal.DrainAsync(settings.Portal.ShutdownGrace).ConfigureAwait(false);
        if (aborted > 0)
        {
            log.LogWarning("{Aborted} session(s) did not take their output within {Grace}; closed them", aborted, settings.Portal.ShutdownGrace);
        }

        if (_saving)
        {
            // Every session has ended; let the game see each departure before its state is saved.
            while (await core.InvokeAsync(() => core.Sessions.Count > 0 || core.Inbound.Count > 0).ConfigureAwait(false))
            {
                await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
            }

            FinalSave = await saves.FinalSaveAsync().ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        services.GetService<ReloadCoordinator>()?.Dispose(); // no reloads while stopping
        await saves.DisposeAsync().ConfigureAwait(false);
        await core.StopAsync().ConfigureAwait(false);
        await store.DisposeAsync().ConfigureAwait(false);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The store cannot keep what it is given: the operator and every admin must hear it.</summary>
    private void OnStoreAlarm(string message)
    {
        log.LogCritical("{Alarm}", message);
        core.TellAdmins($"[database] {message}");
    }
}
