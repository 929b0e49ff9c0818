using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Dominance.Api;
using Dominance.Core;
using Microsoft.Extensions.Logging;

namespace Dominance.Portal;

/// <summary>
/// The network edge, in process. It owns every connection (telnet and WebSocket), relays their input to the core
/// without reading it, and writes whatever output the core addresses to them. It keeps no game state.
/// </summary>
/// <remarks>
/// Protections live here, per connection, so the core never sees what they drop: admission (connections per IP, total
/// connections), command rate (count-until-limit), input size, and a bounded send queue per session.
/// Each protection answers the client with a clear message and is counted in <see cref="Counters"/> and in the log.
/// </remarks>
internal sealed class PortalService : IPortalReadings
{
    private static readonly KeyValuePair<string, object?> s_telnet = new("transport", "telnet");
    private static readonly KeyValuePair<string, object?> s_webSocket = new("transport", "websocket");
    private static readonly KeyValuePair<string, object?> s_inMemory = new("transport", "in-memory");

    private readonly ConcurrentDictionary<SessionId, PortalSession> _sessions = new();
    private readonly ConnectionGate _gate;
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextSessionId;
    private volatile bool _shuttingDown;

    /// <summary>
    /// Creates the portal. Its sessions' events go to <paramref name="inbound"/>; their ids start after
    /// <paramref name="firstSessionId"/> (portals of one core each take ids of their own: see <c>Dominance.Nats</c>).
    /// Its counts are published through <paramref name="metrics"/> (<see cref="ServerMetrics.Detached"/>,
    /// if omitted); <paramref name="audit"/> gets a line for each connect and disconnect (none, if omitted).
    /// <paramref name="players"/> counts the players in the game for MSSP (the core in process, or the relay that hears
    /// the core's count over NATS); without it, MSSP counts this portal's connections.
    /// </summary>
    public PortalService(
        PortalSettings settings, IInboundSink inbound, TimeProvider clock, ILogger<PortalService> log, ServerMetrics? metrics = null, ILogger? audit = null,
        long firstSessionId = 0, IPlayerCount? players = null)
    {
        Players = players;
        _nextSessionId = firstSessionId;
        Settings = settings;
        Inbound = inbound;
        Clock = clock;
        Log = log;
        StartedAt = clock.GetUtcNow();
        Audit = audit ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _gate = new ConnectionGate(settings.MaxConnections, settings.ConnectionRateLimit, settings.ConnectionRateWindow, clock);
        WebSocketKeepAlive = settings.WebSocketKeepAlive > TimeSpan.Zero ? new WebSockets.WebSocketKeepAlive(settings.WebSocketKeepAlive, clock, log) : null;
        (metrics ?? ServerMetrics.Detached).ObservePortal(this);
    }

    public PortalSettings Settings { get; }

    public IInboundSink Inbound { get; }

    public TimeProvider Clock { get; }

    public ILogger Log { get; }

    /// <summary>The audit log: who connected and disconnected, from where, over what.</summary>
    public ILogger Audit { get; }

    public PortalCounters Counters { get; } = new();

    /// <summary>
    /// The portal's taker of whole broadcasts for sessions sent on directly (WebSocket and telnet; game thread only; made on first use).
    /// </summary>
    public Sending.DirectBroadcast Broadcasts => _broadcasts ??= new Sending.DirectBroadcast();

    private Sending.DirectBroadcast? _broadcasts;

    /// <summary>What keeps idle WebSocket connections alive (<see cref="PortalSettings.WebSocketKeepAlive"/>), or <see langword="null"/> if that is off.</summary>
    public WebSockets.WebSocketKeepAlive? WebSocketKeepAlive { get; }

    /// <summary>When the portal started (MSSP's <c>UPTIME</c>).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>The players in the game, as the core counts them (in process, or heard over NATS), or <see langword="null"/> if not given.</summary>
    public IPlayerCount? Players { get; }

    /// <summary>Sessions open now.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>The sessions open now (a snapshot).</summary>
    public ICollection<PortalSession> Sessions => _sessions.Values;

    /// <summary>Finds an open session by its id.</summary>
    public bool TryGetSession(SessionId id, [NotNullWhen(true)] out PortalSession? session) => _sessions.TryGetValue(id, out session);

    /// <summary>Frames waiting in every session's outbox now: output that clients have not taken yet.</summary>
    public long QueuedFrames()
    {
        long queued = 0;
        foreach (PortalSession session in _sessions.Values)
        {
            queued += session.Queued;
        }

        return queued;
    }

    /// <inheritdoc/>
    public int DeepestQueue()
    {
        int deepest = 0;
        foreach (PortalSession session in _sessions.Values)
        {
            deepest = Math.Max(deepest, session.Queued);
        }

        return deepest;
    }

    /// <inheritdoc/>
    public IEnumerable<Measurement<int>> SessionsByTransport()
    {
        int telnet = 0, webSocket = 0, inMemory = 0;
        foreach (PortalSession session in _sessions.Values)
        {
            switch (session.Info.Protocol)
            {
                case ClientProtocol.Telnet: telnet++; break;
                case ClientProtocol.WebSocket: webSocket++; break;
                default: inMemory++; break;
            }
        }

        return [new(telnet, s_telnet), new(webSocket, s_webSocket), new(inMemory, s_inMemory)];
    }

    /// <inheritdoc/>
    public long ConnectionsAccepted => Counters.ConnectionsAccepted;

    /// <inheritdoc/>
    public long ConnectionsRefused => Counters.ConnectionsRefused;

