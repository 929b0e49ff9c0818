using System.Collections.Concurrent;
using System.Net;

namespace Dominance.Accounts;

/// <summary>
/// Failed logins per IP address: after <c>limit</c> failures within a window, further attempts from that address are
/// refused until the window that began with the first failure has passed. A success clears the count. Thread-safe.
/// </summary>
internal sealed class LoginThrottle(int limit, TimeSpan window, TimeProvider clock)
{
    private readonly ConcurrentDictionary<IPAddress, Failures> _failures = new();

    /// <summary>If <paramref name="address"/> is locked out, how long is left; otherwise <see langword="null"/>.</summary>
    public TimeSpan? LockedFor(IPAddress address)
    {
        if (limit <= 0 || !_failures.TryGetValue(address, out Failures? failures))
        {
            return null;
        }

        lock (failures)
        {
            TimeSpan elapsed = clock.GetElapsedTime(failures.WindowStart);
            if (elapsed >= window)
            {
                _failures.TryRemove(new KeyValuePair<IPAddress, Failures>(address, failures));
                return null;
            }

            return failures.Count >= limit ? window - elapsed : null;
        }
    }

    /// <summary>Counts a failure from <paramref name="address"/>.</summary>
    public void Fail(IPAddress address)
    {
        Failures failures = _failures.GetOrAdd(address, _ => new Failures(clock.GetTimestamp()));
        lock (failures)
        {
            if (clock.GetElapsedTime(failures.WindowStart) >= window)
            {
                failures.WindowStart = clock.GetTimestamp();
                failures.Count = 0;
            }

            failures.Count++;
        }
    }

    /// <summary>Forgets the failures of <paramref name="address"/> after a successful login.</summary>
    public void Succeed(IPAddress address) => _failures.TryRemove(address, out _);

    private sealed class Failures(long windowStart)
    {
        public long WindowStart { get; set; } = windowStart;

        public int Count { get; set; }
    }
}
