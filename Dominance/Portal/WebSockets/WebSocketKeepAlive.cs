using System.Collections.Concurrent;
using Dominance.Api;
using Microsoft.Extensions.Logging;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// Keeps idle WebSocket connections alive with an unsolicited pong (RFC 6455, section 5.5.3), as the framework's
/// <c>KeepAliveInterval</c> did, except that a connection the game is sending to gets none, and the pongs of many idle
/// connections are spread over time instead of falling due together.
/// </summary>
/// <remarks>
/// <para>The framework's keep-alive is a timer per connection that sends a pong every interval whether or not anything
/// else was sent. Connections that arrive together (a reconnect after a restart, a load test) then get their pongs
/// together, a burst of one send per connection on the sender's thread, in the way of the game's own output; and a
/// connection that is being sent to needs no keep-alive at all.</para>
/// <para>Here one portal-wide timer visits the connections in <see cref="Slices"/> slices (by session id), one slice
/// per tick, so that each is visited every <see cref="VisitsPerInterval"/>th of the interval. A
/// connection whose session was delivered no message for <see cref="QuietVisits"/> visits in a row is sent a pong. So
/// no connection goes a whole interval without a byte from the server, and an idle one gets a pong every three
/// quarters of it. The check reads the session's delivery count, which the sending path keeps anyway: nothing is added
/// to the path of a delivery. The count covers every message the session writes (game text, prompts, and out-of-band
/// data, which the core sends only to sessions that take it), not the frames without a payload (echo switches): those
/// can only cost a pong that was not needed.</para>
/// <para>A pong is skipped while another write to the connection is under way, and never follows the close frame
/// (<see cref="SharedWriteStream.TryWriteKeepAlive"/>).</para>
/// <para>Threads: <see cref="Watch"/>, and disposing what it returns, from any thread; a session is watched at most once
/// (its connection's run watches it). The ticks run on the timer's thread, one at a time (a tick that finds the
/// previous one still running is skipped); a failure while visiting one connection is logged and does not stop the
/// others.</para>
/// </remarks>
internal sealed class WebSocketKeepAlive
{
    /// <summary>How many slices the connections are visited in, one per tick.</summary>
    public const int Slices = 16;

    /// <summary>How often each connection is visited per interval.</summary>
    public const int VisitsPerInterval = QuietVisits + 1;

    /// <summary>Visits in a row that find nothing delivered before a pong is sent.</summary>
    public const int QuietVisits = 3;

    /// <summary>The shortest interval allowed.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    // FIN and opcode 0xA (pong), unmasked, no payload: a server's unsolicited pong, which clients do not answer.
    private static readonly byte[] s_pong = [0x80 | WebSocketFrames.Pong, 0x00];

    private readonly ConcurrentDictionary<SessionId, Watched>[] _slices;
    private readonly ITimer _timer;
    private readonly TimeSpan _tick;
    private readonly ILogger _log;
    private readonly Lock _counting = new();
    private int _watched; // under _counting: the timer runs while it is above 0
    private int _running; // 1 while a tick runs
    private int _next; // the slice the next tick visits (tick thread only)

    /// <summary>
    /// A keep-alive that lets no watched connection go <paramref name="interval"/> (at least <see cref="MinInterval"/>)
    /// without a byte from the server; its timer comes from <paramref name="clock"/> and runs only while a connection
    /// is watched. Failures go to <paramref name="log"/>.
    /// </summary>
    public WebSocketKeepAlive(TimeSpan interval, TimeProvider clock, ILogger log)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, MinInterval);
        _log = log;
        _tick = interval / (VisitsPerInterval * Slices);
        _slices = new ConcurrentDictionary<SessionId, Watched>[Slices];
        for (int i = 0; i < Slices; i++)
        {
            _slices[i] = new ConcurrentDictionary<SessionId, Watched>();
        }

        _timer = clock.CreateTimer(static state => ((WebSocketKeepAlive)state!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Watches <paramref name="session"/>'s connection, whose frames are written to <paramref name="output"/>, until the
    /// returned object is disposed.
    /// </summary>
    public IDisposable Watch(PortalSession session, SharedWriteStream output)
    {
        var watched = new Watched(this, session, output);
        Slice(session.Id)[session.Id] = watched;
        lock (_counting)
        {
            if (++_watched == 1)
            {
                _timer.Change(_tick, _tick);
            }
        }

        return watched;
    }

    private ConcurrentDictionary<SessionId, Watched> Slice(SessionId id) => _slices[(int)((ulong)id.Value % Slices)];

    private void Unwatch(Watched watched)
    {
        if (!Slice(watched.Session.Id).TryRemove(new KeyValuePair<SessionId, Watched>(watched.Session.Id, watched)))
        {
            return;
        }

        lock (_counting)
        {
            if (--_watched == 0)
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Visits one slice.</summary>
    private void Tick()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            return;
        }

        try
        {
            ConcurrentDictionary<SessionId, Watched> slice = _slices[_next];
            _next = (_next + 1) % Slices;
            foreach (KeyValuePair<SessionId, Watched> entry in slice)
            {
                try
                {
                    entry.Value.Visit();
                }
                catch (Exception e)
                {
                    _log.LogError(e, "Session {Session}: its WebSocket keep-alive failed", entry.Key);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>One watched connection; disposing it ends the watch.</summary>
    private sealed class Watched(WebSocketKeepAlive owner, PortalSession session, SharedWriteStream output) : IDisposable
    {
        // Tick thread only: the session's delivery count at the last visit, and the visits in a row that found it unchanged.
        private long _seen = session.FramesDelivered;
        private int _quiet;

        public PortalSession Session { get; } = session;

        public void Dispose() => owner.Unwatch(this);

        /// <summary>Sends a pong if the session was delivered nothing for <see cref="QuietVisits"/> visits.</summary>
        public void Visit()
        {
            long delivered = Session.FramesDelivered;
            if (delivered != _seen)
            {
                _seen = delivered;
                _quiet = 0;
                return;
            }

            if (++_quiet < QuietVisits)
            {
                return;
            }

            _quiet = 0;
            if (output.TryWriteKeepAlive(s_pong, out ValueTask written) && !written.IsCompletedSuccessfully)
            {
                _ = ObserveAsync(written, owner._log, Session.Id);
            }
        }

        private static async Task ObserveAsync(ValueTask written, ILogger log, SessionId session)
        {
            try
            {
                await written.ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
            {
                // The connection went while its pong was written (Kestrel's ConnectionAbortedException is an
                // OperationCanceledException): nothing to keep alive.
            }
            catch (Exception e)
            {
                log.LogError(e, "Session {Session}: its WebSocket keep-alive failed", session);
            }
        }
    }
}
