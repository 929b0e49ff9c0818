using Dominance.Api;
using Dominance.Core;
using Dominance.Nats;
using Dominance.Persistence;
using Dominance.Portal;
using Dominance.Reload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dominance.Hosting;

/// <summary>
/// Ties the game to the host's lifetime. Start: the game's compile (or its load from the compile cache) begins at once,
/// off the start's path; the listeners bind (so a port in use fails the start before any slow work); then the database
/// is migrated, the newest intact world save is read, and the game thread starts the module with it. Connections that
/// arrive meanwhile wait in the inbound channel and are served once the module has started. Stop (Ctrl-C, SIGTERM):
/// every player is told, their queued output is flushed and their connections closed, the world is saved, then the game
/// thread stops.
/// </summary>
/// <remarks>
/// Every step of a shutdown that waits for the game thread has a deadline (<see cref="PortalSettings.ShutdownGrace"/>,
/// and <see cref="PersistenceSettings.ShutdownSaveTimeout"/> for the save): game code stuck in a loop must not keep the
/// process from exiting. A shutdown that could not do its work (the game thread did not answer, or the final save was
/// not stored) is reported in <see cref="Failure"/>, and the process exits non-zero.
/// <para>A core that yields to a newer one (<see cref="CoreRelay.Yielded"/>: a rolling restart) stops itself the same
/// way, except that it writes no world save from the moment it yields (the newer core's world is the one to keep), and
/// exits non-zero, so that a supervisor sees that it did not stop of its own accord.</para>
/// </remarks>
internal sealed class ServerLifetime(
    GameLoop core,
    PortalService portal,
    IGameStore store,
    WorldSaves saves,
    DominanceSettings settings,
    GameSetup game,
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    ILogger<ServerLifetime> log)
    : IHostedLifecycleService
{
    public const string ShutdownMessage = "The server is shutting down. See you soon!";

    /// <summary>What players connected to this core's own portal are told when it stops for a newer core.</summary>
    public const string TakenOverMessage = "A newer server has taken over the world: this one stops now. Connect again to play on.";

    private bool _saving;
    private volatile string? _takenOverBy;
    private volatile string? _failure;
    private Task<(IGameModule Module, StateSerializer Serializer)>? _firstBuild;

    /// <summary>
    /// Why the last shutdown failed to do its work, or why the server stopped itself (a newer core took over), or
    /// <see langword="null"/> if neither.
    /// </summary>
    public string? Failure => _failure;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Runs before any service starts, Kestrel included: compiling overlaps with binding the ports and opening the store.
        _firstBuild = services.GetService<ReloadCoordinator>()?.LoadFirstAsync(settings.Persistence.DropUnreadableState);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs once every service has started: the listeners are bound.</summary>
    public async Task StartedAsync(CancellationToken cancellationToken)
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
        Func<IReadOnlyList<StateLoss>> losses = () => [];
        if (Interlocked.Exchange(ref _firstBuild, null) is { } firstBuild)
        {
            // Taken out of the field: a finished task holds its result, and the first module must not outlive its generation.
            (IGameModule module, StateSerializer serializer) = await firstBuild.ConfigureAwait(false);
            core.Start(module, state, serializer);
            losses = () => serializer.LastLosses; // not kept in a field: the serializer would keep the first generation loaded
        }
        else
        {
            core.Start(game.Module!, state, new StateSerializer(settings.Persistence.DropUnreadableState));
        }

        try
        {
            await core.Started.ConfigureAwait(false);
        }
        catch (Exception e) when (restored is not null)
        {
            // The save is intact (its checksum matched), so the game code cannot read it. Starting a new world instead
            // would bury it: stop, and say which save and why.
            throw new GameLoadException(e is StateLossException
                ? $"The game code cannot keep all of world save #{restored.Save.Id} of {restored.Save.CreatedAt:u}:\n  {string.Join("\n  ", ((StateLossException)e).Losses)}\n" +
                  $"The save is kept, and the server does not start: periodic saves would soon replace it. Fix the game code (e.g. [StateAlias] for a " +
                  $"renamed member), see the save with 'dominance dump {restored.Save.Id}', or start with --Persistence:DropUnreadableState=true to drop this data."
                : $"The game failed to start from world save #{restored.Save.Id} of {restored.Save.CreatedAt:u}: {e.Message} " +
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
            if (losses() is { Count: > 0 } dropped)
            {
                // A game folder edited while the server was down: the save is kept in the database, but the running world lacks this.
                log.LogWarning(
                    "The game code does not keep all of save #{Id}; the save itself is kept ('dominance dump {Id}' shows it):\n  {Losses}",
                    restored.Save.Id, restored.Save.Id, string.Join("\n  ", dropped));
            }
        }

        saves.Start();
        _saving = true;
        if (services.GetService<CoreRelay>() is { } relay)
        {
            relay.Yielded += OnYielded;
            await relay.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A newer core has the portals (on a NATS task): its world is the one to keep. No save is written from now on; once
    /// a save under way has finished, this core says so and stops, exiting non-zero.
    /// </summary>
    private void OnYielded(string newer)
    {
        _takenOverBy = newer;
        _failure ??= $"core {newer}, started after this one, took over: this core stopped without saving its world";
        Task stopped = saves.StopWritingAsync($"core {newer}, started after this one, has taken over: this core writes no world save");
        _ = Task.Run(async () =>
        {
            if (!await WithinAsync(stopped, settings.Portal.ShutdownGrace).ConfigureAwait(false))
            {
                log.LogError("A world save under way did not finish within {Grace}; it may still be written", settings.Portal.ShutdownGrace);
            }

            log.LogWarning("Core {Newer}, started after this one, has taken over: this core writes no world save from now on, and stops", newer);
            lifetime.StopApplication();
        });
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // Runs before Kestrel stops, while connections are still open.
        TimeSpan grace = settings.Portal.ShutdownGrace;
        log.LogInformation("Shutting down: telling {Sessions} session(s)", portal.SessionCount);
        portal.StopAccepting();
        // Players of remote portals stay connected to their portals, which wait for the next core (Dominance.Nats).
        CoreRelay? relay = services.GetService<CoreRelay>();
        string goodbye = _takenOverBy is null ? ShutdownMessage : TakenOverMessage;
        bool answered = await WithinAsync(core.DisconnectAllAsync(goodbye, link => link is not RemoteSessionLink), grace).ConfigureAwait(false);
        int aborted = await portal.DrainAsync(grace).ConfigureAwait(false);
        if (relay is not null)
        {
            // A game thread that did not answer takes no departures either: the portals are only let go.
            await relay.DetachAllAsync(departures: answered).ConfigureAwait(false);
        }

        if (!answered)
        {
            Fail($"the game thread did not answer within {grace} (game code stuck in a loop?): connections were closed without a goodbye, and the world was not saved");
            return;
        }

        if (aborted > 0)
        {
            log.LogWarning("{Aborted} session(s) did not take their output within {Grace}; closed them", aborted, grace);
        }

        if (_saving && _takenOverBy is null)
        {
            // Every session has ended; let the game see each departure before its state is saved.
            if (!await WithinAsync(DeparturesSeenAsync(), grace).ConfigureAwait(false))
            {
                log.LogWarning("The game had not seen every departure within {Grace}; saving the world as it is", grace);
            }

            // FinalSaveAsync keeps to ShutdownSaveTimeout itself; the deadline here also covers a game thread that
            // stops answering halfway.
            Task<SaveResult> final = saves.FinalSaveAsync();
            if (!await WithinAsync(final, settings.Persistence.ShutdownSaveTimeout + grace).ConfigureAwait(false))
            {
                Fail($"the final world save did not finish within {settings.Persistence.ShutdownSaveTimeout + grace}");
            }
            else if (await final.ConfigureAwait(false) is { Succeeded: false } failed)
            {
                Fail($"the final world save could not be written: {failed.Error}");
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        TimeSpan grace = settings.Portal.ShutdownGrace;
        ReloadCoordinator? reloads = services.GetService<ReloadCoordinator>();
        reloads?.Dispose(); // no reloads while stopping
        if (!await WithinAsync(saves.DisposeAsync().AsTask(), grace).ConfigureAwait(false))
        {
            log.LogError("The save writer did not stop within {Grace}", grace);
        }

        if (await WithinAsync(core.StopAsync(), grace).ConfigureAwait(false))
        {
            reloads?.UnloadRunning(); // the game thread is gone: nothing runs the game's code any more
        }
        else
        {
            Fail($"the game thread did not stop within {grace}");
        }

        if (services.GetService<CoreRelay>() is { } relay)
        {
            await relay.DisposeAsync().ConfigureAwait(false);
        }

        await store.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Completes once the game has seen every session leave and has no event left to handle.</summary>
    private async Task DeparturesSeenAsync()
    {
        // Departures arrive through the inbound channel like any event; ask the game thread until none is left.
        while (await core.InvokeAsync(() => core.Sessions.Count > 0 || core.Inbound.Count > 0).ConfigureAwait(false))
        {
            await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Whether <paramref name="work"/> finished within <paramref name="deadline"/>. If it failed, its exception is thrown.</summary>
    private static async Task<bool> WithinAsync(Task work, TimeSpan deadline)
    {
        try
        {
            await work.WaitAsync(deadline).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Fail(string reason)
    {
        _failure ??= reason;
        log.LogCritical("Shutdown failed: {Reason}", reason);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The store cannot keep what it is given: the operator and every admin must hear it.</summary>
    private void OnStoreAlarm(string message)
    {
        log.LogCritical("{Alarm}", message);
        core.TellAdmins($"[database] {message}");
    }
}
