using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// Every timer of the game in one priority queue, ordered by deadline and, for equal deadlines, by the order they were
/// scheduled. Game thread only. Cancellation is lazy: a cancelled entry stays queued until it reaches the head (or the
/// queue is compacted when cancelled entries outnumber live ones).
/// </summary>
internal sealed class TimerQueue
{
    /// <summary>The owner id of timers that belong to the host rather than to a game module generation.</summary>
    public const int HostOwner = 0;

    private readonly PriorityQueue<Entry, (long Due, long Sequence)> _queue = new();
    private readonly TimeProvider _clock;
    private long _sequence;
    private int _cancelled;

    public TimerQueue(TimeProvider clock) => _clock = clock;

    /// <summary>Timers queued, including cancelled ones not yet discarded.</summary>
    public int Count => _queue.Count;

    /// <summary>Schedules <paramref name="callback"/> after <paramref name="delay"/>, then every <paramref name="period"/> if it is positive.</summary>
    public GameTimer Schedule(TimeSpan delay, TimeSpan period, Action callback, int owner)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var entry = new Entry(this, callback, ToTicks(period), owner);
        Enqueue(entry, _clock.GetTimestamp() + ToTicks(delay));
        return entry;
    }

    /// <summary>Runs every timer due at <paramref name="now"/>, earliest first. Returns how many ran.</summary>
    public int RunDue(long now, Action<int, Exception> onError)
    {
        int ran = 0;
        while (_queue.TryPeek(out Entry? entry, out (long Due, long Sequence) priority) && priority.Due <= now)
        {
            _queue.Dequeue();
            if (entry.Cancelled)
            {
                _cancelled--;
                continue;
            }

            if (entry.Period == 0)
            {
                entry.Fired = true;
            }

            ran++;
            try
            {
                entry.Callback();
            }
            catch (Exception e)
            {
                onError(entry.Owner, e);
            }

            if (entry.Period > 0 && !entry.Cancelled)
            {
                // Keep the cadence; if the loop fell a whole period behind, skip the missed ticks rather than burst.
                long next = priority.Due + entry.Period;
                Enqueue(entry, next > now ? next : now + entry.Period);
            }
        }

        return ran;
    }

    /// <summary>
    /// Milliseconds until the earliest live timer is due (0 if one is due now), or <see cref="Timeout.Infinite"/> if
    /// there is none.
    /// </summary>
    public int MillisecondsUntilNext()
    {
        while (_queue.TryPeek(out Entry? entry, out (long Due, long Sequence) priority))
        {
            if (entry.Cancelled)
            {
                _queue.Dequeue();
                _cancelled--;
                continue;
            }

            long remaining = priority.Due - _clock.GetTimestamp();
            if (remaining <= 0)
            {
                return 0;
            }

            double milliseconds = Math.Ceiling(remaining * 1000.0 / _clock.TimestampFrequency);
            return (int)Math.Min(milliseconds, int.MaxValue - 1);
        }

        return Timeout.Infinite;
    }

    /// <summary>Cancels every timer scheduled by <paramref name="owner"/> (a module generation being unloaded).</summary>
    public int CancelOwnedBy(int owner)
    {
        int count = 0;
        foreach ((Entry entry, _) in _queue.UnorderedItems)
        {
            if (entry.Owner == owner && !entry.Cancelled)
            {
                entry.Cancel();
                count++;
            }
        }

        return count;
    }

    private void Enqueue(Entry entry, long due) => _queue.Enqueue(entry, (due, _sequence++));

    private void OnCancelled()
    {
        // Compact when dead entries dominate, so that churn (idle timers of departed sessions) cannot grow the queue.
        if (++_cancelled > 1024 && _cancelled > _queue.Count / 2)
        {
            var live = new List<(Entry, (long, long))>(_queue.Count - _cancelled);
            foreach ((Entry entry, (long, long) priority) in _queue.UnorderedItems)
            {
                if (!entry.Cancelled)
                {
                    live.Add((entry, priority));
                }
            }

            _queue.Clear();
            _queue.EnqueueRange(live);
            _cancelled = 0;
        }
    }

    private long ToTicks(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            return 0;
        }

        double ticks = span.TotalSeconds * _clock.TimestampFrequency;
        return ticks >= long.MaxValue / 4 ? long.MaxValue / 4 : (long)ticks;
    }

    private sealed class Entry(TimerQueue queue, Action callback, long period, int owner) : GameTimer
    {
        // Cleared on cancel: a cancelled entry may wait in the queue until its deadline, and must not keep the code of
        // an unloaded game generation alive meanwhile.
        private Action? _callback = callback;

        public Action Callback => _callback!;

        public long Period { get; } = period;

        public int Owner { get; } = owner;

        public bool Cancelled => _callback is null;

        public bool Fired { get; set; }

        public override bool IsActive => !Cancelled && !Fired;

        public override void Cancel()
        {
            if (_callback is not null)
            {
                _callback = null;
                queue.OnCancelled();
            }
        }
    }
}
