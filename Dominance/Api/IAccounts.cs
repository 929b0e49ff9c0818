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
/// iterations) off the game thread and compared in constant time; accounts are stored as soon as they change. Await the
/// methods from game code: the continuation comes back to the game thread.
/// </summary>
public interface IAccounts
{
    /// <summary>Checks a name against the rules (length, characters), without looking it up. Returns why it is not allowed, or <see langword="null"/>.</summary>
    string? CheckName(string name);

    /// <summary>Creates an account. Fails with a reason if the name is invalid or taken (in any case), or the password too weak.</summary>
    Task<AccountResult> CreateAsync(string name, string password);

    /// <summary>
    /// Checks a name and password. Too many failures from one address within a window (5 per 5 minutes by default)
    /// refuse further attempts from it for the rest of the window, with a message that says so.
    /// </summary>
    Task<AccountResult> LoginAsync(string name, string password, IPAddress from);

    /// <summary>Finds an account by name, regardless of case.</summary>
    Task<Account?> FindAsync(string name);
}
