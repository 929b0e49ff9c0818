using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;

namespace Dominance.Portal;

/// <summary>Why a new connection was turned away, if it was.</summary>
internal enum Admission : byte
{
    /// <summary>Let in; the caller must call <see cref="ConnectionGate.Leave"/> when it closes.</summary>
    Admitted,

    /// <summary>The server already holds its maximum number of connections.</summary>
    ServerFull,

    /// <summary>This address opened too many connections in the current window.</summary>
    TooFast,

    /// <summary>The server is shutting down.</summary>
    ShuttingDown,
}

/// <summary>
/// Admission control for new connections: a cap on open connections, and a count-until-limit rate per IP address.
/// Thread-safe; connections arrive on any thread.
/// </summary>
internal sealed class ConnectionGate
{
    private readonly ConcurrentDictionary<IPAddress, StrongBox<CommandRateLimiter>> _perAddress = new();
    private readonly int _maxConnections;
    private readonly int _rateLimit;
    private readonly TimeSpan _rateWindow;
    private readonly TimeProvider _clock;
    private long _lastSweep;
    private int _open;
    private volatile bool _closed;

    public ConnectionGate(int maxConnections, int rateLimit, TimeSpan rateWindow, TimeProvider clock)
    {
        _maxConnections = maxConnections;
        _rateLimit = rateLimit;
        _rateWindow = rateWindow;
        _clock = clock;
        _lastSweep = clock.GetTimestamp();
    }

    /// <summary>Decides whether a new connection from <paramref name="address"/> may proceed.</summary>
    public Admission TryEnter(IPAddress address)
    {
        if (_closed)
        {
            return Admission.ShuttingDown;
        }

        if (_rateLimit > 0)
        {
            SweepIdleAddresses();
            StrongBox<CommandRateLimiter> box = _perAddress.GetOrAdd(
                address, static (_, gate) => new StrongBox<CommandRateLimiter>(new CommandRateLimiter(gate._rateLimit, gate._rateWindow, gate._clock)), this);
            RateVerdict verdict;
            lock (box)
            {
                verdict = box.Value.Check();
            }

            if (verdict != RateVerdict.Accepted)
            {
                return Admission.TooFast;
            }
        }

        if (Interlocked.Increment(ref _open) > _maxConnections)
        {
            Interlocked.Decrement(ref _open);
            return Admission.ServerFull;
        }

        return Admission.Admitted;
    }

    /// <summary>Records that an admitted connection has closed.</summary>
    public void Leave() => Interlocked.Decrement(ref _open);

    /// <summary>Turns every later connection away with <see cref="Admission.ShuttingDown"/>.</summary>
    public void Close() => _closed = true;

    private void SweepIdleAddresses()
    {
        // Addresses whose window has long passed carry no information; forget them so the table stays small.
        long now = _clock.GetTimestamp();
        long last = Volatile.Read(ref _lastSweep);
        if (_clock.GetElapsedTime(last, now) < _rateWindow * 2 || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (KeyValuePair<IPAddress, StrongBox<CommandRateLimiter>> entry in _perAddress)
        {
            bool idle;
            lock (entry.Value)
            {
                idle = entry.Value.Value.IsIdleSince(now);
            }

            if (idle)
            {
                _perAddress.TryRemove(entry);
            }
        }
    }
}
