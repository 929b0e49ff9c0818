namespace Dominance.Persistence;

/// <summary>
/// Where the server keeps what must outlive the process: player accounts and world saves. Two implementations, one per
/// database: <see cref="SqliteGameStore"/> (the default, a file) and <see cref="PostgresGameStore"/>.
/// </summary>
/// <remarks>
/// Every call does its I/O off the caller's thread, and blocks no thread-pool thread (a synchronous driver's call runs
/// on a thread of its own): an <c>await</c> from game code leaves the game thread free and resumes on it. A completed
/// task means the change is committed (durable).
/// </remarks>
internal interface IGameStore : IAsyncDisposable
{
    /// <summary>What and where, for the log: for example <c>SQLite /srv/mygame/dominance.db</c>.</summary>
    string Description { get; }

    /// <summary>
    /// Raised once, on any thread, when the store finds that it can no longer keep what it is given for a reason an
    /// operator must act on (the SQLite file was deleted or replaced under the running server). The message says what
    /// happened and what to do. Calls fail meanwhile, each with the reason.
    /// </summary>
    event Action<string>? Alarm;

    /// <summary>
    /// Creates the schema, or migrates it to the version this server knows, and records the version in the database.
    /// Returns that version. Fails if the database was written by a newer server.
    /// </summary>
    Task<int> MigrateAsync();

    /// <summary>How many accounts exist.</summary>
    Task<int> CountAccountsAsync();

    /// <summary>Finds an account by name, regardless of case.</summary>
    Task<AccountRecord?> FindAccountAsync(string name);

    /// <summary>Stores a new account; <see langword="false"/> if the name (in any case) is taken.</summary>
    Task<bool> TryCreateAccountAsync(AccountRecord account);

    /// <summary>Records a login.</summary>
    Task SetLastLoginAsync(string name, DateTimeOffset at);

    /// <summary>
    /// Stores a world save in one transaction, and deletes the oldest intact saves beyond the newest
    /// <paramref name="keep"/>. Returns the new save's id.
    /// </summary>
    Task<long> WriteSaveAsync(ReadOnlyMemory<byte> state, byte[] sha256, DateTimeOffset at, int keep);

    /// <summary>Every stored save, newest first, without its data.</summary>
    Task<IReadOnlyList<SaveInfo>> ListSavesAsync();

    /// <summary>One save's data, or <see langword="null"/> if it is gone.</summary>
    Task<byte[]?> ReadSaveAsync(long id);

    /// <summary>
    /// Marks a save that did not read back intact. It is never restored, and never deleted to make room: it stays for
    /// someone to look at.
    /// </summary>
    Task MarkSaveDamagedAsync(long id, string problem);
}

/// <summary>An account as stored: the name as spelled, the password hash, and the timestamps.</summary>
internal sealed record AccountRecord(string Name, string PasswordHash, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? LastLoginAt)
{
    public Dominance.Api.Account ToAccount() => new(Name, IsAdmin, CreatedAt, LastLoginAt);
}

/// <summary>A stored world save, without its data: when, how long, its SHA-256, and why it is damaged (if it is).</summary>
internal sealed record SaveInfo(long Id, DateTimeOffset CreatedAt, long Length, byte[] Sha256, string? Problem);

/// <summary>A store that cannot be used: the message says why, naming the database.</summary>
internal sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// A database failure's message and those of its inner exceptions, each once and without a final full stop (the
    /// caller's sentence goes on), for logs and admins: "Failed to connect to 127.0.0.1:5432: Connection refused".
    /// </summary>
    public static string CauseOf(Exception e)
    {
        var messages = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            string message = x.Message.TrimEnd('.');
            if (!messages.Contains(message))
            {
                messages.Add(message);
            }
        }

        return string.Join(": ", messages);
    }
}
