using System.Net;

namespace Dominance.Bench.Load;

/// <summary>What a load run does: how many clients, how many of them send, how fast, for how long, over what.</summary>
internal sealed record LoadOptions
{
    /// <summary>Clients that connect and log in as guests; every one receives every chat message.</summary>
    public int Clients { get; init; } = 100;

    /// <summary>How many of the clients send.</summary>
    public int Senders { get; init; } = 10;

    /// <summary>Chat messages per second, across all senders.</summary>
    public double Rate { get; init; } = 100;

    /// <summary>How long the senders send.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>WebSocket (default) or telnet.</summary>
    public bool Telnet { get; init; }

    /// <summary>With <see cref="Telnet"/>: the clients take the server's MCCP2 compression, so every connection's output is compressed.</summary>
    public bool Mccp { get; init; }

    /// <summary>
    /// Before the first client connects and once all are logged in and idle, make the server collect fully and report its
    /// resident memory and managed heap: the cost of an idle connection (<see cref="IdleMemory"/>).
    /// </summary>
    public bool IdleReport { get; init; }

    /// <summary>With <see cref="IdleReport"/>: how long every client is idle before the second reading.</summary>
    public TimeSpan IdleWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the senders send before the measured run (not counted). On one core, .NET's tiered JIT needs tens of
    /// seconds of traffic before the hot paths run fully optimized code (under 100 x 500 the server's JIT still used 2%
    /// of its CPU 33 s in); measuring earlier measures the JIT. The server's metrics and health are read ten times a second
    /// during it, until half a second before its end (the JIT optimizes a method after some 30 to 60 calls), so that the
    /// code serving and reading them around the measured run is warm too; a warm-up of a few seconds cannot warm it.
    /// </summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// If set, each server's measured messages are also written to <c>{Timeline}.{server}.csv</c>, one row per message in
    /// the order sent: when it was sent, its recipients, its latency's median and maximum over them, the maximum at the
    /// socket, and the send's CLOCK_MONOTONIC reading. It shows when in the run a tail came: from one stall (a run of
    /// late messages) or spread over the run, and, beside <c>perf</c>, what ran then.
    /// </summary>
    public string? Timeline { get; init; }

    /// <summary>How long to wait, after the last send, for the last deliveries.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Where the server under load listens (telnet, if it speaks it; WebSocket at <c>/ws</c>), and its process (for CPU time), if known.</summary>
internal sealed record LoadTarget(string Name, IPEndPoint? Telnet, IPEndPoint Http, int? ProcessId)
{
    /// <summary>
    /// Further addresses of the same server (its other portals): the clients are spread over this target and these in
    /// turn. Metrics and CPU time are read from this target only.
    /// </summary>
    public IReadOnlyList<LoadTarget> Others { get; init; } = [];

    /// <summary>The address client number <paramref name="client"/> connects to.</summary>
    public LoadTarget ForClient(int client) => client % (Others.Count + 1) is var i and > 0 ? Others[i - 1] : this;
}
