using System.Data.Common;
using Dominance.Hosting;
using Dominance.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Dominance.Tests.Support;

/// <summary>The two databases a server can keep its accounts and saves in.</summary>
public enum StoreKind
{
    Sqlite,
    PostgreSQL,
}

/// <summary>
/// A database of a test's own, that outlives any one server started on it: a SQLite file in a temporary folder, or a
/// fresh database in the test run's PostgreSQL server. Deleted (dropped) when the test ends.
/// </summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? _folder;
    private readonly string? _database;

    private TestDatabase(StoreKind kind, string? folder, PostgresServer? postgres, string? database)
    {
        Kind = kind;
        _folder = folder;
        Postgres = postgres;
        _database = database;
    }

    public StoreKind Kind { get; }

    /// <summary>The PostgreSQL server, for <see cref="StoreKind.PostgreSQL"/>.</summary>
    public PostgresServer? Postgres { get; }

    /// <summary>The SQLite file, for <see cref="StoreKind.Sqlite"/>.</summary>
    public string SqliteFile => Path.Combine(_folder!, "dominance.db");

    public string PostgresConnectionString => Postgres!.ConnectionString(_database!);

    public static async Task<TestDatabase> CreateAsync(StoreKind kind)
    {
        if (kind == StoreKind.Sqlite)
        {
            return new TestDatabase(kind, Directory.CreateTempSubdirectory("dominance-db-").FullName, null, null);
        }

        PostgresServer server = await PostgresServer.SharedAsync();
        return new TestDatabase(kind, null, server, await server.CreateDatabaseAsync());
    }

    /// <summary>Points a server's settings at this database.</summary>
    public void Configure(DominanceSettings settings)
    {
        if (Kind == StoreKind.Sqlite)
        {
            settings.Persistence.SqliteFile = SqliteFile;
        }
        else
        {
            settings.Persistence.PostgreSQL = PostgresConnectionString;
        }
    }

    /// <summary>The same, as command-line arguments for a server process.</summary>
    public string[] Arguments => Kind == StoreKind.Sqlite
        ? [$"--Persistence:SqliteFile={SqliteFile}"]
        : [$"--Persistence:PostgreSQL={PostgresConnectionString}"];

    /// <summary>A store on this database, as the server opens it.</summary>
    public IGameStore OpenStore() => Kind == StoreKind.Sqlite ? new SqliteGameStore(SqliteFile) : new PostgresGameStore(PostgresConnectionString);

    /// <summary>
    /// A plain connection, for a test to look at or tamper with the tables itself. SQLite statements on it wait at most a
    /// second for another writer's lock (Microsoft.Data.Sqlite's default is 30).
    /// </summary>
    public async Task<DbConnection> ConnectAsync()
    {
        DbConnection connection = Kind == StoreKind.Sqlite
            ? new SqliteConnection($"Data Source={SqliteFile};Pooling=False;Default Timeout=1")
            : new NpgsqlConnection(PostgresConnectionString + ";Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    public async Task<int> ExecuteAsync(string sql)
    {
        await using DbConnection connection = await ConnectAsync();
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using DbConnection connection = await ConnectAsync();
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T));
    }

    /// <summary>
    /// Takes the database away from under whatever uses it: the SQLite file and its <c>-wal</c> and <c>-shm</c> are
    /// deleted (<c>rm dominance.db*</c>); the PostgreSQL database is dropped, its connections closed.
    /// </summary>
    public async Task DestroyAsync()
    {
        if (_folder is not null)
        {
            foreach (string file in Directory.GetFiles(_folder, Path.GetFileName(SqliteFile) + "*"))
            {
                File.Delete(file);
            }
        }
        else
        {
            await Postgres!.DropDatabaseAsync(_database!);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_folder is not null)
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_folder, recursive: true);
        }
        else
        {
            await Postgres!.DropDatabaseAsync(_database!);
        }
    }
}
