using System.Collections.Concurrent;
using System.Net;

namespace Dominance.Accounts;

/// <summary>
/// Failed logins per IP address: after <c>limit</c> failures within a window, further attempts from that address are
/// refused until the window that began with the first failure has passed. A success clears the count.
/// </summary>
/// <remarks>
/// Thread-safe, and lock-free where the game thread calls it: <see cref="LockedFor"/> only reads (a
/// <see cref="ConcurrentDictionary{TKey,TValue}"/> read takes no lock, and each entry is an immutable value, replaced
/// whole). <see cref="Fail"/> and <see cref="Succeed"/> write; they run where the password check finished, off the
/// game thread, and they are also where entries whose window has passed are swept.
/// </remarks>
internal sealed class LoginThrottle(int limit, TimeSpan window, TimeProvider clock)
{
    /// <summary>Every this many failures, entries whose window has passed are removed.</summary>
    private const int SweepEvery = 256;

    private readonly ConcurrentDictionary<IPAddress, Failures> _failures = new();
    private int _failuresSinceSweep;

    /// <summary>If <paramref name="address"/> is locked out, how long is left; otherwise <see langword="null"/>. Never blocks.</summary>
    public TimeSpan? LockedFor(IPAddress address)
    {
        if (limit <= 0 || !_failures.TryGetValue(address, out Failures failures))
        {
            return null;
        }

        TimeSpan elapsed = clock.GetElapsedTime(failures.WindowStart);
        return elapsed < window && failures.Count >= limit ? window - elapsed : null;
    }

    /// <summary>Counts a failure from <paramref name="address"/>; a failure after the window has passed starts a new one.</summary>
    public void Fail(IPAddress address)
    {
        long now = clock.GetTimestamp();
        _failures.AddOrUpdate(
            address,
            static (_, now) => new Failures(now, 1),
            (_, failures, now) => Expired(failures, now) ? new Failures(now, 1) : failures with { Count = failures.Count + 1 },
            now);
        if (Interlocked.Increment(ref _failuresSinceSweep) % SweepEvery == 0)
        {
            foreach (KeyValuePair<IPAddress, Failures> entry in _failures)
            {
                if (Expired(entry.Value, now))
                {
                    _failures.TryRemove(entry); // only if it has not been replaced meanwhile
                }
            }
        }
    }

    /// <summary>Forgets the failures of <paramref name="address"/> after a successful login.</summary>
    public void Succeed(IPAddress address) => _failures.TryRemove(address, out _);

    /// <summary>How many addresses have failures on record (expired ones included until they are swept).</summary>
    public int Tracked => _failures.Count;

    private bool Expired(Failures failures, long now) => clock.GetElapsedTime(failures.WindowStart, now) >= window;

    /// <summary>One address's failures: when its window began, and how many so far. Immutable: replaced, never changed.</summary>
    private readonly record struct Failures(long WindowStart, int Count);
}
