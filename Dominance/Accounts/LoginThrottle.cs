using System.Net;

namespace Dominance.Accounts;

/// <summary>Why a login was refused before its password was checked.</summary>
internal enum LoginRefusalReason : byte
{
    /// <summary>Too many failed logins from this address within the window.</summary>
    AddressLocked,

    /// <summary>Too many failed logins for this account name, from anywhere, within the window.</summary>
    AccountLocked,

    /// <summary>Too many logins from this address are being checked at this moment.</summary>
    TooManyAtOnce,
}

/// <summary>A refused login: why, and how long until the window that refused it ends (zero when that is not known).</summary>
internal readonly record struct LoginRefusal(LoginRefusalReason Reason, TimeSpan Wait);

/// <summary>
/// Limits password guessing, both per address and per account name. A password check is admitted only if the
/// failures counted against its address, plus that address's checks still in flight, are under the address limit,
/// and the same holds for the account name (failures from every address). Counting the checks in flight means that
/// guesses sent in parallel are limited as guesses sent one after another are.
/// </summary>
/// <remarks>
/// <para>A window begins with the first failure counted in it and lasts <c>window</c>; when it has passed, the count
/// starts again. Account names count whether or not the account exists, so the throttle tells nothing about which
/// names are taken.</para>
/// <para>A success forgives only the failures of that address against that same account: a player who mistyped their
/// password is not held back once they get it right, but logging in to an account of one's own does not wipe the
/// guesses made at someone else's. A success never clears an account's count.</para>
/// <para>Thread-safe. It takes a lock, so call it off the game thread (the account service does all its work on the
/// thread pool). Memory is bounded by the sweep: every so many checks, entries whose window has passed and that have
/// nothing in flight are removed.</para>
/// </remarks>
internal sealed class LoginThrottle(int addressLimit, int accountLimit, TimeSpan window, TimeProvider clock)
{
    /// <summary>Every this many checks, entries whose window has passed are removed.</summary>
    private const int SweepEvery = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, Tally> _addresses = [];
    private readonly Dictionary<string, Tally> _accounts = new(StringComparer.OrdinalIgnoreCase);
    private int _checksSinceSweep;

    /// <summary>How many addresses and account names have something on record (expired ones until they are swept).</summary>
    public int Tracked
    {
        get
        {
            lock (_lock)
            {
                return _addresses.Count + _accounts.Count;
            }
        }
    }

    /// <summary>
    /// Admits a password check of <paramref name="account"/> from <paramref name="address"/>, counting it as in flight
    /// until <see cref="End"/>; or refuses it and counts nothing. A <see langword="null"/> account (a name that breaks
    /// the name rules, so no account can have it) counts against the address alone.
    /// </summary>
    public LoginRefusal? TryBegin(IPAddress address, string? account)
    {
        long now = clock.GetTimestamp();
        lock (_lock)
        {
            Tally? from = addressLimit > 0 ? Current(_addresses, address, now) : null;
            Tally? to = accountLimit > 0 && account is not null ? Current(_accounts, account, now) : null;
            if (from is not null && from.Failed.Count >= addressLimit)
            {
                return new LoginRefusal(LoginRefusalReason.AddressLocked, Left(from, now));
            }

            if (to is not null && to.Failures >= accountLimit)
            {
                return new LoginRefusal(LoginRefusalReason.AccountLocked, Left(to, now));
            }

            if ((from is not null && from.Failed.Count + from.InFlight >= addressLimit) ||
                (to is not null && to.Failures + to.InFlight >= accountLimit))
            {
                return new LoginRefusal(LoginRefusalReason.TooManyAtOnce, TimeSpan.Zero);
            }

            if (from is not null)
            {
                from.InFlight++;
            }

            if (to is not null)
            {
                to.InFlight++;
            }

            return null;
        }
    }

    /// <summary>
    /// Ends a check admitted by <see cref="TryBegin"/>. <paramref name="checkedPassword"/> is false when the check could
    /// not be made (the server was busy, the database failed): then nothing is counted.
    /// </summary>
    public void End(IPAddress address, string? account, bool checkedPassword, bool succeeded)
    {
        long now = clock.GetTimestamp();
        lock (_lock)
        {
            if (addressLimit > 0)
            {
                Tally from = Current(_addresses, address, now);
                from.InFlight--;
                if (checkedPassword && succeeded)
                {
                    from.Failed.RemoveAll(name => name.Equals(account, StringComparison.OrdinalIgnoreCase));
                }
                else if (checkedPassword)
                {
                    Start(from, now);
                    from.Failed.Add(account ?? "");
                }
            }

            if (accountLimit > 0 && account is not null)
            {
                Tally to = Current(_accounts, account, now);
                to.InFlight--;
                if (checkedPassword && !succeeded)
                {
                    Start(to, now);
                    to.Failures++;
                }
            }

            if (++_checksSinceSweep % SweepEvery == 0)
            {
                Sweep(_addresses, now);
                Sweep(_accounts, now);
            }
        }
    }

    /// <summary>The tally of <paramref name="key"/>, created if needed, with its failures forgotten if its window has passed.</summary>
    private Tally Current<TKey>(Dictionary<TKey, Tally> tallies, TKey key, long now)
        where TKey : notnull
    {
        if (!tallies.TryGetValue(key, out Tally? tally))
        {
            tallies[key] = tally = new Tally();
        }
        else if (Expired(tally, now))
        {
            tally.Failed.Clear();
            tally.Failures = 0;
        }

        return tally;
    }

    private static void Start(Tally tally, long now)
    {
        if (tally.Failed.Count == 0 && tally.Failures == 0)
        {
            tally.WindowStart = now;
        }
    }

    private bool Expired(Tally tally, long now) => clock.GetElapsedTime(tally.WindowStart, now) >= window;

    private TimeSpan Left(Tally tally, long now) => window - clock.GetElapsedTime(tally.WindowStart, now);

    private void Sweep<TKey>(Dictionary<TKey, Tally> tallies, long now)
        where TKey : notnull
    {
        foreach ((TKey key, Tally tally) in tallies)
        {
            if (tally.InFlight == 0 && (Expired(tally, now) || (tally.Failed.Count == 0 && tally.Failures == 0)))
            {
                tallies.Remove(key); // removing the current entry while enumerating is allowed for Dictionary
            }
        }
    }

    /// <summary>
    /// What is counted against one address or one account name. For an address, <see cref="Failed"/> holds the account
    /// name of each failure in the window; for an account name, <see cref="Failures"/> counts them.
    /// </summary>
    private sealed class Tally
    {
        public long WindowStart;
        public int Failures;
        public int InFlight;
        public readonly List<string> Failed = [];
    }
}
