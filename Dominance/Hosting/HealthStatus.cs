using System.Diagnostics;
using Dominance.Core;
using PortalService = Dominance.Portal.Portal;

namespace Dominance.Hosting;

/// <summary>The small JSON document served at <c>/healthz</c>.</summary>
internal sealed record HealthStatus(
    string Status,
    int Sessions,
    int InboundQueued,
    long InputsHandled,
    double UptimeSeconds,
    long ConnectionsAccepted,
    long ConnectionsRefused,
    long InputsRateLimited,
    long InputsTooLong,
    long SlowClientsDisconnected)
{
    public static HealthStatus Read(GameLoop core, PortalService portal) => new(
        "ok",
        portal.SessionCount,
        core.Inbound.Count,
        core.InputsHandled,
        Math.Round((DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds, 1),
        Interlocked.Read(ref portal.Counters.ConnectionsAccepted),
        Interlocked.Read(ref portal.Counters.ConnectionsRefused),
        Interlocked.Read(ref portal.Counters.InputsRateLimited),
        Interlocked.Read(ref portal.Counters.InputsTooLong),
        Interlocked.Read(ref portal.Counters.SlowClientsDisconnected));
}
