namespace Dominance.Persistence;

/// <summary>An account as stored: the name as spelled, the password hash, and the timestamps.</summary>
internal sealed record AccountRecord(string Name, string PasswordHash, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? LastLoginAt)
{
    public Dominance.Api.Account ToAccount() => new(Name, IsAdmin, CreatedAt, LastLoginAt);
}

/// <summary>
/// Where accounts live. Names are unique regardless of case. Every call does I/O and must not run on the game thread;
/// a completed task means the change is durable.
/// </summary>
internal interface IAccountStore
{
    /// <summary>How many accounts exist.</summary>
    Task<int> CountAsync();

    /// <summary>Finds an account by name, regardless of case.</summary>
    Task<AccountRecord?> FindAsync(string name);

    /// <summary>Stores a new account; <see langword="false"/> if the name (in any case) is taken.</summary>
    Task<bool> TryCreateAsync(AccountRecord account);

    /// <summary>Records a login.</summary>
    Task SetLastLoginAsync(string name, DateTimeOffset at);
}
