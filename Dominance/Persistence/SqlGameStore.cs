using System.Data.Common;

namespace Dominance.Persistence;

/// <summary>
/// What the SQLite and PostgreSQL stores share: the migrations runner, the account and save queries (written in the SQL
/// both understand), and the rule that every call starts on a thread of its own with a connection of its own.
/// </summary>
/// <remarks>
/// Tables: <c>dominance_schema</c> (one row per applied migration), <c>accounts</c> (keyed by the lower-case name, so
/// that names are unique regardless of case) and <c>world_saves</c> (the state, its length and SHA-256, and
/// <c>problem</c>, set on a save that did not read back intact).
/// </remarks>
internal abstract class SqlGameStore : IGameStore
{
    public abstract string Description { get; }

    public event Action<string>? Alarm;

    /// <summary>The schema, one script per version: element 0 creates version 1.</summary>
    protected abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>Creates <c>dominance_schema (version, applied_at)</c> if it does not exist.</summary>
    protected abstract string CreateSchemaTable { get; }

    /// <summary>Opens a connection, configured for this store.</summary>
    protected abstract Task<DbConnection> OpenAsync();

    /// <summary>Keeps other servers out of the migration until <paramref name="transaction"/> ends.</summary>
    protected abstract Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction);

    /// <summary>Inserts the row of a save, data included, and returns its id.</summary>
    protected abstract Task<long> InsertSaveAsync(
        DbConnection connection, DbTransaction transaction, ReadOnlyMemory<byte> state, byte[] sha256, DateTimeOffset at);

    /// <summary>
    /// Called after every call's work, before it reports success: throws if what was just written is not kept after
    /// all. Nothing to check by default.
    /// </summary>
    protected virtual void CheckKept()
    {
    }

    /// <summary>Raises <see cref="IGameStore.Alarm"/>.</summary>
    protected void RaiseAlarm(string message) => Alarm?.Invoke(message);

    /// <summary>A timestamp as this database's driver wants it.</summary>
    protected virtual object Timestamp(DateTimeOffset at) => at;

    public Task<int> MigrateAsync() => RunAsync(async connection =>
    {
        await using DbTransaction transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, CreateSchemaTable).ConfigureAwait(false);
        await LockForMigrationAsync(connection, transaction).ConfigureAwait(false);
        int version = Convert.ToInt32(
            await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM dominance_schema").ConfigureAwait(false));
        if (version > Migrations.Count)
        {
            throw new StoreException(
                $"{Description} has schema version {version}, newer than this server knows ({Migrations.Count}). " +
                "It was written by a newer Dominance: run that, or point this one at another database.");
        }

        for (int next = version + 1; next <= Migrations.Count; next++)
        {
            await ExecuteAsync(connection, transaction, Migrations[next - 1]).ConfigureAwait(false);
            await ExecuteAsync(
                connection, transaction, "INSERT INTO dominance_schema (version, applied_at) VALUES (@version, @at)",
                ("version", next), ("at", Timestamp(DateTimeOffset.UtcNow))).ConfigureAwait(false);
        }

        await transaction.CommitAsync().ConfigureAwait(false);
        return Migrations.Count;
    });

    public Task<int> CountAccountsAsync() => RunAsync(async connection =>
        Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COUNT(*) FROM accounts").ConfigureAwait(false)));

    public Task<AccountRecord?> FindAccountAsync(string name) => RunAsync(async connection =>
    {
        await using DbCommand command = Command(
            connection, null, "SELECT name, password_hash, is_admin, created_at, last_login_at FROM accounts WHERE name_key = @key",
            ("key", Key(name)));
        await using DbDataReader reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return null;
        }

        return new AccountRecord(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetBoolean(2),
            reader.GetFieldValue<DateTimeOffset>(3),
            await reader.IsDBNullAsync(4).ConfigureAwait(false) ? null : reader.GetFieldValue<DateTimeOffset>(4));
    });

    public Task<bool> TryCreateAccountAsync(AccountRecord account) => RunAsync(async connection =>
        await ExecuteAsync(
            connection, null,
            "INSERT INTO accounts (name_key, name, password_hash, is_admin, created_at) VALUES (@key, @name, @hash, @admin, @created) " +
            "ON CONFLICT (name_key) DO NOTHING",
            ("key", Key(account.Name)), ("name", account.Name), ("hash", account.PasswordHash), ("admin", account.IsAdmin),
            ("created", Timestamp(account.CreatedAt))).ConfigureAwait(false) == 1);

    public Task SetLastLoginAsync(string name, DateTimeOffset at) => RunAsync(connection =>
        ExecuteAsync(connection, null, "UPDATE accounts SET last_login_at = @at WHERE name_key = @key", ("at", Timestamp(at)), ("key", Key(name))));

    public Task<long> WriteSaveAsync(ReadOnlyMemory<byte> state, byte[] sha256, DateTimeOffset at, int keep) => RunAsync(async connection =>
    {
        await using DbTransaction transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        long id = await InsertSaveAsync(connection, transaction, state, sha256, at).ConfigureAwait(false);

        // Damaged saves (problem set) are neither counted nor deleted: they stay for someone to look at.
        await ExecuteAsync(
            connection, transaction,
            "DELETE FROM world_saves WHERE problem IS NULL AND id NOT IN " +
            "(SELECT id FROM world_saves WHERE problem IS NULL ORDER BY id DESC LIMIT @keep)",
            ("keep", keep)).ConfigureAwait(false);
        await transaction.CommitAsync().ConfigureAwait(false);
        return id;
    });

    public Task<IReadOnlyList<SaveInfo>> ListSavesAsync() => RunAsync<IReadOnlyList<SaveInfo>>(async connection =>
    {
        await using DbCommand command = Command(connection, null, "SELECT id, created_at, length, sha256, problem FROM world_saves ORDER BY id DESC");
        await using DbDataReader reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        var saves = new List<SaveInfo>();
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            saves.Add(new SaveInfo(
                reader.GetInt64(0),
                reader.GetFieldValue<DateTimeOffset>(1),
                reader.GetInt64(2),
                reader.GetFieldValue<byte[]>(3),
                await reader.IsDBNullAsync(4).ConfigureAwait(false) ? null : reader.GetString(4)));
        }

        return saves;
    });

    public Task<byte[]?> ReadSaveAsync(long id) => RunAsync(async connection =>
    {
        await using DbCommand command = Command(connection, null, "SELECT data FROM world_saves WHERE id = @id", ("id", id));
        await using DbDataReader reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? reader.GetFieldValue<byte[]>(0) : null;
    });

    public Task MarkSaveDamagedAsync(long id, string problem) => RunAsync(connection =>
        ExecuteAsync(connection, null, "UPDATE world_saves SET problem = @problem WHERE id = @id", ("problem", problem), ("id", id)));

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Builds a command with named parameters (<c>@name</c> in the SQL).</summary>
    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach ((string name, object? value) in parameters)
        {
            DbParameter parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        await using DbCommand command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        await using DbCommand command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteScalarAsync().ConfigureAwait(false);
    }

    private static string Key(string name) => name.ToLowerInvariant();

    /// <summary>The name of the thread a store call starts on (as the operating system shows it, at most 15 characters).</summary>
    internal const string ThreadName = "game store";

    /// <summary>The most calls under way at once; more wait for a turn, holding no thread.</summary>
    private const int MaxCalls = 8;

    private readonly SemaphoreSlim _calls = new(MaxCalls, MaxCalls);

    /// <summary>
    /// Runs <paramref name="work"/> with a connection of its own, starting on a thread of its own: not on the caller's
    /// (possibly the game thread), and not on the thread pool.
    /// </summary>
    /// <remarks>
    /// Microsoft.Data.Sqlite's async methods run synchronously, so a SQLite call does all its disk work, its
    /// <c>fsync</c>s included, on the thread it starts on. On a pool thread, that work would hold one of the threads
    /// that carry every connection's input: with one CPU the pool keeps one, and a save on a slow disk stopped all
    /// input for as long as its <c>fsync</c>s took (BENCHMARKS.md, "A save on a slow disk, and logins, on one CPU").
    /// A long-running task gets a thread of its own, which blocks nothing else. A driver that really awaits (Npgsql)
    /// goes on on the pool after its first wait, which holds no thread. At most <see cref="MaxCalls"/> run at once, so
    /// that a flood of lookups on a slow disk (every <c>create</c> looks its name up) cannot start a thread each.
    /// </remarks>
    private async Task<T> RunAsync<T>(Func<DbConnection, Task<T>> work)
    {
        await _calls.WaitAsync().ConfigureAwait(false);
        try
        {
            return await Task.Factory.StartNew(
                async () =>
                {
                    Thread.CurrentThread.Name = ThreadName; // a new thread each time (LongRunning on the default scheduler)
                    await using DbConnection connection = await OpenAsync().ConfigureAwait(false);
                    T result = await work(connection).ConfigureAwait(false);
                    CheckKept();
                    return result;
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).Unwrap().ConfigureAwait(false);
        }
        finally
        {
            _calls.Release();
        }
    }

    private Task RunAsync(Func<DbConnection, Task> work) => RunAsync(async connection =>
    {
        await work(connection).ConfigureAwait(false);
        return true;
    });
}
