using System.Text.Json;

namespace Dominance.Bench.Load;

/// <summary>What one load run measured.</summary>
internal sealed record LoadResult(
    string Target,
    int Clients,
    TimeSpan ConnectTime,
    long Sent,
    long Expected,
    long Delivered,
    TimeSpan SendDuration,
    double[] LatencyMilliseconds,
    CpuTime? ServerCpu,
    RuntimeFigures? ServerRuntime,
    (int Gen0, int Gen1, int Gen2) ToolCollections,
    IReadOnlyList<string> Failures,
    CpuTime? ToolCpu = null,
    TimeSpan ToolWindow = default,
    double[]? ArrivalMilliseconds = null,
    double[]? ToolDelayMilliseconds = null,
    MetricsSnapshot? MetricsBefore = null,
    MetricsSnapshot? MetricsAfter = null,
    (IdleMemory Before, IdleMemory After)? Idle = null)
{
    /// <summary>Deliveries expected and not made: every client should get every message.</summary>
    public long Lost => Expected - Delivered;

    public double DeliveredPerSecond => Delivered / SendDuration.TotalSeconds;

    public double? CpuMicrosecondsPerDelivery => ServerCpu is { } cpu && Delivered > 0 ? cpu.Total * 1e6 / Delivered : null;

    /// <summary>The load tool's own CPU time (its clients' receiving and parsing, the senders) per delivery, over the measured window.</summary>
    public double? ToolCpuMicrosecondsPerDelivery => ToolCpu is { } cpu && Delivered > 0 ? cpu.Total * 1e6 / Delivered : null;

    /// <summary>
    /// The load tool's CPU time over the measured window (the sends and the drain) as a share of that window's wall time:
    /// near 1 with the tool pinned to one CPU, that CPU is saturated, and the latencies include the tool's own queueing.
    /// </summary>
    public double? ToolCpuShare => ToolCpu is { } cpu && ToolWindow > TimeSpan.Zero ? cpu.Total / ToolWindow.TotalSeconds : null;

    public double? BytesAllocatedPerDelivery => ServerRuntime is { } runtime && Delivered > 0 ? (double)runtime.AllocatedBytes / Delivered : null;

    /// <summary>The latency at quantile <paramref name="q"/> (0..1), in milliseconds.</summary>
    public double Percentile(double q) => Percentile(LatencyMilliseconds, q);

    /// <summary>
    /// The value at quantile <paramref name="q"/> (0..1) of <paramref name="sorted"/>: <see cref="LatencyMilliseconds"/>,
    /// <see cref="ArrivalMilliseconds"/> (from the send stamp until the bytes arrived at the client's socket, by the
    /// kernel's stamp) or <see cref="ToolDelayMilliseconds"/> (from then until the load tool read them).
    /// </summary>
    public static double Percentile(double[]? sorted, double q) =>
        sorted is not { Length: > 0 } ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
}

/// <summary>
/// A load run: connect and log in every client, let the senders chat at the given total rate (first a warm-up, not
/// counted, then the measured run), then wait for the last deliveries. Every chat message goes to every client, the
/// sender included, so one message sent is <c>Clients</c> deliveries expected.
/// </summary>
internal static class LoadRun
{
    /// <summary>One server, measured in one window of the options' duration.</summary>
    public static async Task<LoadResult> RunAsync(LoadTarget target, LoadOptions options, TextWriter? progress = null)
    {
        LoadSession session = await LoadSession.ConnectAsync(target, options, progress);
        try
        {
            await session.WarmUpAsync();
            await session.MeasureAsync(options.Duration);
            return await session.FinishAsync();
        }
        finally
        {
            await session.CloseAsync();
        }
    }

