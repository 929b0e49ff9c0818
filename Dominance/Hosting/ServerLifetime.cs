using Dominance.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortalService = Dominance.Portal.Portal;

namespace Dominance.Hosting;

/// <summary>
/// Ties the game thread to the host's lifetime. Start: the game thread starts the module. Stop (Ctrl-C, SIGTERM):
/// every player is told, their queued output is flushed and their connections closed, then the game thread stops.
/// </summary>
internal sealed class ServerLifetime(GameLoop core, PortalService portal, DominanceSettings settings, ILogger<ServerLifetime> log)
    : IHostedLifecycleService
{
    public const string ShutdownMessage = "The server is shutting down. See you soon!";

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        core.Start();
        return core.Started;
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

    public Task StopAsync(CancellationToken cancellationToken) => core.StopAsync();

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
