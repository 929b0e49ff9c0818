using System.Buffers;
using System.Security.Cryptography;
using Dominance.Api;
using Dominance.Core;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Dominance.Nats;

/// <summary>
/// The core's side of the NATS link: it attaches remote portals that prove they hold the shared secret (<see cref="AttachProof"/>), turns their inbound
/// batches into events on the core's <see cref="InboundPipe"/> (with a <see cref="RemoteSessionLink"/> per session), sends
/// the heartbeat that acknowledges what it received (and tells the game's player count), and disconnects the sessions of
/// a portal that has gone silent.
/// </summary>
/// <remarks>
/// Every change to the set of portals and every inbound batch is handled under one lock (<see cref="_gate"/>), one at a
/// time, so that per portal the events reach the pipe in the order the portal sent them, a portal's departure (its
/// sessions' <c>Disconnected</c>) lands before its sessions can connect again, and nothing else needs locking. See
/// <see cref="Wire"/> for the messages and the delivery guarantees.
/// </remarks>
internal sealed class CoreRelay : IAsyncDisposable
{
    private readonly NatsSettings _settings;
    private readonly GameLoop _core;
    private readonly ResumeTokens _tokens;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly AttachProof _proof;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, RemotePortal> _portals = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly RemoteOutputCounts _output = new();
    private readonly List<Task> _loops = [];
    private NatsConnection? _nats;
    // Never read, but needed: NATS.Net holds subscriptions by weak reference and drops one that nothing else keeps.
    private InlineSubscription? _inbound;
    private volatile bool _stopping;

    // The core newer than this one that this one yielded to, for good (Wire: two cores at once); set by the loop that
    // reads core heartbeats. From then on this core takes no portal.
    private volatile string? _yieldedTo;

    // Under _gate: the attaches answered so far (each attach's number, RemotePortal.Attach, is the count after it).
    private long _attaches;

    // Under _gate: when the last inbound batch that had to wait for the game thread was handed over. The connection
    // reads nothing while one waits, so no portal counts as silent for the time before.
    private long _readerResumed;

    public CoreRelay(NatsSettings settings, GameLoop core, ResumeTokens tokens, TimeProvider clock, ILogger<CoreRelay> log)
    {
        Instance = Wire.NewCoreInstance(clock.GetUtcNow());
        _settings = settings;
        _core = core;
        _tokens = tokens;
        _clock = clock;
        _log = log;
        _proof = new AttachProof(settings.Secret, settings.Subject, clock, settings.AttachWindow);
    }

    /// <summary>This core's instance id: new at every start, so that portals notice a restart; it sorts by start (<see cref="Wire.IsNewerCore"/>).</summary>
    public string Instance { get; }

    /// <summary>
    /// Raised once, on a NATS task, when this core hears a core started after it and yields to it (its instance id is
    /// the argument), before it lets its remote portals go: the newer core's world is the one to keep, so the host
    /// writes no world save from then on and stops (<c>ServerLifetime</c>). The handler must not block.
    /// </summary>
    public event Action<string>? Yielded;

    /// <summary>Remote portals attached now.</summary>
    public int PortalCount
    {
        get
        {
            lock (_portals)
            {
                return _portals.Count;
            }
        }
    }

    /// <summary>Output entries for remote portals waiting for the NATS server now, over all of them.</summary>
    public long OutputQueued => _output.Queued;

    /// <summary>Output entries for remote portals dropped so far because the NATS server did not take them in time.</summary>
    public long OutputDropped => _output.Dropped;

