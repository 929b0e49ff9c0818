using System.Net;
using Dominance.Api;
using Dominance.Core;
using Dominance.Persistence;
using Microsoft.Extensions.Logging;

namespace Dominance.Accounts;

/// <summary>
/// The server's <see cref="IAccounts"/>: name rules, password hashing on a few workers of its own, the login and
/// creation throttles, and admin assignment, over an <see cref="IGameStore"/>. Every method may be called from the game
/// thread: all the work runs on the thread pool and the caller's <c>await</c> resumes where it started.
/// </summary>
/// <remarks>
/// Cheap refusals come first and cost no hash: a name that breaks the rules, a weak password, a name that is taken, an
/// address or account that is throttled. A failed login's name is logged only if it is an account's; otherwise only its
/// length is, because a name that breaks the rules or belongs to nobody may be a password typed in the wrong place.
/// </remarks>
internal sealed class AccountService : IAccounts, IDisposable
{
    /// <summary>The shortest and longest allowed names.</summary>
    public const int MinNameLength = 3;
    public const int MaxNameLength = 16;
    public const int MinPasswordLength = 6;

    /// <summary>What a player is told when no password worker is free and the queue is full.</summary>
    public const string Busy = "The server is busy checking passwords. Try again in a moment.";

    private static readonly HashSet<string> s_reserved = new(StringComparer.OrdinalIgnoreCase) { "guest", "admin", "everyone", "nobody", "someone" };

    private readonly IGameStore _store;
    private readonly AccountSettings _settings;
    private readonly LoginThrottle _logins;
    private readonly CreationThrottle _creates;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly ILogger _audit;
    private readonly ServerMetrics _metrics;
    private readonly SemaphoreSlim _creating = new(1, 1);

    /// <summary>
    /// Creates the service. Logins and creations are counted in <paramref name="metrics"/> (<see cref="ServerMetrics.Detached"/>
    /// if omitted) and written to <paramref name="audit"/> (<paramref name="log"/> if omitted): names and addresses,
    /// never a password.
    /// </summary>
    public AccountService(
        IGameStore store, AccountSettings settings, TimeProvider clock, ILogger<AccountService> log, ServerMetrics? metrics = null, ILogger? audit = null)
    {
        _store = store;
        _settings = settings;
        _clock = clock;
        _log = log;
        _audit = audit ?? log;
        _metrics = metrics ?? ServerMetrics.Detached;
        _logins = new LoginThrottle(settings.LoginFailureLimit, settings.AccountFailureLimit, settings.LoginFailureWindow, clock);
        _creates = new CreationThrottle(settings.CreateLimit, settings.CreateWindow, clock);
        Passwords = new PasswordWorkers(settings.PasswordWorkers, settings.PasswordQueue);
        _dummyHash = new Lazy<string>(() => PasswordHasher.Hash(Guid.NewGuid().ToString(), settings.PasswordIterations));
    }

    /// <summary>The workers that hash and check passwords.</summary>
    internal PasswordWorkers Passwords { get; }

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

    public Task<AccountResult> CreateAsync(string name, string password, IPAddress from) => Task.Run(() => CreateOnPoolAsync(name, password, from));

    public Task<AccountResult> LoginAsync(string name, string password, IPAddress from) => Task.Run(() => LoginOnPoolAsync(name, password, from));

    private async Task<AccountResult> CreateOnPoolAsync(string name, string password, IPAddress from)
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

