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
/// A mutable struct: keep it in a field and call it through that field, from one thread at a time (a session's read
/// loop). On the accepted path the cost is one increment and one compare.
/// </remarks>
internal struct CommandRateLimiter
{
    private readonly TimeProvider _clock;
    private readonly int _limit;
    private readonly long _windowTicks;
    private long _windowStart;
    private int _count;
    private bool _warned;

    /// <summary>Creates a limiter allowing <paramref name="limit"/> inputs per <paramref name="window"/>; a limit of 0 allows everything.</summary>
    public CommandRateLimiter(int limit, TimeSpan window, TimeProvider clock)
    {
        _clock = clock;
        _limit = limit;
        _windowTicks = (long)(window.TotalSeconds * clock.TimestampFrequency);
        _windowStart = clock.GetTimestamp();
    }

    /// <summary>Counts one input and says whether it may pass.</summary>
    public RateVerdict Check()
    {
        // Invariant: _count inputs have been accepted since _windowStart. The clock is read only once that count
        // exceeds the limit, so an input under the limit never touches it.
        if (++_count <= _limit || _limit <= 0)
        {
            return RateVerdict.Accepted;
        }

        long now = _clock.GetTimestamp();
        if (now - _windowStart >= _windowTicks)
        {
            _windowStart = now;
            _count = 1;
            _warned = false;
            return RateVerdict.Accepted;
        }

        _count = _limit; // stay at the limit so that every input until the window ends is checked against the clock
        if (_warned)
        {
            return RateVerdict.Rejected;
        }

        _warned = true;
        return RateVerdict.RejectedFirst;
    }

    /// <summary>Whether the current window ended at least one whole window before <paramref name="now"/>.</summary>
    public readonly bool IsIdleSince(long now) => now - _windowStart >= 2 * _windowTicks;
}
