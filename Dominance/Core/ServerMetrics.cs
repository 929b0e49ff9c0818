using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// Every instrument of the server, on one <see cref="Meter"/> named <see cref="MeterName"/>: what an operator reads at
/// <c>/metrics</c>, through OTLP, or with <c>dotnet-counters monitor --counters Dominance</c>.
/// </summary>
/// <remarks>
/// <para><b>Nothing here costs the game thread a lock or an allocation.</b> What happens per input or per delivery
/// is already counted where it happens, in plain fields of the part that does it (the portal's per-session counts, the
/// dispatcher's inputs, the loop's sleep time); the instruments for those are <i>observable</i>: they read the counts
/// when a collector asks, on the collector's thread. The only instrument the game thread records into per input is
/// <see cref="InputReplyTime"/>, a histogram with no tags (without a listener, an enabled check; with the OpenTelemetry
/// SDK, an uncontended update of one metric point). Everything else recorded synchronously (reloads, saves, logins) is
/// rare and off the game thread. Tags are cached <see cref="KeyValuePair{TKey, TValue}"/>s: recording allocates nothing.</para>
/// <para>Units follow OpenTelemetry (<c>s</c>, <c>By</c>, <c>{session}</c>); the Prometheus exporter turns
/// <c>dominance.game_thread.busy</c> in <c>s</c> into <c>dominance_game_thread_busy_seconds_total</c>.</para>
/// <para>Parts record through the instance their server gives them. Parts built alone (benchmarks, tests) get
/// <see cref="Detached"/>, on a meter of another name that no exporter of the server listens to, and which observes
/// nothing: a process-wide meter must not keep every part built in it alive through its callbacks.</para>
/// </remarks>
internal sealed class ServerMetrics : IDisposable
{
    /// <summary>The name of the server's meter: what an exporter or <c>dotnet-counters</c> subscribes to.</summary>
    public const string MeterName = "Dominance";

    private static readonly KeyValuePair<string, object?> s_succeeded = new("outcome", "succeeded");
    private static readonly KeyValuePair<string, object?> s_failed = new("outcome", "failed");
    private static readonly KeyValuePair<string, object?> s_throttled = new("outcome", "throttled");

    /// <summary>Boundaries for times from a tenth of a millisecond to ten seconds, in seconds.</summary>
    private static readonly double[] s_timeBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly bool _observes;
    private readonly Counter<long> _reloads;
    private readonly Histogram<double> _reloadCompileTime;
    private readonly Histogram<double> _reloadPause;
    private readonly Counter<long> _saves;
    private readonly Histogram<double> _saveStall;
    private readonly Histogram<double> _saveStoreTime;
    private readonly Counter<long> _logins;
    private readonly Counter<long> _accountsCreated;

    /// <summary>Creates the instruments on a meter made by <paramref name="meters"/> (the host's), or on a meter of its own.</summary>
    public ServerMetrics(IMeterFactory? meters = null)
        : this(meters, MeterName, observes: true)
    {
    }

