using System.Collections.Concurrent;
using Dominance.Api;

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
/// per tick, so that each is checked every half <see cref="Interval"/>. A connection whose session was delivered no
/// message since its last check is sent a pong: no connection goes a whole interval without a byte from the server,
/// and an idle one gets a pong every half interval. The check reads the session's delivery count, which the sending
/// path keeps anyway: nothing is added to the path of a delivery.</para>
/// <para>Threads: <see cref="Watch"/> and disposing what it returns, from any thread; the ticks run on the timer's
/// thread, one at a time (a tick that finds the previous one still running is skipped).</para>
/// </remarks>
internal sealed class WebSocketKeepAlive
{
    /// <summary>How many slices the connections are visited in, one per tick.</summary>
    public const int Slices = 16;

    // FIN and opcode 0xA (pong), unmasked, no payload: a server's unsolicited pong, which clients do not answer.
    private static readonly byte[] s_pong = [0x80 | 0xA, 0x00];

    private readonly ConcurrentDictionary<SessionId, Watched>[] _slices;
    private readonly ITimer _timer;
    private readonly TimeSpan _tick;
    private readonly Lock _counting = new();
    private int _watched; // under _counting: the timer runs while it is above 0
    private int _running; // 1 while a tick runs
    private int _next; // the slice the next tick visits (tick thread only)

    /// <summary>
    /// A keep-alive that lets no watched connection go <paramref name="interval"/> without a byte from the server; its
    /// timer comes from <paramref name="clock"/> and runs only while a connection is watched.
    /// </summary>
    public WebSocketKeepAlive(TimeSpan interval, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        Interval = interval;
        _tick = interval / (2 * Slices);
        _slices = new ConcurrentDictionary<SessionId, Watched>[Slices];
        for (int i = 0; i < Slices; i++)
        {
            _slices[i] = new ConcurrentDictionary<SessionId, Watched>();
        }

        _timer = clock.CreateTimer(static state => ((WebSocketKeepAlive)state!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The longest a watched connection goes without a byte from the server.</summary>
    public TimeSpan Interval { get; }

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

    /// <summary>Checks one slice: each connection its session delivered nothing to since its last check is sent a pong.</summary>
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
            foreach (Watched watched in slice.Values)
            {
                long delivered = watched.Session.FramesDelivered;
                if (delivered == watched.Seen)
                {
                    Send(watched.Output);
                }

                watched.Seen = delivered;
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// Writes a pong. Through the shared stream it is one whole write, between whole frames; on a socket the portal
    /// sends on itself it goes after everything posted before it (and nowhere after the close frame). A connection
    /// that has gone drops it.
    /// </summary>
    private static void Send(SharedWriteStream output)
    {
        ValueTask written;
        try
        {
            written = output.WriteAsync(s_pong);
        }
        catch (Exception e) when (IsGone(e))
        {
            return;
        }

        if (!written.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(written);
        }

        static async Task ObserveAsync(ValueTask written)
        {
            try
            {
                await written.ConfigureAwait(false);
            }
            catch (Exception e) when (IsGone(e))
            {
                // The connection went while its pong waited: nothing to keep alive.
            }
        }
    }

    // Kestrel's ConnectionAbortedException is an OperationCanceledException.
    private static bool IsGone(Exception e) => e is IOException or ObjectDisposedException or OperationCanceledException;

    /// <summary>One watched connection; disposing it ends the watch.</summary>
    private sealed class Watched(WebSocketKeepAlive owner, PortalSession session, SharedWriteStream output) : IDisposable
    {
        public PortalSession Session { get; } = session;

        public SharedWriteStream Output { get; } = output;

        /// <summary>The session's delivery count at the last check (tick thread only).</summary>
        public long Seen { get; set; } = session.FramesDelivered;

        public void Dispose() => owner.Unwatch(this);
    }
}
