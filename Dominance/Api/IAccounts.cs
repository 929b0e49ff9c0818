using System.Net;

namespace Dominance.Api;

/// <summary>A player account, as the server stores it. Passwords never leave the account service.</summary>
/// <param name="Name">The name as the player spelled it; names are unique regardless of case.</param>
/// <param name="IsAdmin">Whether the account administers the server (the first account created, or one named in settings).</param>
/// <param name="CreatedAt">When the account was created.</param>
/// <param name="LastLoginAt">When it last logged in, if ever.</param>
public sealed record Account(string Name, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? LastLoginAt);

/// <summary>The outcome of creating or logging in to an account: the account, or a reason to show the player.</summary>
/// <param name="Account">The account, on success.</param>
/// <param name="Error">Why it failed, in words a player understands.</param>
public sealed record AccountResult(Account? Account, string? Error)
{
    /// <summary>Whether it succeeded.</summary>
    public bool Succeeded => Account is not null;
}

/// <summary>
/// Player accounts, kept by the server. Passwords are hashed with PBKDF2-SHA256 (a salt per account, 600,000
/// iterations) on a few workers of the server's own, never on the game thread, and compared in constant time; accounts
/// are stored as soon as they change. Await the methods from game code: the continuation comes back to the game thread.
/// When every password worker is busy and the queue behind them is full, creates and logins fail at once with a
/// "busy, try again" reason rather than wait.
/// </summary>
public interface IAccounts
{
    /// <summary>Checks a name against the rules (length, characters), without looking it up. Returns why it is not allowed, or <see langword="null"/>.</summary>
    string? CheckName(string name);

    /// <summary>
    /// Creates an account. Fails with a reason if the name is invalid or taken (in any case; checked before the
    /// password is hashed), the password too weak, or <paramref name="from"/> has created too many accounts lately
    /// (3 per hour by default; creates in progress count).
    /// </summary>
    Task<AccountResult> CreateAsync(string name, string password, IPAddress from);

    /// <summary>
    /// Checks a name and password. Too many failures from one address (5 per 5 minutes by default; checks in progress
    /// count), or for one account name from anywhere (20), refuse further attempts for the rest of the window, with a
    /// message that says so. A success forgives only that address's failures against that account.
    /// </summary>
    Task<AccountResult> LoginAsync(string name, string password, IPAddress from);

    /// <summary>Finds an account by name, regardless of case.</summary>
    Task<Account?> FindAsync(string name);
}