    /// <summary>
    /// Two servers, both running and connected throughout, measured in turns: each is warmed up, then the duration is
    /// cut into windows of about <paramref name="window"/> and each server gets one window in turn, in the order
    /// A B, B A, A B, … (so that neither is always measured after the other). Both are then measured over the same
    /// stretch of the machine's time, and a slow minute of the machine slows both instead of whichever ran in it.
    /// Each window begins with a quarter of its length of sending that is not counted: the first fan-outs after a turn
    /// find the caches cold from the other server's window (at 1,000 × 50, one slow message in each 2-s window is the
    /// p99 of a fast server).
    /// Returns both results and, for each pair of neighbouring windows, <paramref name="a"/>'s CPU per delivery divided
    /// by <paramref name="b"/>'s (<see langword="null"/> where a window's CPU time is not known, or read as 0: the
    /// kernel counts it in 10-ms ticks).
    /// </summary>
    public static async Task<(LoadResult A, LoadResult B, double?[] CpuRatios, string Turns)> RunInterleavedAsync(
        LoadTarget a, LoadTarget b, LoadOptions options, TimeSpan window, TextWriter? progress = null)
    {
        int pairs = Math.Max(1, (int)Math.Round(options.Duration / window));
        TimeSpan each = options.Duration / pairs;
        TimeSpan leadIn = each / 4;
        LoadSession first = await LoadSession.ConnectAsync(a, options, progress, leadIn * pairs);
        try
        {
            LoadSession second = await LoadSession.ConnectAsync(b, options, progress, leadIn * pairs);
            try
            {
                await first.WarmUpAsync();
                await second.WarmUpAsync();
                var ratios = new double?[pairs];
                var turns = new List<string>(pairs);
                for (int i = 0; i < pairs; i++)
                {
                    LoadWindow ofA;
                    LoadWindow ofB;
                    if (i % 2 == 0)
                    {
                        ofA = await first.MeasureAsync(each, leadIn);
                        ofB = await second.MeasureAsync(each, leadIn);
                        turns.Add("AB");
                    }
                    else
                    {
                        ofB = await second.MeasureAsync(each, leadIn);
                        ofA = await first.MeasureAsync(each, leadIn);
                        turns.Add("BA");
                    }

                    ratios[i] = ofA.CpuMicrosecondsPerDelivery is { } cpuA and > 0 && ofB.CpuMicrosecondsPerDelivery is { } cpuB and > 0 ? cpuA / cpuB : null;
                }

                return (await first.FinishAsync(), await second.FinishAsync(), ratios, string.Join(' ', turns));
            }
            finally
            {
                await second.CloseAsync();
            }
        }
        finally
        {
            await first.CloseAsync();
        }
    }
}

/// <summary>CPU time of a process, user and system (kernel) seconds, from /proc on Linux.</summary>
internal readonly record struct CpuTime(double User, double System)
{
    private const double TicksPerSecond = 100; // USER_HZ, the unit of utime and stime in /proc/<pid>/stat

    public double Total => User + System;

    public static CpuTime? Of(int? processId)
    {
        if (processId is not { } pid || !File.Exists($"/proc/{pid}/stat"))
        {
            return null;
        }

        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return new CpuTime(long.Parse(fields[11]) / TicksPerSecond, long.Parse(fields[12]) / TicksPerSecond); // utime and stime: fields 14 and 15
    }

    public static CpuTime? operator -(CpuTime? after, CpuTime? before) =>
        after is { } a && before is { } b ? new CpuTime(a.User - b.User, a.System - b.System) : null;

    public static CpuTime? operator +(CpuTime? x, CpuTime? y) =>
        x is { } a && y is { } b ? new CpuTime(a.User + b.User, a.System + b.System) : null;
}

/// <summary>
/// The server's own runtime figures (allocations, garbage collections), from the <c>runtime</c> part of Dominance's
/// <c>/healthz</c>. Servers without it (the baseline) have none.
/// </summary>
internal sealed record RuntimeFigures(long AllocatedBytes, int Gen0, int Gen1, int Gen2, double PauseMilliseconds)
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static async Task<RuntimeFigures?> ReadAsync(LoadTarget target)
    {
        try
        {
            using JsonDocument health = JsonDocument.Parse(await s_http.GetStringAsync($"http://{target.Http}/healthz"));
            JsonElement r = health.RootElement.GetProperty("runtime");
            return new RuntimeFigures(
                r.GetProperty("allocatedBytes").GetInt64(),
                r.GetProperty("gen0Collections").GetInt32(),
                r.GetProperty("gen1Collections").GetInt32(),
                r.GetProperty("gen2Collections").GetInt32(),
                r.GetProperty("gcPauseMilliseconds").GetDouble());
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or TaskCanceledException)
        {
            return null;
        }
    }

    public static RuntimeFigures? operator -(RuntimeFigures? after, RuntimeFigures? before) =>
        after is { } a && before is { } b
            ? new RuntimeFigures(a.AllocatedBytes - b.AllocatedBytes, a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.PauseMilliseconds - b.PauseMilliseconds)
            : null;

    public static RuntimeFigures? operator +(RuntimeFigures? x, RuntimeFigures? y) =>
        x is { } a && y is { } b
            ? new RuntimeFigures(a.AllocatedBytes + b.AllocatedBytes, a.Gen0 + b.Gen0, a.Gen1 + b.Gen1, a.Gen2 + b.Gen2, a.PauseMilliseconds + b.PauseMilliseconds)
            : null;
}
