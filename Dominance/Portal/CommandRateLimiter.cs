using System.Runtime.CompilerServices;

namespace Dominance.Portal;

/// <summary>The verdict on one input.</summary>
internal enum RateVerdict : byte
{
    /// <summary>Under the limit: relay it.</summary>
    Accepted,

    /// <summary>The first input over the limit in this window: drop it and warn the client.</summary>
    RejectedFirst,

    /// <summary>Over the limit again in the same window: drop it quietly.</summary>
    Rejected,
}

/// <summary>
/// Count-until-limit rate limiting, as in Evennia's "Pushing through a straw": count inputs, and read the clock only
/// when the count passes the limit. If the limit was reached in less than one window, the client is over the rate;
/// otherwise a new window starts. A burst of a few inputs close together can never trip it, because no rate is
/// computed from the gap between two inputs.
/// </summary>
/// <remarks>
/// <para>A mutable struct: keep it in a field and call it through that field, from one thread at a time (a session's
/// read loop). Under the limit, a check is one increment and one compare.</para>
/// <para>Over the limit every input needs the time. The caller passes the time of the socket read the input came in
/// (0 until someone reads the clock for it): inputs that arrived in the same read share one clock reading, so a flood
/// of lines costs one reading per read, not one per line.</para>
/// </remarks>
internal struct CommandRateLimiter
{
    private readonly TimeProvider _clock;
    private readonly int _limit;
    private readonly long _windowTicks;
    private long _windowEnd;
    private long _refuseUntil;
    private int _remaining;

    /// <summary>Creates a limiter allowing <paramref name="limit"/> inputs per <paramref name="window"/>; a limit of 0 allows everything.</summary>
    public CommandRateLimiter(int limit, TimeSpan window, TimeProvider clock)
    {
        _clock = clock;
        _limit = limit;
        _windowTicks = (long)(window.TotalSeconds * clock.TimestampFrequency);
        _windowEnd = clock.GetTimestamp() + _windowTicks;
        _remaining = limit > 0 ? limit : int.MaxValue;
    }

    /// <summary>Counts one input and says whether it may pass. Reads the clock into <paramref name="readTime"/> only if it is 0 and needed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RateVerdict Check(ref long readTime)
    {
        // Invariant: _remaining more inputs may pass before the clock must be read, in the window that ends at
        // _windowEnd. Under the limit, a check is a compare and a decrement; over it, a check stores nothing.
        if (_remaining > 0)
        {
            _remaining--;
            return RateVerdict.Accepted;
        }

        // A flood: another line of a read already checked, in a window the client has already been warned about.
        if (readTime != 0 && readTime < _refuseUntil)
        {
            return RateVerdict.Rejected;
        }

        return Exceeded(ref readTime);
    }

    /// <summary>Counts one input, reading the clock if needed (for callers without a read to share it with).</summary>
    public RateVerdict Check()
    {
        long readTime = 0;
        return Check(ref readTime);
    }

    /// <summary>Whether the current window ended at least one whole window before <paramref name="now"/>.</summary>
    public readonly bool IsIdleSince(long now) => now - _windowEnd >= _windowTicks;

    private RateVerdict Exceeded(ref long readTime)
    {
        if (_limit <= 0)
        {
            _remaining = int.MaxValue; // no limit: this happens once per two billion inputs
            return RateVerdict.Accepted;
        }

        long now = readTime != 0 ? readTime : readTime = _clock.GetTimestamp();
        if (now >= _windowEnd)
        {
            _windowEnd = now + _windowTicks;
            _remaining = _limit - 1;
            return RateVerdict.Accepted;
        }

        if (_refuseUntil == _windowEnd)
        {
            return RateVerdict.Rejected;
        }

        _refuseUntil = _windowEnd; // warned for this window: refuse quietly until it ends
        return RateVerdict.RejectedFirst;
    }
}
