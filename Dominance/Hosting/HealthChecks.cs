using Dominance.Core;
using Dominance.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Dominance.Portal;
using HealthState = Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus;

namespace Dominance.Hosting;

/// <summary>
/// The server's health checks, through <c>Microsoft.Extensions.Diagnostics.HealthChecks</c>: <c>/healthz</c> for
/// liveness (the game thread runs), <c>/readyz</c> for readiness (the game has started and the database answers).
/// </summary>
/// <remarks>
/// A load balancer or orchestrator restarts a server whose <c>/healthz</c> fails (503) and sends no players to one whose
/// <c>/readyz</c> fails; a database that is down makes the server unready, not dead: it goes on, and saves retry.
/// <c>/healthz</c> answers with <see cref="HealthStatus"/> (sessions, queues, the runtime's figures), as it always has.
/// </remarks>
internal static class HealthChecks
{
    private const string Live = "live";
    private const string Ready = "ready";

    /// <summary>How long the database may take to answer the readiness check.</summary>
    private static readonly TimeSpan s_storeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Registers the checks.</summary>
    public static void Add(IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<GameThreadCheck>("game-thread", tags: [Live, Ready])
            .AddCheck<GameStartedCheck>("game", tags: [Ready])
            .AddCheck<StoreCheck>("store", tags: [Ready], timeout: s_storeTimeout);

    /// <summary>Maps <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static void Map(IEndpointRouteBuilder app, GameLoop core, PortalService portal)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Live),
            ResponseWriter = (http, report) => http.Response.WriteAsJsonAsync(
                HealthStatus.Read(core, portal) with { Status = report.Status == HealthState.Healthy ? "ok" : report.Status.ToString().ToLowerInvariant() }),
        });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Ready),
            ResponseWriter = (http, report) => http.Response.WriteAsJsonAsync(new
            {
                Status = report.Status.ToString().ToLowerInvariant(),
                Checks = report.Entries.ToDictionary(
                    entry => entry.Key,
                    entry => new { Status = entry.Value.Status.ToString().ToLowerInvariant(), entry.Value.Description }),
            }),
        });
    }

    /// <summary>Live while the game thread runs (or has not been started yet).</summary>
    private sealed class GameThreadCheck(GameLoop core) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(core.Exited.IsCompleted
                ? HealthCheckResult.Unhealthy("The game thread has stopped.")
                : HealthCheckResult.Healthy("The game thread runs."));
    }

    /// <summary>Ready once the game module has started.</summary>
    private sealed class GameStartedCheck(GameLoop core) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(core.Started.Status switch
            {
                TaskStatus.RanToCompletion => HealthCheckResult.Healthy($"Game generation {core.Generation} is running."),
                TaskStatus.Faulted => HealthCheckResult.Unhealthy("The game failed to start."),
                _ => HealthCheckResult.Unhealthy("The game is starting."),
            });
    }

    /// <summary>Ready while the database answers a query (accounts and saves would fail otherwise).</summary>
    private sealed class StoreCheck(IGameStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                int accounts = await store.CountAccountsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy($"The database answers ({accounts} accounts).");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"The database does not answer: {StoreException.CauseOf(e)}");
            }
        }
    }
}
