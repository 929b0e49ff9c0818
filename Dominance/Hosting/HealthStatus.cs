using System.Diagnostics;
using Dominance.Core;
using Dominance.Portal;

namespace Dominance.Hosting;

/// <summary>The small JSON document served at <c>/healthz</c>: liveness, the portal's counters and the runtime's (a portal without a core reports no inbound or inputs).</summary>
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
    long SlowClientsDisconnected,
    RuntimeStatus Runtime)
{
    /// <summary>When this process started, read once.</summary>
    private static readonly DateTime s_processStart = ReadProcessStart();

    public static HealthStatus Read(GameLoop? core, PortalService portal) => new(
        "ok",
        portal.SessionCount,
        core?.Inbound.Count ?? 0,
        core?.InputsHandled ?? 0,
        Math.Round((DateTime.Now - s_processStart).TotalSeconds, 1),
        portal.Counters.ConnectionsAccepted,
        portal.Counters.ConnectionsRefused,
        portal.Counters.InputsRateLimited,
        portal.Counters.InputsTooLong,
        portal.Counters.SlowClientsDisconnected,
        RuntimeStatus.Read());

    private static DateTime ReadProcessStart()
    {
        using Process self = Process.GetCurrentProcess();
        return self.StartTime;
    }
}

/// <summary>What the .NET runtime reports about the process: memory, garbage collections and their pauses, threads.</summary>
internal sealed record RuntimeStatus(
    long AllocatedBytes,
    long HeapBytes,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    double GcPauseMilliseconds,
    int ThreadPoolThreads)
{
    public static RuntimeStatus Read() => new(
        GC.GetTotalAllocatedBytes(),
        GC.GetTotalMemory(forceFullCollection: false),
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        Math.Round(GC.GetTotalPauseDuration().TotalMilliseconds, 1),
        ThreadPool.ThreadCount);
}
