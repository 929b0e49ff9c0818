using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Dominance.Api;
using Dominance.Core;
using Dominance.Portal;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Dominance.Nats;

/// <summary>
/// A portal's side of the NATS link: the <see cref="IInboundSink"/> of a <see cref="PortalService"/> in a process without
/// a core. It attaches to a core (request and reply, with a proof of the shared secret: <see cref="AttachProof"/>), sends its sessions' events in batches, and
/// delivers the output batches the core sends to the sessions they name. When the core goes silent (stopped, killed,
/// replaced), the players stay connected: they are told, their input is held, and when a core answers again the relay
/// attaches to it and connects every session again, with its resume token, before the held input.
/// </summary>
/// <remarks>
/// <para><b>One sender.</b> Sessions write their events into a bounded channel (backpressure as in process: a full
/// channel makes the session wait, so TCP pushes back on its client). One loop drains it: it numbers each event (per
/// session, and portal-wide), keeps it until the core acknowledges it, and sends what is queued as one message. Being
/// alone, it needs no lock for the order of the wire, and after an attach it replays before anything new.</para>
/// <para><b>Held input.</b> Every event stays in <see cref="_unacknowledged"/> until the core acknowledges it (in its
/// heartbeat or an output batch). While no core is attached nothing is sent, and what is kept is bounded by the open
/// sessions (<see cref="Hold"/>): per session its connect, at most <see cref="NatsSettings.HoldCapacity"/> inputs (past
/// that the player is told that the input was refused) and as many out-of-band messages (past that they are dropped and
/// logged); changes of facts and departures are not kept, and what was kept for a session that left is forgotten. On
/// attach the relay sends, in order, a connect for every open session (with its latest facts, its restore token, and
/// the web client's resume token if no core acknowledged the connect) and then every unacknowledged input and
/// out-of-band message of the sessions still open.</para>
/// <para><b>Sent, and not acknowledged.</b> The core notices a lost message by the gap in the numbering that the next
/// one shows; a lost message that is the last one sent shows none, and the core's heartbeats go on acknowledging what
/// came before it. So the relay notices it (<see cref="NoticeUnacknowledged"/>): when, under the same attach, two of the
/// core's heartbeats in a row that arrived after its last send acknowledge less than it has sent, it sends every
/// unacknowledged event again, from the first, in order, numbered as before (the core drops what it received already).
/// Bounded: what is sent again is what is kept anyway, and while the acknowledgements do not catch up each resend waits
/// twice as many heartbeats as the one before, up to a heartbeat timeout's worth.</para>
/// </remarks>
internal sealed class PortalRelay : IInboundSink, IPlayerCount, IAsyncDisposable
{
    /// <summary>The notice to players when the core has gone.</summary>
    public const string RestartingNotice = "The world is restarting. Stay connected: you will be back in a moment, and what you type meanwhile will be run then.";

    /// <summary>The notice to players when a core has been attached again.</summary>
    public const string BackNotice = "The world is back.";

    /// <summary>The notice to a player whose input is too large for one message to the core: {0} its bytes, {1} the limit.</summary>
    public const string TooLargeNotice = "Your input was not sent: encoded, it is {0:N0} bytes, more than the {1:N0} bytes the link to the world carries in one message.";

    /// <summary>The events of one inbound message, at most (the core handles a message at a time).</summary>
    private const int MaxEventsPerMessage = 1024;

    /// <summary>The core's heartbeats, after a send, that acknowledge less than was sent before it is sent again (at first).</summary>
    private const int ResendAfter = 2;

    /// <summary>Room left for the core's id in a message's header while no core is attached (a core's id is 16 characters).</summary>
    private const int CoreIdAllowance = 64;

    private readonly NatsSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly Channel<InboundEvent> _events;
    private readonly Queue<Pending> _unacknowledged = new();
    private readonly Dictionary<SessionId, SessionState> _states = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<string> _refused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _loops = [];
    private readonly object _gate = new();
    private readonly AttachProof _proof;

    // The sender's: a batch's events encoded end to end, where each ends, and one event measured alone.
    private readonly WireWriter _encoded = new(64 * 1024);
    private readonly List<int> _ends = [];
    private readonly WireWriter _one = new(1024);
    private NatsConnection? _nats;
    // Never read, but needed: NATS.Net holds subscriptions by weak reference and drops one that nothing else keeps.
    private InlineSubscription? _output;
    private PortalService _portal = null!;

