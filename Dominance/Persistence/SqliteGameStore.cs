using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Dominance.Persistence;

/// <summary>
/// The default store: one SQLite file, in WAL mode, that needs no setup. Commits are synced to disk
/// (<c>synchronous=FULL</c>), so a change that returned is there after a crash; writers from other connections wait for
/// each other (<c>busy_timeout</c>) instead of failing.
/// </summary>
internal sealed class SqliteGameStore : SqlGameStore
{
    private static readonly string[] s_migrations =
    [
        """
        CREATE TABLE accounts (
            name_key      TEXT PRIMARY KEY,
            name          TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            is_admin      INTEGER NOT NULL,
            created_at    TEXT NOT NULL,
            last_login_at TEXT);
        CREATE TABLE world_saves (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            length     INTEGER NOT NULL,
            sha256     BLOB NOT NULL,
            data       BLOB NOT NULL,
            problem    TEXT);
        """,
    ];

    private readonly string _connectionString;

    static SqliteGameStore() => SQLitePCL.Batteries_V2.Init();

    /// <summary>A store in the SQLite file at <paramref name="path"/> (created, with its folder, if missing).</summary>
    public SqliteGameStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    public override string Description => $"SQLite {Path}";

    protected override IReadOnlyList<string> Migrations => s_migrations;

    protected override string CreateSchemaTable =>
        "CREATE TABLE IF NOT EXISTS dominance_schema (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)";

    protected override async Task<DbConnection> OpenAsync()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync().ConfigureAwait(false);

            // WAL is a property of the file (it sticks); the other two are per connection.
            await using DbCommand pragmas = Command(connection, null, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;");
            await pragmas.ExecuteNonQueryAsync().ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the pooled connections, and with them the file.</summary>
    public override ValueTask DisposeAsync()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    // BeginTransaction in Microsoft.Data.Sqlite is BEGIN IMMEDIATE: it already holds the write lock.
    protected override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction) => Task.CompletedTask;

    protected override async Task<long> InsertSaveAsync(
        DbConnection connection, DbTransaction transaction, ReadOnlyMemory<byte> state, byte[] sha256, DateTimeOffset at)
    {
        // Reserve the blob, then stream the state into it: no copy of a possibly large buffer into an exact-size array.
        long id = (long)(await ScalarAsync(
            connection, transaction,
            "INSERT INTO world_saves (created_at, length, sha256, data) VALUES (@at, @length, @sha256, zeroblob(@length)); SELECT last_insert_rowid();",
            ("at", at), ("length", (long)state.Length), ("sha256", sha256)).ConfigureAwait(false))!;
        using var blob = new SqliteBlob((SqliteConnection)connection, "world_saves", "data", id);
        blob.Write(state.Span);
        return id;
    }
}
