using System.Collections.Concurrent;

namespace Dominance.Persistence;

/// <summary>Accounts in memory only: gone when the process ends. For tests and embedding.</summary>
internal sealed class InMemoryAccountStore : IAccountStore
{
    private readonly ConcurrentDictionary<string, AccountRecord> _accounts = new(StringComparer.OrdinalIgnoreCase);

    public Task<int> CountAsync() => Task.FromResult(_accounts.Count);

    public Task<AccountRecord?> FindAsync(string name) => Task.FromResult(_accounts.GetValueOrDefault(name));

    public Task<bool> TryCreateAsync(AccountRecord account) => Task.FromResult(_accounts.TryAdd(account.Name, account));

    public Task SetLastLoginAsync(string name, DateTimeOffset at)
    {
        if (_accounts.TryGetValue(name, out AccountRecord? account))
        {
            _accounts[name] = account with { LastLoginAt = at };
        }

        return Task.CompletedTask;
    }
}