    // Under _gate: the core attached now (its instance id), or null; the attach's number (the core's, in its answer:
    // every acknowledgement names the attach it counts in); a new attach the sender has not replayed yet.
    private string? _core;
    private long _attach;
    private bool _replayDue;
    // Under _gate, for the attach now: the last event sent (its portal-wide number), the core's heartbeats since then that
    // acknowledge less, how many of them make the sender send the unacknowledged events again, and whether it is to.
    private long _sentThrough;
    private int _behind;
    private int _resendAfter = ResendAfter;
    private bool _resendDue;
    private long _lastHeard;
    private long _attachedAt;
    private volatile bool _coreSeen;

    // Under _gate: the newest core heard (Wire.IsNewerCore), and when; an attach to an older one is not taken while it is heard.
    private string? _newest;
    private long _newestHeard;
    private long _nextSequence = 1;
    // Sessions that left while no core was attached, whose events are still in _unacknowledged (see ForgetDeparted).
    private int _departed;

    // The players online in the whole game, from the attached core's last heartbeat; -1 while no core is attached.
    private volatile int _corePlayers = -1;

    public PortalRelay(NatsSettings settings, int capacity, TimeProvider clock, ILogger<PortalRelay> log)
    {
        _settings = settings;
        _clock = clock;
        _log = log;
        _proof = new AttachProof(settings.Secret, settings.Subject, clock);
        _events = Channel.CreateBounded<InboundEvent>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        Number = RandomNumberGenerator.GetInt32(1, 1 << 30);
        Id = Number.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>This portal's id on the wire, random at every start.</summary>
    public string Id { get; }

    /// <summary>The number behind <see cref="Id"/>; session ids of this portal start at <see cref="FirstSessionId"/>.</summary>
    public int Number { get; }

    /// <summary>Session ids of this portal are above this (its number in the high bits), so no two portals share one.</summary>
    public long FirstSessionId => (long)Number << 32;

    /// <summary>Whether a core is attached now.</summary>
    public bool Attached
    {
        get
        {
            lock (_gate)
            {
                return _core is not null;
            }
        }
    }

    /// <summary>The events this portal keeps for the core: sent and not yet acknowledged, or held while no core is attached.</summary>
    public int HeldEvents
    {
        get
        {
            lock (_gate)
            {
                return _unacknowledged.Count;
            }
        }
    }

    /// <summary>
    /// The players online in the whole game, every portal's, as the attached core counts them (its last heartbeat); with
    /// no core attached (none yet, or it has gone), this portal's own connections.
    /// </summary>
    public int PlayersOnline => _corePlayers is var players and >= 0 ? players : _portal.SessionCount;

    /// <summary>Completes with the reason if a core refused this portal (a wrong shared secret): the process should stop.</summary>
    public Task<string> Refused => _refused.Task;

    /// <summary>Connects to NATS and starts the loops; attaching to a core happens in the background.</summary>
    public async Task StartAsync(PortalService portal, CancellationToken cancellationToken)
    {
        _portal = portal;
        _nats = new NatsConnection(_settings.ClientOptions($"dominance-portal-{Id}"));
        await _nats.ConnectAsync().ConfigureAwait(false);
        string prefix = _settings.Subject;
        // Output is handled on the connection's socket reader (a thread hop less); heartbeats go through a reading loop.
        _output = await InlineSubscription.SubscribeAsync(
            _nats, Wire.Outbound(prefix, Id), OnOutput,
            (subject, e) => _log.LogError(e, "Handling a message on {Subject} failed; the next ones are handled as usual", subject),
            cancellationToken).ConfigureAwait(false);
        INatsSub<byte[]> heartbeats = await _nats.SubscribeCoreAsync<byte[]>(Wire.CoreHeartbeat(prefix), cancellationToken: cancellationToken).ConfigureAwait(false);
        _loops.Add(ReadAsync(heartbeats, OnCoreHeartbeat));
        _loops.Add(SendLoopAsync());
        _loops.Add(WatchAsync());
        _log.LogInformation("Portal {Portal} reaches its core over NATS at {Url} (subjects {Prefix}.*)", Id, _settings.RedactedUrl, prefix);
    }

    /// <inheritdoc/>
    public ValueTask WriteAsync(InboundEvent item) => _events.Writer.WriteAsync(item);

    public async ValueTask DisposeAsync()
    {
        _events.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            // The loops' NATS calls keep to _stop (see NatsCalls): they end at once, even with the NATS server gone.
            await Task.WhenAll(_loops).WaitAsync(_settings.ShutdownTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or NatsException or ChannelClosedException)
        {
        }

        if (_nats is not null)
        {
            await _nats.DisposeWithinAsync(_settings.ShutdownTimeout).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends the events that remain (the sessions' departures at shutdown), waiting at most
    /// <see cref="NatsSettings.ShutdownTimeout"/>: with no NATS server to take them, they are given up.
    /// </summary>
    public async Task FlushAsync()
    {
        TimeSpan deadline = _settings.ShutdownTimeout;
        long started = _clock.GetTimestamp();
        while (_events.Reader.Count > 0 && _clock.GetElapsedTime(started) < deadline)
        {
            await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
        }

        TimeSpan left = deadline - _clock.GetElapsedTime(started);
        if (_nats is not null && Attached && left > TimeSpan.Zero)
        {
            try
            {
                await _nats.PingAsync(_stop.Token).AsTask().WaitAsync(left).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or NatsException or OperationCanceledException)
            {
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Sending.
    // ---------------------------------------------------------------------------------------------------------------

    private async Task SendLoopAsync()
    {
        var w = new WireWriter(64 * 1024);
        var batch = new List<Pending>();
        ChannelReader<InboundEvent> reader = _events.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false) || _replayDue)
            {
                string? core;
                long attach;
                lock (_gate)
                {
                    batch.Clear();
                    core = _core;
                    attach = _attach;
                    if (_replayDue && core is not null)
                    {
                        Replay(batch);
                        _replayDue = false;
                    }
                    else if (_resendDue && core is not null && _unacknowledged.Count > 0)
                    {
                        // All sent under this attach already, numbered as they were: the core drops what it has.
                        batch.AddRange(_unacknowledged);
                        _log.LogInformation(
                            "Core {Instance} has not acknowledged events {First} to {Last} of this portal: sending them again",
                            core, batch[0].Sequence, batch[^1].Sequence);
                    }

                    _resendDue = false;

                    while (reader.TryRead(out InboundEvent item))
                    {
                        if (item.Kind == InboundKind.Connected && item.Info is null)
                        {
                            continue; // a wake-up (after an attach, see TryAttachAsync, or for a resend), not an event
                        }

                        if (Take(item, core is not null) is { } pending)
                        {
                            _unacknowledged.Enqueue(pending);
                            if (core is not null)
                            {
                                batch.Add(pending);
                            }
                        }
                    }
                }

                if (core is not null && batch.Count > 0)
                {
                    await PublishAsync(w, core, attach, batch).ConfigureAwait(false);
                    lock (_gate)
                    {
                        if (_core == core && _attach == attach)
                        {
                            // Published, or given up (then kept, and sent again like a lost one): heartbeats count from here.
                            _sentThrough = Math.Max(_sentThrough, batch[^1].Sequence);
                            _behind = 0;
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    /// <summary>
    /// Numbers one event and returns what to keep of it, or <see langword="null"/> if it is refused (held input over the
    /// bound, or an event too large for one message to the core; its player is told) or not needed (see
    /// <see cref="Hold"/>). Under the gate.
    /// </summary>
    private Pending? Take(InboundEvent item, bool attached)
    {
        if (!_states.TryGetValue(item.Session, out SessionState? state))
        {
            state = _states[item.Session] = new SessionState();
        }

        if (!Fits(item, state.Sequence + 1) || (!attached && !Hold(item, state)))
        {
            return null;
        }

        if (item.Kind == InboundKind.Disconnected)
        {
            _states.Remove(item.Session);
        }

        state.Kept(item.Kind, 1);
        return new Pending(item, _nextSequence++, ++state.Sequence);
    }

    /// <summary>
    /// While no core is attached: whether to keep <paramref name="item"/> for the next one. Kept are a connect (for the
    /// web client's resume token: see <see cref="Replay"/>), and at most <see cref="NatsSettings.HoldCapacity"/> inputs
    /// and as many out-of-band messages per session, counting those sent and not yet acknowledged. Past that an input is
    /// refused and its player told; an out-of-band message (the client's, not typed) is dropped, logged once per session
    /// and outage. A change of facts is not kept: the connect that the next core gets carries the session's latest. Nor is
    /// a departure: the next core never sees a session that left, and what was kept for it is forgotten. Under the gate.
    /// </summary>
    private bool Hold(InboundEvent item, SessionState state)
    {
        switch (item.Kind)
        {
            case InboundKind.Connected:
                Tell(item.Session, RestartingNotice);
                return true;
            case InboundKind.Input when state.Inputs >= _settings.HoldCapacity:
                // Typed with the echo off (a password): not quoted back.
                string what = _portal.TryGetSession(item.Session, out PortalSession? session) && session.EchoOff
                    ? "what you typed (not shown: the echo was off)"
                    : $"\"{Shorten(item.Text!)}\"";
                Tell(item.Session, $"The world is restarting, and {state.Inputs} of your commands are already waiting for it: {what} was not kept. Type it again once the world is back.");
                return false;
            case InboundKind.Data when state.Messages >= _settings.HoldCapacity:
                if (!state.MessagesDropped)
                {
                    state.MessagesDropped = true;
                    _log.LogInformation(
                        "Session {Session}: out-of-band message(s) dropped while no core is attached: {Held} are already held for it (Nats:HoldCapacity); more are dropped until a core attaches",
                        item.Session, state.Messages);
                }

                return false;
            case InboundKind.InfoChanged:
                return false;
            case InboundKind.Disconnected:
                _states.Remove(item.Session);
                if (++_departed > _states.Count)
                {
                    ForgetDeparted();
                }

                return false;
            default:
                return true;
        }
    }

    /// <summary>
    /// While no core is attached: drops what is kept for sessions that have left (the next core will not hear of them),
    /// so that connections coming and going during an outage cost nothing after they have gone. Run, in place, once
    /// more sessions have left than are open (<see cref="Hold"/>): what is kept stays within twice what the open
    /// sessions may hold, and a departure costs, over time, a pass over about two sessions' share. Under the gate.
    /// </summary>
    private void ForgetDeparted()
    {
        _departed = 0;
        for (int i = _unacknowledged.Count; i > 0; i--)
        {
            Pending pending = _unacknowledged.Dequeue();
            if (_states.ContainsKey(pending.Event.Session))
            {
                _unacknowledged.Enqueue(pending);
            }
        }
    }

    /// <summary>
    /// After an attach: every open session connects again, with its facts as they are now, then its inputs and
    /// out-of-band messages that the new core has not acknowledged (changes of facts are in the connect). A connect that
    /// no core acknowledged carries the web client's resume token again: no core has used it yet. Under the gate.
    /// </summary>
    private void Replay(List<Pending> batch)
    {
        List<Pending> old = [.. _unacknowledged];
        _unacknowledged.Clear();
        _nextSequence = 1;
        _departed = 0;
        Dictionary<SessionId, string>? resumes = null;
        foreach (Pending pending in old)
        {
            if (pending.Event is { Kind: InboundKind.Connected, Text: { } resume })
            {
                (resumes ??= [])[pending.Event.Session] = resume;
            }
        }

        var open = new HashSet<SessionId>();
        foreach ((SessionId id, SessionState state) in _states)
        {
            state.Restart();
            if (_portal.TryGetSession(id, out PortalSession? session))
            {
                open.Add(id);
                var again = new InboundEvent(InboundKind.Connected, id, resumes?.GetValueOrDefault(id), Info: session.Info);
                var connect = new Pending(again, _nextSequence++, ++state.Sequence, session.RestoreToken);
                _unacknowledged.Enqueue(connect);
                batch.Add(connect);
            }
        }

        foreach (Pending pending in old)
        {
            if (pending.Event.Kind is InboundKind.Input or InboundKind.Data && open.Contains(pending.Event.Session)
                && Fits(pending.Event, _states[pending.Event.Session].Sequence + 1)) // the NATS server's limit may have changed
            {
                SessionState state = _states[pending.Event.Session];
                state.Kept(pending.Event.Kind, 1);
                var again = new Pending(pending.Event, _nextSequence++, ++state.Sequence);
                _unacknowledged.Enqueue(again);
                batch.Add(again);
            }
        }

        foreach (SessionId gone in _states.Keys.Where(id => !open.Contains(id)).ToList())
        {
            _states.Remove(gone);
        }
    }

    /// <summary>
    /// Sends <paramref name="batch"/> as few messages as it takes: each at most <see cref="MaxEventsPerMessage"/> events
    /// and at most the NATS server's max payload (its INFO says; 1 MB by default), in order, each numbered from its first
    /// event. An event too large to go alone was refused before it was numbered (<see cref="Take"/>, <see cref="Replay"/>).
    /// </summary>
    private async Task PublishAsync(WireWriter w, string core, long attach, List<Pending> batch)
    {
        string subject = Wire.Inbound(_settings.Subject, Id);
        int limit = _nats.MaxPayload();
        int header = HeaderBound(core);
        // Every event encoded once, end to end; _ends[i] is where event i ends. Messages are cut between events.
        _encoded.Clear();
        _ends.Clear();
        foreach (Pending pending in batch)
        {
            Wire.WriteEvent(_encoded, pending.Event, pending.SessionSequence, pending.Token);
            _ends.Add(_encoded.Length);
        }

        int start = 0;
        while (start < batch.Count)
        {
            int from = start == 0 ? 0 : _ends[start - 1];
            int end = start + 1;
            while (end < batch.Count && end - start < MaxEventsPerMessage && header + _ends[end] - from <= limit)
            {
                end++;
            }

            w.Clear();
            w.Byte(Wire.Version);
            w.String(core);
            w.Number(attach);
            w.Number(batch[start].Sequence);
            w.Number(end - start);
            w.Raw(_encoded.Written.Span[from.._ends[end - 1]]);
            try
            {
                await _nats!.PublishWithinAsync(subject, w.Written, _stop.Token).ConfigureAwait(false);
            }
            catch (NatsException e)
            {
                // Kept in _unacknowledged: sent again on the next attach.
                _log.LogWarning("Could not send {Count} event(s) to the core: {Reason}", end - start, e.Message);
            }

            start = end;
        }
    }

    /// <summary>At most the bytes of an inbound batch's header for <paramref name="core"/>: version, core, attach, first sequence, count.</summary>
    private static int HeaderBound(string core) => HeaderBound(Encoding.UTF8.GetByteCount(core));

    private static int HeaderBound(int coreBytes) => 1 + 5 + coreBytes + 10 + 10 + 5;

    /// <summary>
    /// Whether <paramref name="item"/> (an input or out-of-band message) fits in one message to the core; if not, its
    /// player is told that it was not sent, and it is logged. Under the gate, on the sender.
    /// </summary>
    private bool Fits(InboundEvent item, long sessionSequence)
    {
        if (item.Kind is not (InboundKind.Input or InboundKind.Data))
        {
            return true; // connects, changes of facts and departures are small
        }

        int limit = _nats.MaxPayload() - (_core is null ? HeaderBound(CoreIdAllowance) : HeaderBound(_core));
        if ((item.Text?.Length ?? 0) + (item.Package?.Length ?? 0) < (limit - 64) / 3)
        {
            return true; // at most 3 bytes a UTF-16 unit, and 64 for the rest: no need to measure
        }

        _one.Clear();
        Wire.WriteEvent(_one, item, sessionSequence, null);
        if (_one.Length <= limit)
        {
            return true;
        }

        _log.LogWarning(
            "Session {Session}: dropped an {Kind} of {Bytes} bytes, over the {Limit} bytes a message to the core can carry (the NATS server's max_payload)",
            item.Session, item.Kind == InboundKind.Input ? "input" : "out-of-band message", _one.Length, limit);
        if (item.Kind == InboundKind.Input)
        {
            Tell(item.Session, string.Format(System.Globalization.CultureInfo.InvariantCulture, TooLargeNotice, _one.Length, limit));
        }
        else
        {
            Tell(item.Session, FormattableString.Invariant($"Your client sent an out-of-band message ({item.Package}) of {_one.Length:N0} bytes, more than the {limit:N0} bytes the link to the world carries: it was not sent."));
        }

        return false;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The core's heartbeat, attaching, and noticing a core that has gone.
    // ---------------------------------------------------------------------------------------------------------------

    private void OnCoreHeartbeat(NatsMsg<byte[]> message)
    {
        var r = new WireReader(message.Data ?? []);
        if (r.Byte() != Wire.Version)
        {
            return;
        }

        string instance = r.String();
        long count = r.Number();
        long listedAttach = 0;
        long listedAck = 0;
        for (long i = 0; i < count; i++)
        {
            string portal = r.String();
            long attach = r.Number();
            long ack = r.Number();
            if (portal == Id)
            {
                (listedAttach, listedAck) = (attach, ack);
            }
        }

        int players = (int)Math.Min(r.Number(), int.MaxValue);

        lock (_gate)
        {
            if (_newest is null || instance == _newest || Wire.IsNewerCore(instance, _newest) || _clock.GetElapsedTime(_newestHeard) > _settings.HeartbeatTimeout)
            {
                _newest = instance;
                _newestHeard = _clock.GetTimestamp();
            }

            if (_core is null)
            {
                _coreSeen = true; // a core is there: the watcher attaches at its next turn, without waiting out its backoff
                return;
            }

            if (instance != _core)
            {
                // A newer core (one restarted faster than the timeout, or started beside this one) has the portals; an
                // older one (still stopping, or still running) does not take this portal from its core.
                if (Wire.IsNewerCore(instance, _core))
                {
                    Detach($"core {instance}, newer, is running");
                }

                return;
            }

            // A heartbeat sent just before the core attached this portal does not list it yet, or lists the attach before
            // (whose sequence numbers are not this attach's: its acknowledgement is not for these events): only one sent
            // later counts.
            long? acknowledged = listedAttach == _attach ? listedAck : null;
            bool settled = _clock.GetElapsedTime(_attachedAt) > _settings.HeartbeatInterval * 2;
            if (acknowledged is null && settled)
            {
                Detach("the core no longer knows this portal");
                return;
            }

            _lastHeard = _clock.GetTimestamp();
            _corePlayers = players;
            if (acknowledged is { } through)
            {
                Acknowledge(through);
                NoticeUnacknowledged(through);
            }
        }
    }

    /// <summary>
    /// A heartbeat of the attached core acknowledged this attach's events through <paramref name="through"/>: if it is
    /// less than was sent, for the <see cref="_resendAfter"/>-th heartbeat in a row since the last send, the sender is
    /// woken to send the unacknowledged events again (a lost last message shows the core no gap). Each resend with no
    /// catching up in between doubles the heartbeats the next waits for, up to a heartbeat timeout's worth. Under the gate.
    /// </summary>
    private void NoticeUnacknowledged(long through)
    {
        if (through >= _sentThrough)
        {
            _behind = 0;
            _resendAfter = ResendAfter;
            return;
        }

        if (++_behind < _resendAfter)
        {
            return;
        }

        _behind = 0;
        _resendAfter = Math.Min(_resendAfter * 2, Math.Max(ResendAfter, (int)(_settings.HeartbeatTimeout / _settings.HeartbeatInterval)));
        _resendDue = true;
        _events.Writer.TryWrite(default); // wakes the sender (the empty event is skipped); if the channel is full, it is awake
    }

    /// <summary>Forgets the events the attached core has received, up to <paramref name="through"/>. Under the gate.</summary>
    private void Acknowledge(long through)
    {
        while (_unacknowledged.TryPeek(out Pending? oldest) && oldest.Sequence <= through)
        {
            _unacknowledged.Dequeue();
            if (_states.TryGetValue(oldest.Event.Session, out SessionState? state))
            {
                state.Kept(oldest.Event.Kind, -1);
            }
        }
    }

    /// <summary>Every heartbeat interval: tells the core this portal is alive; notices a silent core; attaches when detached.</summary>
    private async Task WatchAsync()
    {
        using var timer = new PeriodicTimer(_settings.HeartbeatInterval, _clock);
        var w = new WireWriter(64);
        TimeSpan retry = TimeSpan.Zero;
        long nextAttempt = 0;
        try
        {
            do
            {
                string? core;
                lock (_gate)
                {
                    if (_core is not null && _clock.GetElapsedTime(_lastHeard) > _settings.HeartbeatTimeout)
                    {
                        Detach($"no heartbeat from the core for {_settings.HeartbeatTimeout.TotalSeconds:0.#} s");
                    }

                    core = _core;
                }

                if (core is not null)
                {
                    w.Clear();
                    w.Byte(Wire.Version);
                    w.String(Id);
                    w.String(core);
                    // A copy: a publish given up at its deadline may still be under way when the next beat reuses w.
                    await TryPublishHeartbeatAsync(w.Written.ToArray()).ConfigureAwait(false);
                }
                else if (_clock.GetTimestamp() >= nextAttempt || _coreSeen)
                {
                    _coreSeen = false;
                    if (await TryAttachAsync().ConfigureAwait(false))
                    {
                        retry = TimeSpan.Zero;
                    }
                    else
                    {
                        retry = retry == TimeSpan.Zero ? _settings.HeartbeatInterval : TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
                        nextAttempt = _clock.GetTimestamp() + (long)(retry.TotalSeconds * _clock.TimestampFrequency);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<bool> TryAttachAsync()
    {
        var w = new WireWriter(128);
        w.Byte(Wire.Version);
        w.String(Id);
        _proof.Write(w, Id); // proves the shared secret without sending it
        NatsMsg<byte[]> reply;
        try
        {
            reply = await _nats!.RequestAsync<ReadOnlyMemory<byte>, byte[]>(
                Wire.Attach(_settings.Subject), w.Written, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(1) }, cancellationToken: _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsNoRespondersException or NatsNoReplyException or TimeoutException or NatsException)
        {
            return false; // no core yet
        }

        string instance;
        string refusal;
        long attach;
        bool accepted;
        try
        {
            (accepted, instance, refusal, attach) = ReadAttachReply(reply.Data ?? []);
        }
        catch (InvalidDataException e)
        {
            _log.LogWarning("The core's answer to attaching could not be read: {Reason}", e.Message);
            return false;
        }

        if (!accepted)
        {
            _log.LogError("Core {Instance} refused this portal: {Reason}", instance, refusal);
            _refused.TrySetResult(refusal);
            return false;
        }

        lock (_gate)
        {
            if (_newest is { } newest && Wire.IsNewerCore(newest, instance) && _clock.GetElapsedTime(_newestHeard) <= _settings.HeartbeatTimeout)
            {
                // It had not heard the newer one yet when it answered; it lets this portal go when it does.
                _log.LogInformation("Core {Instance} answered, but core {Newest} is newer: not attaching to the older one", instance, newest);
                return false;
            }

            _core = instance;
            _attach = attach;
            _lastHeard = _attachedAt = _clock.GetTimestamp();
            _replayDue = true;
            _resendDue = false;
            _sentThrough = _behind = 0;
            _resendAfter = ResendAfter;
        }

        _log.LogInformation("Portal {Portal} attached to core {Instance} (attach {Attach})", Id, instance, attach);
        foreach (PortalSession session in _portal.Sessions)
        {
            if (session.RestoreToken is not null)
            {
                session.Notify(BackNotice);
            }
        }

        _events.Writer.TryWrite(default); // wakes the sender for the replay; the empty event is skipped
        return true;
    }

    private static (bool Accepted, string Instance, string Refusal, long Attach) ReadAttachReply(byte[] data)
    {
        var r = new WireReader(data);
        if (r.Byte() != Wire.Version)
        {
            throw new InvalidDataException("An attach reply of another wire version.");
        }

        bool accepted = r.Byte() == 1;
        return (accepted, r.String(), r.String(), r.Number());
    }

    /// <summary>The core is gone: players are told, and input is held until a core attaches. Under the gate.</summary>
    private void Detach(string reason)
    {
        _log.LogWarning("Lost core {Instance}: {Reason}; holding {Sessions} session(s) until a core attaches", _core, reason, _portal.SessionCount);
        _core = null;
        _corePlayers = -1;
        foreach (PortalSession session in _portal.Sessions)
        {
            session.Notify(RestartingNotice);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Output from the core.
    // ---------------------------------------------------------------------------------------------------------------

    private ValueTask OnOutput(string subject, ReadOnlySequence<byte> message)
    {
        try
        {
            // Most messages arrive in one segment of the socket reader's buffer, and are read in place.
            OnOutput(message.IsSingleSegment ? message.FirstSpan : message.ToArray());
        }
        catch (InvalidDataException e)
        {
            _log.LogWarning("Dropped a malformed message on {Subject}: {Reason}", subject, e.Message);
        }
        catch (Exception e)
        {
            _log.LogError(e, "Failed to deliver an output batch from the core");
        }

        return ValueTask.CompletedTask;
    }

    private void OnOutput(ReadOnlySpan<byte> message)
    {
        var r = new WireReader(message);
        if (r.Byte() != Wire.Version)
        {
            throw new InvalidDataException("An output batch of another wire version.");
        }

        string instance = r.String();
        long attach = r.Number();
        long acknowledged = r.Number();
        lock (_gate)
        {
            // Sent for an attach before this one (by this core or another), its numbers are not this attach's.
            if (instance == _core && attach == _attach)
            {
                Acknowledge(acknowledged);
            }
        }

        int payloadCount = checked((int)r.Number());
        var payloads = new OutputPayload[payloadCount];
        try
        {
            for (int i = 0; i < payloadCount; i++)
            {
                payloads[i] = OutputPayload.ForBytes(r.Bytes());
            }

            long count = r.Number();
            for (long i = 0; i < count; i++)
            {
                var op = (OutputOp)r.Byte();
                var id = new SessionId(r.Number());
                if (op == OutputOp.Reattach)
                {
                    lock (_gate)
                    {
                        if (_core is not null && _core == instance && attach == _attach)
                        {
                            Detach("the core asked this portal to attach again");
                        }
                    }

                    continue;
                }

                _portal.TryGetSession(id, out PortalSession? session);
                switch (op)
                {
                    case OutputOp.Text or OutputOp.Data or OutputOp.Prompt:
                        Deliver(session, op switch { OutputOp.Data => OutputKind.Data, OutputOp.Prompt => OutputKind.Prompt, _ => OutputKind.Text }, payloads, (int)r.Number());
                        break;
                    case OutputOp.Close:
                        int goodbye = (int)r.Number() - 1;
                        if (session is not null)
                        {
                            OutputPayload? last = goodbye >= 0 ? Use(payloads, goodbye) : null;
                            session.Close(last);
                        }

                        break;
                    case OutputOp.EchoOn or OutputOp.EchoOff:
                        session?.SetEcho(op == OutputOp.EchoOn);
                        break;
                    case OutputOp.RestoreToken:
                        string token = r.String();
                        session?.SetRestoreToken(token);
                        break;
                    default:
                        throw new InvalidDataException($"Unknown output entry {(int)op}.");
                }
            }
        }
        finally
        {
            // Each payload was made with one reference; the sessions took one each through Use.
            foreach (OutputPayload? payload in payloads)
            {
                payload?.Release();
            }
        }
    }

    private static void Deliver(PortalSession? session, OutputKind kind, OutputPayload[] payloads, int index)
    {
        if (session is null)
        {
            return; // gone: output for it is dropped quietly
        }

        OutputPayload payload = Use(payloads, index);
        if (!session.TrySend(kind, payload))
        {
            payload.Release();
        }
    }

    /// <summary>Takes one more reference on a payload of the batch, for one session.</summary>
    private static OutputPayload Use(OutputPayload[] payloads, int index)
    {
        if ((uint)index >= (uint)payloads.Length)
        {
            throw new InvalidDataException($"An output entry names payload {index} of {payloads.Length}.");
        }

        payloads[index].AddReferences(1);
        return payloads[index];
    }

    private async Task ReadAsync(INatsSub<byte[]> subscription, Action<NatsMsg<byte[]>> handle)
    {
        try
        {
            await foreach (NatsMsg<byte[]> message in subscription.Msgs.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    handle(message);
                }
                catch (InvalidDataException e)
                {
                    _log.LogWarning("Dropped a malformed message on {Subject}: {Reason}", message.Subject, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Publishes this portal's heartbeat, waiting at most one heartbeat interval (as the core does): with the NATS server
    /// gone, the publish waits for it to come back, and the watcher must go on to notice that the core is silent.
    /// </summary>
    private async Task TryPublishHeartbeatAsync(ReadOnlyMemory<byte> data)
    {
        string subject = Wire.PortalHeartbeat(_settings.Subject);
        using var beat = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        beat.CancelAfter(_settings.HeartbeatInterval);
        try
        {
            await _nats!.PublishWithinAsync(subject, data, beat.Token).ConfigureAwait(false);
        }
        catch (NatsException e)
        {
            _log.LogDebug("Could not publish on {Subject}: {Reason}", subject, e.Message);
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            _log.LogDebug("Could not publish on {Subject} within {Interval}: is the NATS server reachable?", subject, _settings.HeartbeatInterval);
        }
    }

    private void Tell(SessionId id, string text)
    {
        if (_portal.TryGetSession(id, out PortalSession? session))
        {
            session.Notify(text);
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";

    /// <summary>An event kept until the core acknowledges it.</summary>
    private sealed record Pending(InboundEvent Event, long Sequence, long SessionSequence, string? Token = null);

    /// <summary>
    /// What the sender knows of one session: its last sequence number, its inputs and out-of-band messages kept for the
    /// core (sent and not yet acknowledged, or held while no core is attached), and whether one of the latter was dropped
    /// in this outage (it is logged once).
    /// </summary>
    private sealed class SessionState
    {
        public long Sequence { get; set; }

        public int Inputs { get; private set; }

        public int Messages { get; private set; }

        public bool MessagesDropped { get; set; }

        /// <summary>Counts an event of <paramref name="kind"/> kept (1) or acknowledged (-1).</summary>
        public void Kept(InboundKind kind, int change)
        {
            if (kind == InboundKind.Input)
            {
                Inputs += change;
            }
            else if (kind == InboundKind.Data)
            {
                Messages += change;
            }
        }

        /// <summary>After an attach: numbered from the start, and nothing counted yet.</summary>
        public void Restart()
        {
            Sequence = 0;
            Inputs = Messages = 0;
            MessagesDropped = false;
        }
    }
}
