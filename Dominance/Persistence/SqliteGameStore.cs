using System.Data.Common;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dominance.Persistence;

/// <summary>
/// The default store: one SQLite file, in WAL mode, that needs no setup. Commits are synced to disk
/// (<c>synchronous=FULL</c>), so a change that returned is there after a crash; writers from other connections wait for
/// each other (<c>busy_timeout</c>) instead of failing.
/// </summary>
/// <remarks>
/// <para>The file is created readable and writable by its owner only (0600; SQLite gives its <c>-wal</c> and
/// <c>-shm</c> files the same mode): it holds password hashes.</para>
/// <para>Every call opens a connection of its own and closes it; nothing is pooled. A connection keeps what the file
/// was like when it was opened: one that SQLite opened read-only, because the file could not be written at that moment,
/// stays read-only. Pooled, it would fail every later write long after the file is writable again.</para>
/// <para>The store also holds one connection open for its whole life, the anchor, on the file as it first opened it.
/// Before and after every call it asks SQLite whether that file is still the one at <see cref="Path"/>
/// (<c>SQLITE_FCNTL_HAS_MOVED</c>: gone, or another inode there). If not, the data is no longer where the next start
/// looks for it: the call fails, nothing is reported stored, and <see cref="IGameStore.Alarm"/> is raised once, after
/// the anchor has copied everything the lost file held next to it (<c>VACUUM INTO</c>).</para>
/// </remarks>
internal sealed partial class SqliteGameStore : SqlGameStore
{
    /// <summary><c>SQLITE_FCNTL_HAS_MOVED</c> in sqlite3.h.</summary>
    private const int FileControlHasMoved = 20;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

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
    private readonly ILogger _log;

    // Guards the anchor: opening it, asking about its file, and copying from it.
    private readonly Lock _lock = new();
    private SqliteConnection? _anchor;
    private bool _lost;
    private bool _disposed;

    static SqliteGameStore() => SQLitePCL.Batteries_V2.Init();

    /// <summary>A store in the SQLite file at <paramref name="path"/> (created, with its folder, if missing).</summary>
    public SqliteGameStore(string path, ILogger<SqliteGameStore>? log = null)
    {
        Path = System.IO.Path.GetFullPath(path);
        _log = log ?? (ILogger)NullLogger.Instance;

        // ReadWrite, not ReadWriteCreate: the store creates the file itself, once, with the mode it wants. A file that
        // disappears later is not silently replaced by an empty one.
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
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
        CheckFileIsKept();
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using DbCommand pragmas = Command(connection, null, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;");
            await pragmas.ExecuteNonQueryAsync().ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override void CheckKept() => CheckFileIsKept();

    /// <summary>Closes the anchor, and with it the file.</summary>
    public override ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _disposed = true;
            _anchor?.Dispose();
            _anchor = null;
        }

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

    /// <summary>
    /// Throws unless the anchor's file is still the one at <see cref="Path"/>; opens the anchor on first use. On the
    /// first failure after success, copies the lost file's content beside it and raises the alarm.
    /// </summary>
    private void CheckFileIsKept()
    {
        string? alarm = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _anchor ??= OpenAnchor();
            if (!HasMoved(_anchor))
            {
                if (_lost)
                {
                    _log.LogWarning("{Store} is back where it was: accounts and world saves are stored again", Description);
                    _lost = false;
                }

                return;
            }

            if (!_lost)
            {
                _lost = true;
                alarm = $"{LostReason}. Nothing more is stored: new accounts and world saves are refused. {Rescue()}";
            }
        }

        if (alarm is not null)
        {
            RaiseAlarm(alarm);
        }

        throw new StoreException($"{LostReason}: nothing is stored while it is not there");
    }

    private string LostReason => $"{Description} was deleted or replaced while the server ran";

    /// <summary>Creates the file if it is missing (owner only), opens the anchor on it and turns on WAL.</summary>
    private SqliteConnection OpenAnchor()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        if (!CreateOwnerOnly(Path) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(Path) & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
        {
            _log.LogWarning(
                "{Path} can be read by other users of this machine (mode {Mode}), and it holds password hashes. Make it private: chmod 600 {Path}*",
                Path, Convert.ToString((int)File.GetUnixFileMode(Path), 8), Path);
        }

        var anchor = new SqliteConnection(_connectionString);
        try
        {
            anchor.Open();

            // WAL is a property of the file (it sticks). The read makes the anchor open the WAL and its index now, while
            // they are writable, and keep them open.
            using SqliteCommand setup = anchor.CreateCommand();
            setup.CommandText = "PRAGMA journal_mode = WAL; SELECT COUNT(*) FROM sqlite_schema;";
            setup.ExecuteNonQuery();
            return anchor;
        }
        catch
        {
            anchor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies everything the anchor's file holds into a new file beside <see cref="Path"/>, and says where (or why not).
    /// </summary>
    private string Rescue()
    {
        string copy = $"{Path}.rescued-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        try
        {
            CreateOwnerOnly(copy);
            using SqliteCommand vacuum = _anchor!.CreateCommand();
            vacuum.CommandText = "VACUUM INTO @copy";
            vacuum.Parameters.AddWithValue("copy", copy);
            vacuum.ExecuteNonQuery();
            return $"Everything it held until then is copied to {copy}: stop the server, move that copy to {Path}, and start it again.";
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            return $"Its content could not be copied to {copy} ({StoreException.CauseOf(e)}): restore it from a backup, and restart the server.";
        }
    }

    /// <summary>Creates an empty file that only its owner may read and write; <see langword="false"/> if it exists.</summary>
    private static bool CreateOwnerOnly(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        try
        {
            new FileStream(path, options).Dispose();
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    /// <summary>Whether the file <paramref name="connection"/> has open is no longer the one at its path (gone, or another there).</summary>
    private static unsafe bool HasMoved(SqliteConnection connection)
    {
        int moved = 0;
        int result = FileControl(connection.Handle!.DangerousGetHandle(), "main", FileControlHasMoved, &moved);

        // A file system or platform that cannot tell answers SQLITE_NOTFOUND: then nothing is known to be wrong.
        return result == 0 && moved != 0;
    }

    // Not wrapped by SQLitePCLRaw; the same native library its provider loads.
    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_file_control", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int FileControl(IntPtr database, string name, int operation, void* argument);
}
