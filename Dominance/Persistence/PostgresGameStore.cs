using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace Dominance.Persistence;

/// <summary>The production store: PostgreSQL, chosen by a connection string in settings (<c>Persistence:PostgreSQL</c>).</summary>
internal sealed class PostgresGameStore : SqlGameStore
{
    /// <summary>An arbitrary key for <c>pg_advisory_xact_lock</c>: servers sharing a database migrate one at a time.</summary>
    private const long MigrationLock = 0x446F6D696E616E; // "Dominan"

    private static readonly string[] s_migrations =
    [
        """
        CREATE TABLE accounts (
            name_key      text PRIMARY KEY,
            name          text NOT NULL,
            password_hash text NOT NULL,
            is_admin      boolean NOT NULL,
            created_at    timestamptz NOT NULL,
            last_login_at timestamptz);
        CREATE TABLE world_saves (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            created_at timestamptz NOT NULL,
            length     bigint NOT NULL,
            sha256     bytea NOT NULL,
            data       bytea NOT NULL,
            problem    text);
        """,
    ];

    private readonly NpgsqlDataSource _dataSource;

    public PostgresGameStore(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Description = $"PostgreSQL {builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}"; // never the password
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public override string Description { get; }

    protected override IReadOnlyList<string> Migrations => s_migrations;

    protected override string CreateSchemaTable =>
        "CREATE TABLE IF NOT EXISTS dominance_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)";

    protected override async Task<DbConnection> OpenAsync() => await _dataSource.OpenConnectionAsync().ConfigureAwait(false);

    protected override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction) =>
        ScalarAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", ("key", MigrationLock));

    // timestamptz takes UTC only.
    protected override object Timestamp(DateTimeOffset at) => at.ToUniversalTime();

    protected override async Task<long> InsertSaveAsync(
        DbConnection connection, DbTransaction transaction, ReadOnlyMemory<byte> state, byte[] sha256, DateTimeOffset at)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO world_saves (created_at, length, sha256, data) VALUES (@at, @length, @sha256, @data) RETURNING id",
            (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        command.Parameters.AddWithValue("at", at.ToUniversalTime());
        command.Parameters.AddWithValue("length", (long)state.Length);
        command.Parameters.AddWithValue("sha256", sha256);
        command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("data", NpgsqlDbType.Bytea) { TypedValue = state });
        return (long)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