        try
        {
            if (await _store.FindAccountAsync(name).ConfigureAwait(false) is not null)
            {
                return Taken(name); // before the hash: a taken name costs one lookup, not 600,000 iterations
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Unavailable(e, $"create account {name}", "The server could not store your account");
        }

        if (_creates.TryBegin(from) is { } wait)
        {
            return new AccountResult(null, wait > TimeSpan.Zero
                ? $"Too many accounts have been created from your address. Try again in {Minutes(wait)}."
                : "Too many accounts are being created from your address at once. Try again in a moment.");
        }

        bool counts = false;
        try
        {
            if (Passwords.TryRun(PasswordWork.Create, () => PasswordHasher.Hash(password, _settings.PasswordIterations)) is not { } hashing)
            {
                return new AccountResult(null, Busy);
            }

            string hash = await hashing.ConfigureAwait(false);
            counts = true;

            // Creates are rare; one at a time makes "the first account is an admin" exact.
            await _creating.WaitAsync().ConfigureAwait(false);
            try
            {
                bool first = await _store.CountAccountsAsync().ConfigureAwait(false) == 0;
                bool admin = first || _settings.Admins.Contains(name, StringComparer.OrdinalIgnoreCase);
                var record = new AccountRecord(name, hash, admin, _clock.GetUtcNow(), null);
                if (!await _store.TryCreateAccountAsync(record).ConfigureAwait(false))
                {
                    return Taken(name); // taken meanwhile; the hash was spent, so it still counts against the address
                }

                _metrics.AccountCreated();
                _audit.LogInformation("Account {Name} created from {Address}{Admin}", name, from, admin ? " (admin)" : "");
                return new AccountResult(record.ToAccount(), null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                counts = false; // the server failed, not the player
                return Unavailable(e, $"create account {name}", "The server could not store your account");
            }
            finally
            {
                _creating.Release();
            }
        }
        finally
        {
            _creates.End(from, counts);
        }
    }

    private async Task<AccountResult> LoginOnPoolAsync(string name, string password, IPAddress from)
    {
        bool valid = CheckName(name) is null;
        if (_logins.TryBegin(from, valid ? name : null) is { } refusal)
        {
            _metrics.LoginThrottled();
            _audit.LogWarning("Login refused from {Address}: {Reason}", from, refusal.Reason);
            return new AccountResult(null, refusal.Reason switch
            {
                LoginRefusalReason.AddressLocked => $"Too many failed logins from your address. Try again in {Minutes(refusal.Wait)}.",
                LoginRefusalReason.AccountLocked => $"Too many failed logins for {name}. Try again in {Minutes(refusal.Wait)}.",
                _ => "Too many logins from your address are being checked at once. Try again in a moment.",
            });
        }

        if (!valid)
        {
            // No account can have this name, so there is nothing to check. It may be the password typed in the name's
            // place: log its length, never the name.
            _logins.End(from, null, checkedPassword: true, succeeded: false);
            _metrics.LoginFailed();
            _audit.LogWarning("Failed login for a name that breaks the name rules ({Length} characters) from {Address}", name.Length, from);
            return new AccountResult(null, "Wrong name or password.");
        }

        bool checkedPassword = false;
        bool matches = false;
        AccountRecord? record;
        try
        {
            try
            {
                record = await _store.FindAccountAsync(name).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Unavailable(e, $"log {name} in", "The server could not read your account");
            }

            // Hash even for unknown names, so that timing does not tell which names exist. The dummy hash is made by
            // the worker too: the first one costs a full PBKDF2.
            if (Passwords.TryRun(PasswordWork.Login, () => PasswordHasher.Verify(password, record?.PasswordHash ?? _dummyHash.Value)) is not { } checking)
            {
                return new AccountResult(null, Busy);
            }

            matches = await checking.ConfigureAwait(false) && record is not null;
            checkedPassword = true;
        }
        finally
        {
            _logins.End(from, name, checkedPassword, matches);
        }

        if (!matches)
        {
            _metrics.LoginFailed();
            if (record is null)
            {
                // A name no account has is as likely to be a password typed in the wrong place: its length only.
                _audit.LogWarning("Failed login for a name that is no account ({Length} characters) from {Address}", name.Length, from);
            }
            else
            {
                _audit.LogWarning("Failed login for {Name} from {Address}", record.Name, from);
            }

            return new AccountResult(null, "Wrong name or password.");
        }

        _metrics.LoginSucceeded();
        _audit.LogInformation("Login: {Name} from {Address}", record!.Name, from);
        DateTimeOffset now = _clock.GetUtcNow();
        try
        {
            await _store.SetLastLoginAsync(record!.Name, now).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Only a timestamp: the player may still come in.
            _log.LogWarning("Could not record the login of {Name}: {Cause}", record!.Name, StoreException.CauseOf(e));
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

    public void Dispose() => Passwords.Dispose();

    private static AccountResult Taken(string name) => new(null, $"The name '{name}' is taken. Choose another.");

    private static string Minutes(TimeSpan wait)
    {
        int minutes = Math.Max(1, (int)Math.Ceiling(wait.TotalMinutes));
        return $"{minutes} minute{(minutes == 1 ? "" : "s")}";
    }

    /// <summary>A hash of a random password, checked against for unknown names so that timing does not tell which exist.</summary>
    private readonly Lazy<string> _dummyHash;
}
