using Dominance.Api;
using Dominance.Core;
using Dominance.Reload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortalService = Dominance.Portal.Portal;

namespace Dominance.Hosting;

/// <summary>
/// Ties the game thread to the host's lifetime. Start: the game thread starts the module. Stop (Ctrl-C, SIGTERM):
/// every player is told, their queued output is flushed and their connections closed, then the game thread stops.
/// </summary>
internal sealed class ServerLifetime(
    GameLoop core, PortalService portal, DominanceSettings settings, GameSetup game, IServiceProvider services, ILogger<ServerLifetime> log)
    : IHostedLifecycleService
{
    public const string ShutdownMessage = "The server is shutting down. See you soon!";

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<ReloadCoordinator>() is { } reloads)
        {
            (IGameModule module, StateSerializer serializer) = await reloads.LoadFirstAsync().ConfigureAwait(false);
            core.Start(module, serializer: serializer);
        }
        else
        {
            core.Start(game.Module!);
        }

        await core.Started.ConfigureAwait(false);
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
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        services.GetService<ReloadCoordinator>()?.Dispose(); // no reloads while stopping
        await core.StopAsync().ConfigureAwait(false);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