    /// <summary>Connects to NATS and starts serving portals.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _nats = new NatsConnection(_settings.ClientOptions($"dominance-core-{Instance}"));
        await _nats.ConnectAsync().ConfigureAwait(false);
        string prefix = _settings.Subject;
        // Subscribe before answering anything: SubscribeCoreAsync returns once the server has the subscription.
        INatsSub<byte[]> attach = await _nats.SubscribeCoreAsync<byte[]>(Wire.Attach(prefix), cancellationToken: cancellationToken).ConfigureAwait(false);
        // Inbound batches are decoded on the connection's socket reader (a thread hop less), and go to the game thread from there.
        _inbound = await InlineSubscription.SubscribeAsync(
            _nats, Wire.AllInbound(prefix), OnInboundAsync,
            (subject, e) => _log.LogError(e, "Handling a message on {Subject} failed; the next ones are handled as usual", subject),
            cancellationToken).ConfigureAwait(false);
        INatsSub<byte[]> heartbeats = await _nats.SubscribeCoreAsync<byte[]>(Wire.PortalHeartbeat(prefix), cancellationToken: cancellationToken).ConfigureAwait(false);
        INatsSub<byte[]> cores = await _nats.SubscribeCoreAsync<byte[]>(Wire.CoreHeartbeat(prefix), cancellationToken: cancellationToken).ConfigureAwait(false);
        _loops.Add(ReadAsync(attach, OnAttachAsync));
        _loops.Add(ReadAsync(heartbeats, OnHeartbeatAsync));
        _loops.Add(ReadAsync(cores, OnCoreHeartbeatAsync));
        _loops.Add(HeartbeatAsync());
        _log.LogInformation("Core {Instance} takes remote portals over NATS at {Url} (subjects {Prefix}.*)", Instance, _settings.RedactedUrl, prefix);
    }

    /// <summary>
    /// At shutdown: lets go of every remote portal (their players stay connected to their portals, which wait for the
    /// next core), and, if <paramref name="departures"/>, hands the game their sessions' departures, so that the final
    /// save sees them leave. Without departures (the game thread did not answer), the portals are only let go.
    /// </summary>
    /// <remarks>
    /// What needs NATS (the portals' last output, the word to attach again) and the departures (room in the inbound
    /// pipe, which a stuck game thread never makes) get at most <see cref="NatsSettings.ShutdownTimeout"/> in all, after
    /// at most <see cref="NatsSettings.HeartbeatInterval"/> plus that for the gate: with the NATS server gone, the
    /// portals learn it by the silence; with the game thread stuck, the departures not handed over are left out.
    /// </remarks>
    public async Task DetachAllAsync(bool departures = true)
    {
        _stopping = true; // from now on attach requests go unanswered: the portals wait for the next core
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        deadline.CancelAfter(_settings.ShutdownTimeout);
        // The gate's holder may be waiting for NATS (a heartbeat: bounded by its interval). Past that, the portals are
        // let go without it: nothing else changes them any more.
        bool gated = await _gate.WaitAsync(_settings.HeartbeatInterval + _settings.ShutdownTimeout).ConfigureAwait(false);
        try
        {
            foreach (RemotePortal portal in Snapshot())
            {
                await DropAsync(portal, "the core is shutting down", departures, deadline.Token).ConfigureAwait(false);
                try
                {
                    // Tells the portal at once, rather than after its heartbeat timeout.
                    await RemotePortal.AskToReattachAsync(_nats!, _settings.Subject, portal.Id, Instance, portal.Attach, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NatsException or OperationCanceledException)
                {
                    _log.LogWarning("Could not tell portal {Portal} that the core is stopping: {Reason}", portal.Id, e.Message);
                }
            }
        }
        finally
        {
            if (gated)
            {
                _gate.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_nats is not null)
        {
            await _nats.DisposeWithinAsync(_settings.ShutdownTimeout).ConfigureAwait(false);
        }

        try
        {
            await Task.WhenAll(_loops).WaitAsync(_settings.ShutdownTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or NatsException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Hands each message of <paramref name="subscription"/> to <paramref name="handle"/>, until the relay stops: one that fails is logged, and costs only itself.</summary>
    private async Task ReadAsync(INatsSub<byte[]> subscription, Func<NatsMsg<byte[]>, Task> handle)
    {
        try
        {
            await foreach (NatsMsg<byte[]> message in subscription.Msgs.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await handle(message).ConfigureAwait(false);
                }
                catch (InvalidDataException e)
                {
                    _log.LogWarning("Dropped a malformed message on {Subject}: {Reason}", message.Subject, e.Message);
                }
                catch (System.Threading.Channels.ChannelClosedException)
                {
                    return; // the core has stopped
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (NatsException e)
                {
                    _log.LogWarning("Could not answer a message on {Subject}: {Reason}", message.Subject, e.Message);
                }
                catch (Exception e)
                {
                    _log.LogError(e, "Handling a message on {Subject} failed; the next ones are handled as usual", message.Subject);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task OnAttachAsync(NatsMsg<byte[]> message)
    {
        string portalId;
        AttachProof.Refusal? refusal;
        {
            var r = new WireReader(message.Data ?? []);
            if (r.Byte() != Wire.Version)
            {
                throw new InvalidDataException("An attach request of another wire version.");
            }

            portalId = r.String();
            refusal = _proof.Check(portalId, ref r);
            if (refusal is null && !IsSubjectToken(portalId))
            {
                refusal = new AttachProof.Refusal(AttachProof.RefusalKind.WrongSecret, TimeSpan.Zero);
            }
        }

        if (string.IsNullOrEmpty(message.ReplyTo))
        {
            // A publish, not a request: no portal waits for the answer (a portal always asks with a request).
            _log.LogWarning("Dropped an attach message from {Portal} without a reply subject: there is nobody to answer", portalId);
            return;
        }

        if (_stopping || _yieldedTo is not null)
        {
            return; // unanswered: the portal tries again, and the next (newer) core answers
        }

        var reply = new WireWriter(64);
        reply.Byte(Wire.Version);
        if (refusal is { } refused)
        {
            reply.Byte(0);
            reply.String(Instance);
            reply.String(Refuse(portalId, refused));
            reply.Number(0);
        }
        else
        {
            long attach;
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (Find(portalId) is { } old)
                {
                    await DropAsync(old, "it attached again").ConfigureAwait(false);
                }

                attach = ++_attaches;
                var portal = new RemotePortal(portalId, attach, Instance, _core, _nats!, _settings.Subject, _clock, _settings.HeartbeatInterval, _output, _log);
                lock (_portals)
                {
                    _portals[portalId] = portal;
                }
            }
            finally
            {
                _gate.Release();
            }

            _log.LogInformation("Portal {Portal} attached (attach {Attach})", portalId, attach);
            reply.Byte(1);
            reply.String(Instance);
            reply.String("");
            reply.Number(attach);
        }

        await message.ReplyAsync(reply.Written.ToArray()).ConfigureAwait(false);
    }

    private ValueTask OnInboundAsync(string subject, ReadOnlySequence<byte> message)
    {
        string portalId = subject[(subject.LastIndexOf('.') + 1)..];
        List<ReceivedEvent> events;
        string instance;
        long attach;
        long first;
        try
        {
            // Decoded at once: the payload is the socket reader's buffer, valid until the first await.
            events = Decode(message.IsSingleSegment ? message.FirstSpan : message.ToArray(), out instance, out attach, out first);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or OverflowException)
        {
            _log.LogWarning("Dropped a malformed message on {Subject}: {Reason}", subject, e.Message);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(DeliverInboundAsync(portalId, events, instance, attach, first));
    }

    private async Task DeliverInboundAsync(string portalId, List<ReceivedEvent> events, string instance, long attach, long first)
    {
        try
        {
            await _gate.WaitAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            long started = _clock.GetTimestamp();
            await HandleInboundAsync(portalId, events, instance, attach, first).ConfigureAwait(false);
            if (_clock.GetElapsedTime(started) > _settings.HeartbeatInterval)
            {
                // The game thread made this wait, and meanwhile the connection read nothing, heartbeats included:
                // no portal counts as silent for that time.
                _readerResumed = _clock.GetTimestamp();
            }
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            // the core has stopped
        }
        catch (NatsException e)
        {
            _log.LogWarning("Could not answer portal {Portal}: {Reason}", portalId, e.Message);
        }
        catch (Exception e)
        {
            _log.LogError(e, "Failed to handle an inbound batch from portal {Portal}", portalId);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task HandleInboundAsync(string portalId, List<ReceivedEvent> events, string instance, long attach, long first)
    {
        RemotePortal? portal = Find(portalId);
        if (portal is not null && instance == Instance && attach < portal.Attach)
        {
            // Sent under an earlier attach of this portal, before it attached again: it replays what is not acknowledged.
            _log.LogDebug("Inbound batch from portal {Portal} of its attach {Attach}, before its attach {Current}: dropped", portalId, attach, portal.Attach);
            return;
        }

        if (portal is null || instance != Instance || attach != portal.Attach)
        {
            // Events for another core (the one before a restart), or from a portal this core does not know.
            _log.LogDebug("Inbound batch from portal {Portal} for core {Instance}: not attached here; asking it to attach", portalId, instance);
            await RemotePortal.AskToReattachAsync(_nats!, _settings.Subject, portalId, Instance, attach, _stop.Token).ConfigureAwait(false);
            return;
        }

        portal.LastHeard = _clock.GetTimestamp();
        if (first > portal.Expected)
        {
            _log.LogWarning(
                "Portal {Portal}: inbound events {Expected} to {Last} were lost on the way (NATS is at most once); dropping its sessions and asking it to attach again",
                portalId, portal.Expected, first - 1);
            await DropAsync(portal, "events from it were lost").ConfigureAwait(false);
            await RemotePortal.AskToReattachAsync(_nats!, _settings.Subject, portalId, Instance, portal.Attach, _stop.Token).ConfigureAwait(false);
            return;
        }

        // Numbered before what is expected: sent again (the portal resends what stays unacknowledged, see PortalRelay),
        // and what of it arrived already is dropped, not run twice.
        int repeated = (int)Math.Min(portal.Expected - first, events.Count);
        if (repeated > 0)
        {
            _log.LogDebug("Portal {Portal} sent events {First} to {Last} again; {Repeated} of them arrived before and are dropped", portalId, first, first + events.Count - 1, repeated);
        }

        for (int i = repeated; i < events.Count; i++)
        {
            ReceivedEvent received = events[i];
            await DeliverAsync(portal, received.Event, received.Sequence, received.Token).ConfigureAwait(false);
        }

        portal.Expected = Math.Max(portal.Expected, first + events.Count);
    }

    private static List<ReceivedEvent> Decode(ReadOnlySpan<byte> data, out string instance, out long attach, out long first)
    {
        var r = new WireReader(data);
        if (r.Byte() != Wire.Version)
        {
            throw new InvalidDataException("An inbound batch of another wire version.");
        }

        instance = r.String();
        attach = r.Number();
        first = r.Number();
        long count = r.Number();
        var events = new List<ReceivedEvent>((int)Math.Min(count, 4096));
        for (long i = 0; i < count; i++)
        {
            InboundEvent item = Wire.ReadEvent(ref r, out long sequence, out string? token);
            events.Add(new ReceivedEvent(item, sequence, token));
        }

        return events;
    }

    private async ValueTask DeliverAsync(RemotePortal portal, InboundEvent item, long sequence, string? token)
    {
        if (item.Kind == InboundKind.Connected)
        {
            var link = new RemoteSessionLink(portal, item.Session) { Sequence = sequence };
            if (!portal.Sessions.TryAdd(item.Session, link))
            {
                _log.LogWarning("Portal {Portal} connected session {Session} twice; ignored", portal.Id, item.Session);
                return;
            }

            string? account = token is null ? null : _tokens.AccountFor(token, ResumeTokenPurpose.Restore, item.Session, _clock.GetUtcNow());
            if (token is not null && account is null)
            {
                _log.LogWarning("Portal {Portal}: session {Session} presented a resume token that is not valid here (forged, expired, or another key)", portal.Id, item.Session);
            }

            // item.Text: the web client's resume token (#18), for a session parked here. Restoring: the game's
            // OnConnect knows that OnRestored follows, and greets no newcomer. The account: the game thread takes a
            // session of this id that it parked back (this core dropped the portal), or restores the player.
            SessionInfo info = account is null ? item.Info! : item.Info! with { Restoring = true };
            await _core.Inbound.WriteAsync(InboundEvent.Connected(link, info, item.Text, account)).ConfigureAwait(false);
            return;
        }

        if (!portal.Sessions.TryGetValue(item.Session, out RemoteSessionLink? known))
        {
            return; // an event of a session this core never saw connect: dropped with it
        }

        if (sequence != known.Sequence + 1)
        {
            _log.LogWarning("Portal {Portal}: session {Session} event {Sequence} arrived after {Last}; dropped", portal.Id, item.Session, sequence, known.Sequence);
            return;
        }

        known.Sequence = sequence;
        if (item.Kind == InboundKind.Disconnected)
        {
            portal.Sessions.TryRemove(item.Session, out _);
        }

        await _core.Inbound.WriteAsync(item).ConfigureAwait(false);
    }

    /// <summary>
    /// Another core's heartbeat. One newer than this core has the portals: this one yields to it for good (<see cref="Yielded"/>),
    /// lets its own portals go, asking them to attach again (they move to the newer one), and answers no attach request.
    /// </summary>
    private async Task OnCoreHeartbeatAsync(NatsMsg<byte[]> message)
    {
        var r = new WireReader(message.Data ?? []);
        if (r.Byte() != Wire.Version)
        {
            return; // a core of another version: its portals cannot attach here, nor these there
        }

        string instance = r.String();
        if (!Wire.IsNewerCore(instance, Instance))
        {
            return; // this core's own, or an older core's (still stopping, or still running): the portals stay here
        }

        if (_yieldedTo is not null)
        {
            return; // yielded already (only this loop sets it)
        }

        _yieldedTo = instance;
        _log.LogWarning("Core {Newer}, started after this one, is running: this core lets its remote portals go to it, and takes none again", instance);
        Yielded?.Invoke(instance);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        deadline.CancelAfter(_settings.HeartbeatTimeout);
        try
        {
            await _gate.WaitAsync(deadline.Token).ConfigureAwait(false);
            try
            {
                foreach (RemotePortal portal in Snapshot())
                {
                    await DropAsync(portal, $"core {instance} is newer", cancellationToken: deadline.Token).ConfigureAwait(false);
                    await RemotePortal.AskToReattachAsync(_nats!, _settings.Subject, portal.Id, Instance, portal.Attach, deadline.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                _gate.Release();
            }
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            // The portals move to the newer core on its heartbeat anyway; those still listed here go silent, and are dropped.
            _log.LogWarning("Could not let the remote portals go within {Timeout}", _settings.HeartbeatTimeout);
        }
    }

    private Task OnHeartbeatAsync(NatsMsg<byte[]> message)
    {
        var r = new WireReader(message.Data ?? []);
        if (r.Byte() != Wire.Version)
        {
            throw new InvalidDataException("A heartbeat of another wire version.");
        }

        string portalId = r.String();
        string instance = r.String();
        if (instance == Instance && Find(portalId) is { } portal)
        {
            portal.LastHeard = _clock.GetTimestamp();
        }

        return Task.CompletedTask;
    }

    /// <summary>Every interval: the heartbeat (with each portal's acknowledgement), and portals that went silent are dropped.</summary>
    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(_settings.HeartbeatInterval, _clock);
        var w = new WireWriter(256);
        try
        {
            do
            {
                await _gate.WaitAsync(_stop.Token).ConfigureAwait(false);
                try
                {
                    long now = _clock.GetTimestamp();
                    List<RemotePortal> portals = Snapshot();
                    foreach (RemotePortal portal in portals)
                    {
                        if (_clock.GetElapsedTime(Math.Max(portal.LastHeard, _readerResumed), now) > _settings.HeartbeatTimeout)
                        {
                            await DropAsync(portal, $"no heartbeat for {_settings.HeartbeatTimeout.TotalSeconds:0.#} s").ConfigureAwait(false);
                        }
                    }

                    portals = Snapshot();
                    w.Clear();
                    w.Byte(Wire.Version);
                    w.String(Instance);
                    w.Number(portals.Count);
                    foreach (RemotePortal portal in portals)
                    {
                        w.String(portal.Id);
                        w.Number(portal.Attach);
                        w.Number(portal.Expected - 1);
                    }

                    w.Number(Math.Max(0, _core.PlayersOnline));

                    try
                    {
                        // Under the gate: an attach reply cannot overtake a heartbeat that does not list that portal yet.
                        // Bounded by the interval: with the NATS server gone, the gate is not held for longer.
                        using var beat = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                        beat.CancelAfter(_settings.HeartbeatInterval);
                        // A copy: a publish given up at the deadline may still be under way when the next beat reuses w.
                        await _nats!.PublishWithinAsync(Wire.CoreHeartbeat(_settings.Subject), w.Written.ToArray(), beat.Token).ConfigureAwait(false);
                    }
                    catch (NatsException e)
                    {
                        _log.LogWarning("Could not send the heartbeat: {Reason}", e.Message);
                    }
                    catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                    {
                        _log.LogWarning("Could not send the heartbeat within {Interval}: is the NATS server reachable?", _settings.HeartbeatInterval);
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Forgets a portal and disconnects its sessions (their <c>Disconnected</c> events go into the pipe: the game thread
    /// ends them, or parks a logged-in browser's for its player to come back), unless <paramref name="departures"/> is
    /// <see langword="false"/>. Writing them waits for room in the pipe until <paramref name="cancellationToken"/> is
    /// cancelled; those not written by then are left out. Under the gate.
    /// </summary>
    private async Task DropAsync(RemotePortal portal, string reason, bool departures = true, CancellationToken cancellationToken = default)
    {
        lock (_portals)
        {
            _portals.Remove(portal.Id);
        }

        Task sent = portal.DropAsync();
        int count = portal.Sessions.Count;
        if (departures)
        {
            int handed = await HandDeparturesAsync(portal, cancellationToken).ConfigureAwait(false);
            // Disconnected, not logged off: the game thread parks a logged-in browser's session for its player to come back.
            _log.LogWarning("Portal {Portal} dropped ({Reason}): {Count} session(s) disconnected", portal.Id, reason, handed);
            if (handed < count)
            {
                _log.LogWarning("Portal {Portal}: the game thread did not take the departures of {Left} session(s) in time; they were left out", portal.Id, count - handed);
            }
        }
        else
        {
            _log.LogWarning("Portal {Portal} let go ({Reason}): its {Count} session(s) were not handed to the game, which did not answer", portal.Id, reason, count);
        }

        portal.Sessions.Clear();
        await sent.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }

    /// <summary>Writes a <c>Disconnected</c> for each of the portal's sessions, until <paramref name="cancellationToken"/> is cancelled. Returns how many it wrote.</summary>
    private async Task<int> HandDeparturesAsync(RemotePortal portal, CancellationToken cancellationToken)
    {
        int handed = 0;
        try
        {
            foreach (SessionId session in portal.Sessions.Keys)
            {
                await _core.Inbound.WriteAsync(InboundEvent.Disconnected(session), cancellationToken).ConfigureAwait(false);
                handed++;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        return handed;
    }

    /// <summary>Logs why an attach request was refused, and returns what the portal is told (it stops, and prints it).</summary>
    private string Refuse(string portalId, AttachProof.Refusal refusal)
    {
        switch (refusal.Kind)
        {
            case AttachProof.RefusalKind.OutOfWindow:
                _log.LogWarning(
                    "Refused portal {Portal}: its attach request is dated {Off:0.#} s from this core's clock, more than the {Window:0} s allowed (a replay, or a clock that is off)",
                    portalId, refusal.Off.TotalSeconds, _proof.Window.TotalSeconds);
                return FormattableString.Invariant(
                    $"the core refused this portal: its attach request is dated {refusal.Off.TotalSeconds:0.#} s from the core's clock, more than the {_proof.Window.TotalSeconds:0} s allowed (set both machines' clocks, e.g. with NTP)");
            case AttachProof.RefusalKind.Replayed:
                // Never a portal's own doing (each request has a new nonce): another client sent a request it had seen.
                _log.LogWarning("Refused an attach request from portal {Portal}: it was used before (a replay by another NATS client)", portalId);
                return "the core refused this attach request: it was used before";
            default:
                _log.LogWarning("Refused portal {Portal}: it did not present the shared secret (Nats:Secret)", portalId);
                return "the core refused this portal: wrong shared secret (Nats:Secret must be the same for the core and its portals)";
        }
    }

    private RemotePortal? Find(string id)
    {
        lock (_portals)
        {
            return _portals.GetValueOrDefault(id);
        }
    }

    private List<RemotePortal> Snapshot()
    {
        lock (_portals)
        {
            return [.. _portals.Values];
        }
    }

    /// <summary>One decoded event of an inbound batch.</summary>
    private readonly record struct ReceivedEvent(InboundEvent Event, long Sequence, string? Token);

    private static bool IsSubjectToken(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
