using System.Net;

namespace Dominance.Accounts;

/// <summary>
/// Limits how many accounts one address may create per window: each account costs a password hash, and in the
/// built-in game a home territory, so creating them without limit is both a CPU attack and a land grab. Creates still
/// in progress count, so creates sent in parallel are limited as creates sent one after another are.
/// </summary>
/// <remarks>
/// A window begins with the first create counted in it and lasts <c>window</c>. A limit of 0 turns the throttle off.
/// Thread-safe; it takes a lock, so call it off the game thread. Entries whose window has passed are swept every so
/// many creates.
/// </remarks>
internal sealed class CreationThrottle(int limit, TimeSpan window, TimeProvider clock)
{
    private const int SweepEvery = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, Tally> _addresses = [];
    private int _sinceSweep;

    /// <summary>
    /// Admits a create from <paramref name="address"/> and counts it as in progress until <see cref="End"/>, returning
    /// <see langword="null"/>; or refuses it, returning how long until its window ends (zero if only creates still in
    /// progress fill it).
    /// </summary>
    public TimeSpan? TryBegin(IPAddress address)
    {
        if (limit <= 0)
        {
            return null;
        }

        long now = clock.GetTimestamp();
        lock (_lock)
        {
            Tally tally = Current(address, now);
            if (tally.Created >= limit)
            {
                return window - clock.GetElapsedTime(tally.WindowStart, now);
            }

            if (tally.Created + tally.InProgress >= limit)
            {
                return TimeSpan.Zero;
            }

            tally.InProgress++;
            return null;
        }
    }

    /// <summary>Ends a create admitted by <see cref="TryBegin"/>; <paramref name="counts"/> says whether it uses up one of the address's creates.</summary>
    public void End(IPAddress address, bool counts)
    {
        if (limit <= 0)
        {
            return;
        }

        long now = clock.GetTimestamp();
        lock (_lock)
        {
            Tally tally = Current(address, now);
            tally.InProgress--;
            if (counts)
            {
                if (tally.Created == 0)
                {
                    tally.WindowStart = now;
                }

                tally.Created++;
            }

            if (++_sinceSweep % SweepEvery == 0)
            {
                foreach ((IPAddress key, Tally entry) in _addresses)
                {
                    if (entry.InProgress == 0 && (entry.Created == 0 || Expired(entry, now)))
                    {
                        _addresses.Remove(key);
                    }
                }
            }
        }
    }

    private Tally Current(IPAddress address, long now)
    {
        if (!_addresses.TryGetValue(address, out Tally? tally))
        {
            _addresses[address] = tally = new Tally();
        }
        else if (tally.Created > 0 && Expired(tally, now))
        {
            tally.Created = 0;
        }

        return tally;
    }

    private bool Expired(Tally tally, long now) => clock.GetElapsedTime(tally.WindowStart, now) >= window;

    /// <summary>One address's creates: when its window began, how many were made in it, and how many are under way.</summary>
    private sealed class Tally
    {
        public long WindowStart;
        public int Created;
        public int InProgress;
    }
}