    private ServerMetrics(IMeterFactory? meters, string name, bool observes)
    {
        _meter = meters?.Create(new MeterOptions(name)) ?? new Meter(name);
        _ownsMeter = meters is null;
        _observes = observes;

        InputReplyTime = _meter.CreateHistogram(
            "dominance.input.reply_time", "s",
            "Time from the portal reading an input line to the game having handled it (its replies handed to the portal).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_timeBuckets });
        _reloads = _meter.CreateCounter<long>("dominance.reloads", "{reload}", "Reloads of the game code, by outcome (succeeded, failed).");
        _reloadCompileTime = _meter.CreateHistogram(
            "dominance.reload.compile_time", "s", "Time a reload spent reading and compiling the game's source, off the game thread.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_timeBuckets });
        _reloadPause = _meter.CreateHistogram(
            "dominance.reload.pause", "s", "Time the game thread spent swapping the new code in (export, import, start).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_timeBuckets });
        _saves = _meter.CreateCounter<long>("dominance.saves", "{save}", "World saves, by outcome (succeeded, failed).");
        _saveStall = _meter.CreateHistogram(
            "dominance.save.stall", "s", "Time the game thread spent exporting the world for a save.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_timeBuckets });
        _saveStoreTime = _meter.CreateHistogram(
            "dominance.save.store_time", "s", "Time from the start of a save to the database having stored it.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_timeBuckets });
        _logins = _meter.CreateCounter<long>("dominance.logins", "{login}", "Account logins, by outcome (succeeded, failed, throttled).");
        _accountsCreated = _meter.CreateCounter<long>("dominance.accounts.created", "{account}", "Accounts created.");
    }

    /// <summary>For parts built outside a server (benchmarks, tests): a meter that the server's exporters do not read.</summary>
    public static ServerMetrics Detached { get; } = new(null, MeterName + ".Detached", observes: false);

    /// <summary>The meter every instrument is on.</summary>
    public Meter Meter => _meter;

    /// <summary>
    /// Input-to-reply time, in seconds: from the portal reading the line to the game having handled it. Recorded on the
    /// game thread, once per input: no tags.
    /// </summary>
    public Histogram<double> InputReplyTime { get; }

    /// <summary>
    /// Publishes what the core counts: inputs handled, the inbound channel's depth, and the game thread's busy time.
    /// Read when a collector asks, on its thread.
    /// </summary>
    public void ObserveCore(GameLoop core)
    {
        if (!_observes)
        {
            return;
        }

        _meter.CreateObservableCounter("dominance.inputs.handled", () => core.InputsHandled, "{input}", "Inputs the game has been handed.");
        _meter.CreateObservableGauge("dominance.inbound.depth", () => core.Inbound.Count, "{event}", "Events waiting in the inbound channel for the game thread.");
        var busy = new MonotonicReading();
        _meter.CreateObservableCounter(
            "dominance.game_thread.busy", () => busy.Next(core.BusyTicks) / (double)Stopwatch.Frequency, "s",
            "Time the game thread spent working rather than asleep waiting for work; its rate is the fraction of the thread in use.");
    }

    /// <summary>Publishes what the portal counts. Read when a collector asks, on its thread.</summary>
    public void ObservePortal(IPortalReadings portal)
    {
        if (!_observes)
        {
            return;
        }

        _meter.CreateObservableUpDownCounter("dominance.sessions", portal.SessionsByTransport, "{session}", "Sessions open now, by transport (telnet, websocket).");
        _meter.CreateObservableCounter("dominance.connections.accepted", () => portal.ConnectionsAccepted, "{connection}", "Connections admitted.");
        _meter.CreateObservableCounter("dominance.connections.refused", () => portal.ConnectionsRefused, "{connection}", "Connections turned away (too many, too fast, or shutting down).");
        _meter.CreateObservableCounter("dominance.inputs.relayed", () => portal.InputsRelayed, "{input}", "Input lines the portal relayed to the core.");
        _meter.CreateObservableCounter(
            "dominance.inputs.rejected",
            () => new[]
            {
                new Measurement<long>(portal.InputsRateLimited, new KeyValuePair<string, object?>("reason", "rate")),
                new Measurement<long>(portal.InputsTooLong, new KeyValuePair<string, object?>("reason", "size")),
            },
            "{input}", "Input lines the portal dropped, by reason: over the command rate (rate), or too long (size).");
        var deliveries = new MonotonicReading();
        var bytes = new MonotonicReading();
        _meter.CreateObservableCounter("dominance.deliveries", () => deliveries.Next(portal.FramesDelivered), "{message}", "Messages written to clients.");
        _meter.CreateObservableCounter("dominance.sent", () => bytes.Next(portal.BytesSent), "By", "Bytes of messages written to clients (before transport framing).");
        _meter.CreateObservableGauge("dominance.send_queue.depth", () => portal.QueuedFrames(), "{message}", "Messages waiting in every session's send queue now.");
        _meter.CreateObservableGauge("dominance.send_queue.max_depth", () => portal.DeepestQueue(), "{message}", "Messages waiting in the fullest send queue now.");
        _meter.CreateObservableCounter("dominance.slow_clients.disconnected", () => portal.SlowClientsDisconnected, "{session}", "Sessions disconnected because their send queue filled.");
        _meter.CreateObservableCounter("dominance.closes.cut_short", () => portal.ClosesCutShort, "{session}", "Closing sessions whose client did not take its last output within the shutdown grace.");
    }

    /// <summary>
    /// Publishes whether a portal of its own (<c>dominance portal</c>) has a core attached (1) or is holding its players
    /// while it waits for one (0). Read when a collector asks, on its thread.
    /// </summary>
    public void ObserveCoreAttached(Func<bool> attached)
    {
        if (_observes)
        {
            _meter.CreateObservableGauge("dominance.core.attached", () => attached() ? 1 : 0, "{core}", "1 while this portal has a core attached; 0 while it holds its players waiting for one.");
        }
    }

    /// <summary>
    /// Publishes how many of its sessions' events a portal of its own keeps for the core: sent and not yet acknowledged,
    /// or held while no core is attached. Read when a collector asks, on its thread.
    /// </summary>
    public void ObserveHeldEvents(Func<int> held)
    {
        if (_observes)
        {
            _meter.CreateObservableGauge("dominance.core.held_events", held, "{event}", "Events this portal keeps for the core: sent and not yet acknowledged, or held while no core is attached.");
        }
    }

    /// <summary>
    /// Publishes what a core counts of its output to remote portals (<c>Dominance.Nats</c>): entries waiting for the NATS
    /// server, and entries dropped because it did not take them in time. Read when a collector asks, on its thread.
    /// </summary>
    public void ObserveRemoteOutput(Func<long> queued, Func<long> dropped)
    {
        if (_observes)
        {
            _meter.CreateObservableGauge("dominance.nats.output.queued", queued, "{entry}", "Output entries for remote portals waiting to be published to the NATS server now.");
            _meter.CreateObservableCounter("dominance.nats.output.dropped", dropped, "{entry}", "Output entries for remote portals dropped because the NATS server did not take them in time (or refused them).");
        }
    }

    /// <summary>Records one reload: whether it went live, its compile time and the game thread's pause.</summary>
    public void RecordReload(bool succeeded, TimeSpan compile, TimeSpan pause)
    {
        _reloads.Add(1, succeeded ? s_succeeded : s_failed);
        _reloadCompileTime.Record(compile.TotalSeconds);
        if (pause > TimeSpan.Zero)
        {
            _reloadPause.Record(pause.TotalSeconds);
        }
    }

    /// <summary>Records one world save attempt: its outcome, the game thread's stall and the time to store it.</summary>
    public void RecordSave(SaveResult save)
    {
        _saves.Add(1, save.Succeeded ? s_succeeded : s_failed);
        _saveStall.Record(save.Stall.TotalSeconds);
        if (save.Succeeded)
        {
            _saveStoreTime.Record(save.Total.TotalSeconds);
        }
    }

    /// <summary>Records a login that succeeded.</summary>
    public void LoginSucceeded() => _logins.Add(1, s_succeeded);

    /// <summary>Records a login refused for a wrong name or password.</summary>
    public void LoginFailed() => _logins.Add(1, s_failed);

    /// <summary>Records a login refused by the throttle, before any password check.</summary>
    public void LoginThrottled() => _logins.Add(1, s_throttled);

    /// <summary>Records an account created.</summary>
    public void AccountCreated() => _accountsCreated.Add(1);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    /// <summary>
    /// A running total read from counts that can briefly read low (a session's count moving into the retired total, a
    /// sleep ending while it is read): never reports less than it reported before, so a counter never seems to reset.
    /// </summary>
    private sealed class MonotonicReading
    {
        private long _last;

        public long Next(long reading)
        {
            long last = Volatile.Read(ref _last);
            while (reading > last)
            {
                long seen = Interlocked.CompareExchange(ref _last, reading, last);
                if (seen == last)
                {
                    return reading;
                }

                last = seen;
            }

            return last;
        }
    }
}

/// <summary>What a portal reports to <see cref="ServerMetrics"/>. Read on a collector's thread; each member is cheap and never blocks.</summary>
internal interface IPortalReadings
{
    /// <summary>Sessions open now, one measurement per transport (tag <c>transport</c>).</summary>
    IEnumerable<Measurement<int>> SessionsByTransport();

    /// <summary>Connections admitted so far.</summary>
    long ConnectionsAccepted { get; }

    /// <summary>Connections turned away so far.</summary>
    long ConnectionsRefused { get; }

    /// <summary>Input lines relayed to the core so far.</summary>
    long InputsRelayed { get; }

    /// <summary>Input lines dropped for the command rate so far.</summary>
    long InputsRateLimited { get; }

    /// <summary>Input lines dropped for their length so far.</summary>
    long InputsTooLong { get; }

    /// <summary>Messages written to clients so far (may read briefly low while a session closes).</summary>
    long FramesDelivered { get; }

    /// <summary>Bytes of messages written to clients so far (may read briefly low while a session closes).</summary>
    long BytesSent { get; }

    /// <summary>Sessions disconnected for a full send queue so far.</summary>
    long SlowClientsDisconnected { get; }

    /// <summary>Closes that gave up on a client's last output after the shutdown grace, so far.</summary>
    long ClosesCutShort { get; }

    /// <summary>Messages waiting in every session's send queue now.</summary>
    long QueuedFrames();

    /// <summary>Messages waiting in the fullest session's send queue now.</summary>
    int DeepestQueue();
}
