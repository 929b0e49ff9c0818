using System.Collections.Concurrent;
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
internal sealed class PortalService
{
    private readonly ConcurrentDictionary<SessionId, PortalSession> _sessions = new();
    private readonly ConnectionGate _gate;
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextSessionId;
    private volatile bool _shuttingDown;

    public PortalService(PortalSettings settings, InboundPipe inbound, TimeProvider clock, ILogger<PortalService> log)
    {
        Settings = settings;
        Inbound = inbound;
        Clock = clock;
        Log = log;
        StartedAt = clock.GetUtcNow();
        _gate = new ConnectionGate(settings.MaxConnections, settings.ConnectionRateLimit, settings.ConnectionRateWindow, clock);
    }

    public PortalSettings Settings { get; }

    public InboundPipe Inbound { get; }

    public TimeProvider Clock { get; }

    public ILogger Log { get; }

    public PortalCounters Counters { get; } = new();

    /// <summary>When the portal started (MSSP's <c>UPTIME</c>).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Sessions open now.</summary>
    public int SessionCount => _sessions.Count;

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
    }

    public void Unregister(PortalSession session)
    {
        _sessions.TryRemove(session.Id, out _);
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

    /// <summary>Encodes a notice from the portal itself (not the game) as a text line.</summary>
    public static byte[] EncodeNotice(string text) => Encoding.UTF8.GetBytes(text + "\r\n");
}
