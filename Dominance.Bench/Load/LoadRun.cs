using System.Diagnostics;
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
/// One load run: connect and log in every client, let the senders chat at the given total rate (first a warm-up, not
/// counted, then the measured run), then wait for the last deliveries. Every chat message goes to every client, the
/// sender included, so one message sent is <c>Clients</c> deliveries expected.
/// </summary>
internal static class LoadRun
{
    public static async Task<LoadResult> RunAsync(LoadTarget target, LoadOptions options, TextWriter? progress = null)
    {
        var clients = new LoadClient[options.Clients];
        long connectStarted = Stopwatch.GetTimestamp();
        TimeSpan connectTime;
        int[] before;
        long sent;
        TimeSpan sendDuration;
        CpuTime? cpu;
        CpuTime? toolCpu;
        TimeSpan toolWindow;
        RuntimeFigures? runtime;
        string[] failures;
        (int, int, int) toolCollections;
        MetricsSnapshot? metricsBefore;
        MetricsSnapshot? metricsAfter;
        (IdleMemory, IdleMemory)? idle = null;
        using var receiver = new LoadReceiver();

        // Every client receives every message: this many stamps each, plus room for a late straggler or two.
        int expectedStamps = (int)Math.Min(1 << 20, (options.Rate * (options.WarmUp + options.Duration).TotalSeconds * 1.1) + 64);
        try
        {
            IdleMemory? idleBefore = null;
            if (options.IdleReport)
            {
                await Task.Delay(options.IdleWait < TimeSpan.FromSeconds(12) ? options.IdleWait : TimeSpan.FromSeconds(12)); // after Dominance's idle trim, 10 s after its start
                idleBefore = await IdleMemory.ReadAfterCollectionAsync(target);
            }

            // Connect in small waves, as real players arrive, so that the server's accept queue is not what is measured.
            for (int i = 0; i < clients.Length; i += 50)
            {
                int wave = Math.Min(50, clients.Length - i);
                LoadClient[] connected = await Task.WhenAll(Enumerable.Range(i, wave).Select(c => LoadClient.ConnectAsync(target.ForClient(c), options.Telnet, expectedStamps, receiver, options.Mccp)));
                connected.CopyTo(clients, i);
                await Task.WhenAll(connected.Select(c => c.LogInAsync(TimeSpan.FromSeconds(60))));
            }

            connectTime = Stopwatch.GetElapsedTime(connectStarted);
            progress?.WriteLine($"  {target.Name}: {clients.Length} clients logged in after {connectTime.TotalMilliseconds:F0} ms");
            if (idleBefore is not null)
            {
                // Every connection idle for a while: the logins' last lines are read, and Kestrel's memory pool has given
                // back the blocks the login storm left in it (it evicts unused blocks when idle, a part every few seconds).
                await Task.Delay(options.IdleWait);
                if (await IdleMemory.ReadAfterCollectionAsync(target) is { } idleAfter)
                {
                    idle = (idleBefore, idleAfter);
                    if (progress is not null)
                    {
                        IdleMemory.Print(progress, target.Name, clients.Length, idleBefore, idleAfter);
                    }
                }
            }

            if (options.WarmUp > TimeSpan.Zero)
            {
                using var warming = new CancellationTokenSource();
                Task scrapes = ScrapeAsync(target, warming.Token);
                long warmUp = await SendAsync(clients, options, options.WarmUp);
                await warming.CancelAsync();
                await scrapes;
                await DrainAsync(clients, new int[clients.Length], warmUp * clients.Length, options.Drain);
            }

            // Both before the CPU reading: the scrapes' own cost is not counted.
            metricsBefore = await MetricsSnapshot.ReadAsync(target);
            RuntimeFigures? runtimeBefore = await RuntimeFigures.ReadAsync(target);
            before = [.. clients.Select(c => c.Stamped)];
            CpuTime? cpuBefore = CpuTime.Of(target.ProcessId);
            CpuTime? toolCpuBefore = CpuTime.Of(Environment.ProcessId);
            (int, int, int) toolBefore = Collections();
            long sendStarted = Stopwatch.GetTimestamp();
            sent = await SendAsync(clients, options, options.Duration);
            sendDuration = Stopwatch.GetElapsedTime(sendStarted);
            await DrainAsync(clients, before, sent * clients.Length, options.Drain);
            toolWindow = Stopwatch.GetElapsedTime(sendStarted);
            toolCpu = CpuTime.Of(Environment.ProcessId) - toolCpuBefore;
            toolCollections = Subtract(Collections(), toolBefore);
            cpu = CpuTime.Of(target.ProcessId) - cpuBefore;
            runtime = await RuntimeFigures.ReadAsync(target) - runtimeBefore;
            metricsAfter = await MetricsSnapshot.ReadAsync(target);
            failures = [.. clients.Select(c => c.Failure).OfType<string>().Distinct()];
            if (options.Mccp && clients.Count(c => !c.Compressed) is > 0 and int plain)
            {
                failures = [.. failures, $"{plain} of {clients.Length} clients would have accepted MCCP2, and their output was never compressed (not offered, or not started)."];
            }
        }
        finally
        {
            // Disposing waits for each receive loop to end, so the latency lists are complete and still afterwards.
            foreach (LoadClient? client in clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }

        long delivered = Delivered(clients, before);
        double[] latencies = [.. clients.SelectMany((c, i) => c.Latencies.Skip(before[i])).Select(Milliseconds).Order()];
        (long Latency, long Arrival)[] stamped = [.. clients.SelectMany((c, i) => c.Latencies.Zip(c.Arrivals).Skip(before[i])).Where(d => d.Second != long.MinValue)];
        double[]? arrivals = stamped.Length > 0 ? [.. stamped.Select(d => Milliseconds(d.Arrival)).Order()] : null;
        double[]? delays = stamped.Length > 0 ? [.. stamped.Select(d => Milliseconds(d.Latency - d.Arrival)).Order()] : null;
        return new LoadResult(
            target.Name, clients.Length, connectTime, sent, sent * clients.Length, delivered, sendDuration, latencies, cpu, runtime, toolCollections, failures,
            toolCpu, toolWindow, arrivals, delays, metricsBefore, metricsAfter, idle);
    }

    /// <summary>
    /// During the warm-up, reads the server's metrics and health once a second, as a monitored server is scraped: the
    /// code that serves the readings around the measured run is then as warm as the rest. Without this, the first
    /// scrapes came just before the measured run and the tiered JIT optimized their code (several hundred methods)
    /// during it. A server that serves neither (the baseline) answers 404, the same requests.
    /// </summary>
    internal static async Task ScrapeAsync(LoadTarget target, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await MetricsSnapshot.ReadAsync(target);
            await RuntimeFigures.ReadAsync(target);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static (int Gen0, int Gen1, int Gen2) Collections() => (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    private static (int, int, int) Subtract((int A, int B, int C) after, (int A, int B, int C) before) => (after.A - before.A, after.B - before.B, after.C - before.C);

    /// <summary>The senders chat for <paramref name="duration"/> at the total rate; returns the number of messages sent.</summary>
    private static async Task<long> SendAsync(LoadClient[] clients, LoadOptions options, TimeSpan duration)
    {
        long sent = 0;
        int senders = Math.Min(options.Senders, clients.Length);
        long interval = (long)(Stopwatch.Frequency * senders / options.Rate);
        long started = Stopwatch.GetTimestamp();
        long end = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, senders).Select(s => Task.Run(async () =>
        {
            // Each sender keeps its own cadence against the clock, so a late send does not slow the rest; the senders'
            // cadences are staggered so that the total rate is even.
            long next = started + (interval * s / senders);
            int sequence = 0;
            while (next < end)
            {
                long wait = next - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                }

                if (!clients[s].TrySend($"chat t={Stopwatch.GetTimestamp()} s={s}:{sequence++}"))
                {
                    return; // this sender's connection failed: it is listed among the failures, and the others go on
                }

                Interlocked.Increment(ref sent);
                next += interval;
            }
        })));
        return sent;
    }

    /// <summary>Waits until every expected delivery arrived, a client failed, or the drain time is up.</summary>
    private static async Task DrainAsync(LoadClient[] clients, int[] before, long expected, TimeSpan drain)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(drain.TotalSeconds * Stopwatch.Frequency);
        while (Delivered(clients, before) < expected && Stopwatch.GetTimestamp() < deadline && clients.All(c => c.Failure is null))
        {
            await Task.Delay(10);
        }
    }

    private static long Delivered(LoadClient[] clients, int[] before) => clients.Select((c, i) => (long)(c.Stamped - before[i])).Sum();
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
}
