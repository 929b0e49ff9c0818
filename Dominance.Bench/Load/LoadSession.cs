using System.Diagnostics;

namespace Dominance.Bench.Load;

/// <summary>
/// One server's clients for a load run, and what its measured windows add up to. <see cref="ConnectAsync"/> connects
/// and logs in every client, <see cref="WarmUpAsync"/> sends without counting, each <see cref="MeasureAsync"/> is one
/// measured window, and <see cref="FinishAsync"/> closes the clients and sums the windows into one
/// <see cref="LoadResult"/>. A plain run has one window; an interleaved run (<see cref="LoadRun.RunInterleavedAsync"/>)
/// alternates the windows of two sessions, so that both servers are measured in the same stretch of the machine's time.
/// </summary>
/// <remarks>
/// Each window's stamps are those each client received from the window's start until the next window's lead-in began
/// (the last window's: until the clients closed), so late deliveries count for the window they belong to; the
/// latencies are read once, at the end. Stamps are told apart by when they arrived, not by what they say: in a run
/// that lost messages (a window's drain gave up), a late one may be taken for a lead-in's, and then one of the lead-in's
/// for the window's. Such a run is reported as failed anyway.
/// </remarks>
internal sealed class LoadSession
{
    /// <summary>How long before the warm-up's end its scrapes stop (see <see cref="WarmUpAsync"/>).</summary>
    private static readonly TimeSpan s_freshReading = TimeSpan.FromMilliseconds(500);

    private readonly LoadTarget _target;
    private readonly LoadOptions _options;
    private readonly LoadClient[] _clients;
    private readonly LoadReceiver _receiver = new();
    private readonly TimeSpan _uncounted;
    private TimeSpan _connectTime;
    private (IdleMemory, IdleMemory)? _idle;
    private readonly List<(int[] From, int[]? To)> _ranges = []; // each window's stamps, per client: [From, To)
    private long _sent;
    private TimeSpan _sendDuration;
    private TimeSpan _toolWindow;
    private CpuTime? _cpu;
    private CpuTime? _toolCpu;
    private RuntimeFigures? _runtime;
    private (int Gen0, int Gen1, int Gen2) _toolCollections;
    private MetricsSnapshot? _metricsBefore;
    private bool _closed;

    private LoadSession(LoadTarget target, LoadOptions options, TimeSpan uncounted)
    {
        _target = target;
        _options = options;
        _clients = new LoadClient[options.Clients];
        _uncounted = uncounted;
    }

    /// <summary>
    /// Connects and logs in every client (in waves of 50, as real players arrive, so that the server's accept queue is
    /// not what is measured), with the idle memory report around the idle clients if it was asked for.
    /// <paramref name="uncounted"/> is how long the windows' lead-ins will send in all (the clients make room for their stamps).
    /// </summary>
    public static async Task<LoadSession> ConnectAsync(LoadTarget target, LoadOptions options, TextWriter? progress, TimeSpan uncounted = default)
    {
        var session = new LoadSession(target, options, uncounted);
        try
        {
            await session.ConnectAsync(progress);
            return session;
        }
        catch
        {
            await session.CloseAsync();
            throw;
        }
    }

    private async Task ConnectAsync(TextWriter? progress)
    {
        // Every client receives every message: this many stamps each, plus room for a late straggler or two.
        int expectedStamps = (int)Math.Min(1 << 20, (_options.Rate * (_options.WarmUp + _options.Duration + _uncounted).TotalSeconds * 1.1) + 64);
        IdleMemory? idleBefore = null;
        if (_options.IdleReport)
        {
            await Task.Delay(_options.IdleWait < TimeSpan.FromSeconds(12) ? _options.IdleWait : TimeSpan.FromSeconds(12)); // after Dominance's idle trim, 10 s after its start
            idleBefore = await IdleMemory.ReadAfterCollectionAsync(_target);
        }

        long connectStarted = Stopwatch.GetTimestamp();
        for (int i = 0; i < _clients.Length; i += 50)
        {
            int wave = Math.Min(50, _clients.Length - i);
            LoadClient[] connected = await Task.WhenAll(Enumerable.Range(i, wave).Select(c => LoadClient.ConnectAsync(_target.ForClient(c), _options.Telnet, expectedStamps, _receiver, _options.Mccp, _options.Timeline is not null)));
            connected.CopyTo(_clients, i);
            await Task.WhenAll(connected.Select(c => c.LogInAsync(TimeSpan.FromSeconds(60))));
        }

        _connectTime = Stopwatch.GetElapsedTime(connectStarted);
        progress?.WriteLine($"  {_target.Name}: {_clients.Length} clients logged in after {_connectTime.TotalMilliseconds:F0} ms");
        if (idleBefore is not null)
        {
            // Every connection idle for a while: the logins' last lines are read, and Kestrel's memory pool has given
            // back the blocks the login storm left in it (it evicts unused blocks when idle, a part every few seconds).
            await Task.Delay(_options.IdleWait);
            if (await IdleMemory.ReadAfterCollectionAsync(_target) is { } idleAfter)
            {
                _idle = (idleBefore, idleAfter);
                if (progress is not null)
                {
                    IdleMemory.Print(progress, _target.Name, _clients.Length, idleBefore, idleAfter);
                }
            }
        }
    }