    /// <inheritdoc/>
    public long InputsRelayed => Counters.InputsRelayed;

    /// <inheritdoc/>
    public long InputsRateLimited => Counters.InputsRateLimited;

    /// <inheritdoc/>
    public long InputsTooLong => Counters.InputsTooLong;

    /// <inheritdoc/>
    public long SlowClientsDisconnected => Counters.SlowClientsDisconnected;

    /// <inheritdoc/>
    public long ClosesCutShort => Counters.ClosesCutShort;

    /// <inheritdoc/>
    /// <remarks>Open sessions' own counts plus the closed ones'; a session that is closing is in neither for a moment.</remarks>
    public long FramesDelivered
    {
        get
        {
            long delivered = Counters.ClosedFramesDelivered;
            foreach (PortalSession session in _sessions.Values)
            {
                delivered += session.FramesDelivered;
            }

            return delivered;
        }
    }

    /// <inheritdoc/>
    /// <remarks>As <see cref="FramesDelivered"/>.</remarks>
    public long BytesSent
    {
        get
        {
            long sent = Counters.ClosedBytesSent;
            foreach (PortalSession session in _sessions.Values)
            {
                sent += session.BytesSent;
            }

            return sent;
        }
    }

    /// <summary>Assigns the next session id. Ids start at 1 and are never reused.</summary>
    public SessionId NextSessionId() => new(Interlocked.Increment(ref _nextSessionId));

    /// <summary>
    /// Decides whether a new connection may proceed. On refusal, returns the message to send before closing it.
    /// </summary>
    public bool TryAdmit(IPAddress address, ClientProtocol protocol, out string refusal)
    {
        Admission admission = _gate.TryEnter(address);
        refusal = admission switch
        {
            Admission.Admitted => "",
            Admission.TooFast => "Too many connections from your address. Wait a few seconds and try again.",
            Admission.ServerFull => "The server is full. Try again later.",
            _ => "The server is shutting down. Try again later.",
        };
        if (admission == Admission.Admitted)
        {
            return true;
        }

        long total = Counters.CountConnectionRefused();
        Log.LogWarning("Refused {Protocol} connection from {Address}: {Reason} [{Total} refused so far]", protocol, address, admission, total);
        return false;
    }

    /// <summary>Records that an admitted connection (see <see cref="TryAdmit"/>) has ended.</summary>
    public void Leave() => _gate.Leave();

    public void Register(PortalSession session)
    {
        _sessions[session.Id] = session;
        Counters.CountConnectionAccepted();
        SessionInfo info = session.Info;
        Audit.LogInformation("Connected: session {Session} from {Address} over {Transport}", session.Id, info.RemoteAddress, info.Protocol);
    }

    public void Unregister(PortalSession session)
    {
        // Out of the table first, then into the closed totals: a reading in between is low for a moment, never double.
        _sessions.TryRemove(session.Id, out _);
        Counters.CountClosedSession(session.FramesDelivered, session.BytesSent);
        Audit.LogInformation(
            "Disconnected: session {Session} from {Address} over {Transport}, after {Duration}",
            session.Id, session.Info.RemoteAddress, session.Info.Protocol, Clock.GetUtcNow() - session.Info.ConnectedAt);
        if (_shuttingDown && _sessions.IsEmpty)
        {
            _allClosed.TrySetResult();
        }
    }

    /// <summary>Stops admitting connections; used at the start of a graceful shutdown.</summary>
    public void StopAccepting()
    {
        _shuttingDown = true;
        _gate.Close();
        if (_sessions.IsEmpty)
        {
            _allClosed.TrySetResult();
        }
    }

    /// <summary>
    /// Waits until every session has closed (after the core asked them to), up to <paramref name="grace"/>; then
    /// aborts whatever is left. Returns the number of sessions that had to be aborted.
    /// </summary>
    public async Task<int> DrainAsync(TimeSpan grace)
    {
        StopAccepting();
        try
        {
            await _allClosed.Task.WaitAsync(grace).ConfigureAwait(false);
            return 0;
        }
        catch (TimeoutException)
        {
            int aborted = 0;
            foreach (PortalSession session in _sessions.Values)
            {
                session.Abort("server shutdown");
                aborted++;
            }

            return aborted;
        }
    }

    /// <summary>
    /// Lets <paramref name="direct"/> send what is still queued for a connection that is ending (its last output: a
    /// goodbye, a WebSocket close frame, the end of a compressed stream) for at most <see cref="PortalSettings.ShutdownGrace"/>,
    /// the bound a graceful shutdown gives every session's output. Returns <see langword="false"/>, counted
    /// (<see cref="PortalCounters.ClosesCutShort"/>) and logged, if the client had not taken it all by then: the
    /// caller drops the rest. <paramref name="connection"/> names the connection in the log.
    /// </summary>
    public async Task<bool> DrainClosingAsync(Sending.DirectSocket direct, string connection)
    {
        try
        {
            await direct.DrainAsync().WaitAsync(Settings.ShutdownGrace).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            long total = Counters.CountCloseCutShort();
            Log.LogWarning(
                "{Connection} did not take its last output within {Grace}; closing it with {Bytes} byte(s) unsent [{Total} close(s) cut short so far]",
                connection, Settings.ShutdownGrace, direct.PendingBytes, total);
            return false;
        }
    }

    /// <summary>Encodes a notice from the portal itself (not the game) as a text line.</summary>
    public static byte[] EncodeNotice(string text) => Encoding.UTF8.GetBytes(text + "\r\n");
}
