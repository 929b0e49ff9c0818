using System.Net;
using Dominance.Api;
using Dominance.Persistence;
using Microsoft.Extensions.Logging;

namespace Dominance.Accounts;

/// <summary>
/// The server's <see cref="IAccounts"/>: name rules, password hashing off the game thread, the login throttle, and
/// admin assignment, over an <see cref="IGameStore"/>. Every method may be called from the game thread: the work runs
/// on the thread pool and the caller's <c>await</c> resumes where it started.
/// </summary>
internal sealed class AccountService : IAccounts
{
    /// <summary>The shortest and longest allowed names.</summary>
    public const int MinNameLength = 3;
    public const int MaxNameLength = 16;
    public const int MinPasswordLength = 6;

    private static readonly HashSet<string> s_reserved = new(StringComparer.OrdinalIgnoreCase) { "guest", "admin", "everyone", "nobody", "someone" };

    private readonly IGameStore _store;
    private readonly AccountSettings _settings;
    private readonly LoginThrottle _throttle;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _creating = new(1, 1);

    /// <summary>A hash of a random password, checked against for unknown names so that timing does not tell which exist.</summary>
    private readonly Lazy<string> _dummyHash;

    public AccountService(IGameStore store, AccountSettings settings, TimeProvider clock, ILogger<AccountService> log)
    {
        _store = store;
        _settings = settings;
        _clock = clock;
        _log = log;
        _throttle = new LoginThrottle(settings.LoginFailureLimit, settings.LoginFailureWindow, clock);
        _dummyHash = new Lazy<string>(() => PasswordHasher.Hash(Guid.NewGuid().ToString(), settings.PasswordIterations));
    }

    public string? CheckName(string name)
    {
        if (name.Length < MinNameLength || name.Length > MaxNameLength)
        {
            return $"A name must be {MinNameLength} to {MaxNameLength} characters long.";
        }

        if (!char.IsAsciiLetter(name[0]) || !name.All(char.IsAsciiLetterOrDigit))
        {
            return "A name must start with a letter and use only letters (A-Z) and digits.";
        }

        return s_reserved.Contains(name) || name.StartsWith("guest", StringComparison.OrdinalIgnoreCase)
            ? $"'{name}' is reserved. Choose another name."
            : null;
    }

    public async Task<AccountResult> CreateAsync(string name, string password)
    {
        if (CheckName(name) is { } invalid)
        {
            return new AccountResult(null, invalid);
        }

        if (password.Length < MinPasswordLength)
        {
            return new AccountResult(null, $"A password must be at least {MinPasswordLength} characters long.");
        }

        if (password.Equals(name, StringComparison.OrdinalIgnoreCase))
        {
            return new AccountResult(null, "A password must not be the same as the name.");
        }

        string hash = await Task.Run(() => PasswordHasher.Hash(password, _settings.PasswordIterations)).ConfigureAwait(false);

        // Creates are rare; one at a time makes "the first account is an admin" exact.
        await _creating.WaitAsync().ConfigureAwait(false);
        try
        {
            bool first = await _store.CountAccountsAsync().ConfigureAwait(false) == 0;
            bool admin = first || _settings.Admins.Contains(name, StringComparer.OrdinalIgnoreCase);
            var record = new AccountRecord(name, hash, admin, _clock.GetUtcNow(), null);
            if (!await _store.TryCreateAccountAsync(record).ConfigureAwait(false))
            {
                return new AccountResult(null, $"The name '{name}' is taken. Choose another.");
            }

            _log.LogInformation("Account {Name} created{Admin}", name, admin ? " (admin)" : "");
            return new AccountResult(record.ToAccount(), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Unavailable(e, $"create account {name}", "The server could not store your account");
        }
        finally
        {
            _creating.Release();
        }
    }

    public async Task<AccountResult> LoginAsync(string name, string password, IPAddress from)
    {
        if (_throttle.LockedFor(from) is { } wait)
        {
            int minutes = Math.Max(1, (int)Math.Ceiling(wait.TotalMinutes));
            return new AccountResult(null, $"Too many failed logins from your address. Try again in {minutes} minute{(minutes == 1 ? "" : "s")}.");
        }

        AccountRecord? record;
        try
        {
            record = await _store.FindAccountAsync(name).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Unavailable(e, $"log {name} in", "The server could not read your account");
        }

        // Hash even for unknown names, so that timing does not tell which names exist. The dummy hash is made inside
        // the task too: the first one costs a full PBKDF2, and this method may still be on the game thread here.
        bool matches = await Task.Run(() => PasswordHasher.Verify(password, record?.PasswordHash ?? _dummyHash.Value)).ConfigureAwait(false);
        if (record is null || !matches)
        {
            _throttle.Fail(from);
            _log.LogWarning("Failed login for {Name} from {Address}", name, from);
            return new AccountResult(null, "Wrong name or password.");
        }

        _throttle.Succeed(from);
        DateTimeOffset now = _clock.GetUtcNow();
        try
        {
            await _store.SetLastLoginAsync(record.Name, now).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Only a timestamp: the player may still come in.
            _log.LogWarning("Could not record the login of {Name}: {Cause}", record.Name, StoreException.CauseOf(e));
        }

        return new AccountResult((record with { LastLoginAt = now }).ToAccount(), null);
    }

    public async Task<Account?> FindAsync(string name) => (await _store.FindAccountAsync(name).ConfigureAwait(false))?.ToAccount();

    /// <summary>The database failed: the log gets the cause, the player a plain answer (no database details), and nothing is half done.</summary>
    private AccountResult Unavailable(Exception e, string what, string answer)
    {
        string cause = StoreException.CauseOf(e);
        _log.LogError("Could not {What}: the database failed: {Cause}", what, cause);
        return new AccountResult(null, $"{answer} right now: its database is not available. Try again in a moment.");
    }
}