    /// <summary>
    /// Sends for the options' warm-up, not counted, while the server's metrics and health are read ten times a second
    /// (until half a second before its end); then waits for its deliveries.
    /// </summary>
    public async Task WarmUpAsync()
    {
        if (_options.WarmUp <= TimeSpan.Zero)
        {
            return;
        }

        // The scrapes end half a second before the sending does. The server's exporter answers a scrape within 300 ms
        // of its last collection from a cache, and the reading taken just before the measured run must be fresh.
        using var warming = new CancellationTokenSource(_options.WarmUp > s_freshReading ? _options.WarmUp - s_freshReading : TimeSpan.Zero);
        Task scrapes = ScrapeAsync(_target, warming.Token);
        long warmUp = await SendAsync(_options.WarmUp);
        await warming.CancelAsync();
        await scrapes;
        await DrainAsync(new int[_clients.Length], warmUp * _clients.Length);
    }

    /// <summary>
    /// One measured window: the senders send for <paramref name="duration"/>, then the last deliveries are waited for.
    /// Its counts, CPU times and runtime figures are added to the session's; returns the window's own. A
    /// <paramref name="leadIn"/> is sent first and not counted (nor its deliveries, which are waited for).
    /// </summary>
    public async Task<LoadWindow> MeasureAsync(TimeSpan duration, TimeSpan leadIn = default)
    {
        if (_ranges.Count > 0)
        {
            _ranges[^1] = (_ranges[^1].From, Stamps());
        }

        if (leadIn > TimeSpan.Zero)
        {
            int[] leading = Stamps();
            await DrainAsync(leading, await SendAsync(leadIn) * _clients.Length);
        }

        // All before the CPU readings: the scrapes' own cost is not counted.
        _metricsBefore ??= await MetricsSnapshot.ReadAsync(_target);
        RuntimeFigures? runtimeBefore = await RuntimeFigures.ReadAsync(_target);
        int[] before = Stamps();
        _ranges.Add((before, null));
        CpuTime? cpuBefore = CpuTime.Of(_target.ProcessId);
        CpuTime? toolCpuBefore = CpuTime.Of(Environment.ProcessId);
        (int, int, int) toolBefore = Collections();
        long sendStarted = Stopwatch.GetTimestamp();
        long sent = await SendAsync(duration);
        TimeSpan sendDuration = Stopwatch.GetElapsedTime(sendStarted);
        await DrainAsync(before, sent * _clients.Length);
        TimeSpan toolWindow = Stopwatch.GetElapsedTime(sendStarted);
        CpuTime? toolCpu = CpuTime.Of(Environment.ProcessId) - toolCpuBefore;
        (int, int, int) toolCollections = Subtract(Collections(), toolBefore);
        CpuTime? cpu = CpuTime.Of(_target.ProcessId) - cpuBefore;
        RuntimeFigures? runtime = await RuntimeFigures.ReadAsync(_target) - runtimeBefore;

        bool first = _ranges.Count == 1;
        _sent += sent;
        _sendDuration += sendDuration;
        _toolWindow += toolWindow;
        _toolCpu = first ? toolCpu : _toolCpu + toolCpu;
        _toolCollections = Add(_toolCollections, toolCollections);
        _cpu = first ? cpu : _cpu + cpu;
        _runtime = first ? runtime : _runtime + runtime;
        return new LoadWindow(Delivered(before), cpu);
    }

    /// <summary>Reads the server's metrics after the last window, closes every client and returns the sum of the windows.</summary>
    public async Task<LoadResult> FinishAsync()
    {
        if (_ranges.Count == 0)
        {
            throw new InvalidOperationException("A load session is finished after at least one measured window.");
        }

        MetricsSnapshot? metricsAfter = await MetricsSnapshot.ReadAsync(_target);
        string[] failures = [.. _clients.Select(c => c.Failure).OfType<string>().Distinct()];
        if (_options.Mccp && _clients.Count(c => !c.Compressed) is > 0 and int plain)
        {
            failures = [.. failures, $"{plain} of {_clients.Length} clients would have accepted MCCP2, and their output was never compressed (not offered, or not started)."];
        }

        await CloseAsync();
        _ranges[^1] = (_ranges[^1].From, Stamps());
        long delivered = _ranges.Sum(r => _clients.Select((c, i) => (long)(r.To![i] - r.From[i])).Sum());
        (long Latency, long Arrival)[] received =
        [
            .. _ranges.SelectMany(r => _clients.SelectMany((c, i) => c.Latencies.Zip(c.Arrivals).Take(r.To![i]).Skip(r.From[i]))),
        ];
        if (_options.Timeline is { } timeline)
        {
            WriteTimeline($"{timeline}.{_target.Name.ToLowerInvariant()}.csv");
            GC.Collect(); // its garbage (tens of MB at 1,000 clients) is not left for a collection in the next server's run
        }

        double[] latencies = [.. received.Select(d => Milliseconds(d.Latency)).Order()];
        (long Latency, long Arrival)[] stamped = [.. received.Where(d => d.Arrival != long.MinValue)];
        double[]? arrivals = stamped.Length > 0 ? [.. stamped.Select(d => Milliseconds(d.Arrival)).Order()] : null;
        double[]? delays = stamped.Length > 0 ? [.. stamped.Select(d => Milliseconds(d.Latency - d.Arrival)).Order()] : null;
        return new LoadResult(
            _target.Name, _clients.Length, _connectTime, _sent, _sent * _clients.Length, delivered, _sendDuration, latencies, _cpu, _runtime, _toolCollections,
            failures, _toolCpu, _toolWindow, arrivals, delays, _metricsBefore, metricsAfter, _idle);
    }

    /// <summary>
    /// Closes every client (once; again does nothing). Disposing waits for each receive loop to end, so the latency
    /// lists are complete and still afterwards.
    /// </summary>
    public async Task CloseAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        try
        {
            foreach (LoadClient? client in _clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }
        finally
        {
            _receiver.Dispose();
        }
    }

    /// <summary>
    /// During the warm-up, reads the server's metrics and health ten times a second, far more often than a monitored
    /// server is scraped, so that the code that serves and reads them around the measured run is as warm as the rest.
    /// Without this, the first scrapes came just before the measured run and the tiered JIT optimized their code
    /// (several hundred methods) during it. Once a second was not enough either: the JIT promotes a method after 30
    /// calls, so a 30 s warm-up reached that count only at its end, and the load tool's own promotions of its reading
    /// code (about 50 ms of compiling on its CPU) fell 1.8 s into the measured run, delaying its reads. A server that
    /// serves neither (the baseline) answers 404, the same requests.
    /// </summary>
    internal static async Task ScrapeAsync(LoadTarget target, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await MetricsSnapshot.ReadAsync(target);
            await RuntimeFigures.ReadAsync(target);
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The senders chat for <paramref name="duration"/> at the total rate; returns the number of messages sent.</summary>
    private async Task<long> SendAsync(TimeSpan duration)
    {
        long sent = 0;
        int senders = Math.Min(_options.Senders, _clients.Length);
        long interval = (long)(Stopwatch.Frequency * senders / _options.Rate);
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

                if (!_clients[s].TrySend($"chat t={Stopwatch.GetTimestamp()} s={s}:{sequence++}"))
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
    private async Task DrainAsync(int[] before, long expected)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(_options.Drain.TotalSeconds * Stopwatch.Frequency);
        while (Delivered(before) < expected && Stopwatch.GetTimestamp() < deadline && _clients.All(c => c.Failure is null))
        {
            await Task.Delay(10);
        }
    }

    private int[] Stamps() => [.. _clients.Select(c => c.Stamped)];

    private long Delivered(int[] before) => _clients.Select((c, i) => (long)(c.Stamped - before[i])).Sum();

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>
    /// One row per measured message (<see cref="LoadOptions.Timeline"/>), times from the first one's send; the last
    /// column is the send's CLOCK_MONOTONIC reading, the clock of <c>perf record -k CLOCK_MONOTONIC</c>.
    /// </summary>
    private void WriteTimeline(string path)
    {
        var messages = _ranges
            .SelectMany(r => _clients.SelectMany((c, i) => c.SentAt!.Zip(c.Latencies, c.Arrivals).Take(r.To![i]).Skip(r.From[i])))
            .GroupBy(d => d.First)
            .OrderBy(g => g.Key)
            .ToList();
        using var output = new StreamWriter(path);
        output.WriteLine("sent_ms,recipients,p50_ms,max_ms,max_at_socket_ms,sent_clock_ns");
        long first = messages.Count > 0 ? messages[0].Key : 0;
        foreach (var message in messages)
        {
            double[] latencies = [.. message.Select(d => Milliseconds(d.Second)).Order()];
            double atSocket = message.Where(d => d.Third != long.MinValue).Select(d => Milliseconds(d.Third)).DefaultIfEmpty(double.NaN).Max();
            output.WriteLine(FormattableString.Invariant($"{Milliseconds(message.Key - first):F3},{latencies.Length},{latencies[latencies.Length / 2]:F3},{latencies[^1]:F3},{atSocket:F3},{LoadReceiver.MonotonicNanoseconds(message.Key)}"));
        }
    }

    private static (int Gen0, int Gen1, int Gen2) Collections() => (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    private static (int, int, int) Subtract((int A, int B, int C) after, (int A, int B, int C) before) => (after.A - before.A, after.B - before.B, after.C - before.C);

    private static (int, int, int) Add((int A, int B, int C) x, (int A, int B, int C) y) => (x.A + y.A, x.B + y.B, x.C + y.C);
}
