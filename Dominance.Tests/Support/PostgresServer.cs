using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Dominance.Tests.Support;

/// <summary>
/// A real PostgreSQL server for the tests: a private cluster made with Debian's binaries (<c>.ci/run</c> installs the
/// <c>postgresql</c> package) in a temporary folder, listening on 127.0.0.1 on a free port. One is started for the
/// whole test run and stopped at its end (<see cref="TestRun"/>); each test makes a database of its own in it.
/// </summary>
internal sealed class PostgresServer
{
    private static readonly Lock s_lock = new();
    private static Task<PostgresServer>? s_shared;

    private readonly string _bin;
    private readonly string _data;
    private int _databases;

    private PostgresServer(string bin, string data)
    {
        _bin = bin;
        _data = data;
    }

    /// <summary>The port it listens on, 127.0.0.1 only.</summary>
    public int Port { get; private set; }

    /// <summary>The server of this test run, started on first use. Skips the test if PostgreSQL is not installed.</summary>
    public static Task<PostgresServer> SharedAsync()
    {
        string? bin = FindBinaries();
        if (bin is null)
        {
            Prerequisite.Missing("PostgreSQL is not installed (apt-get install postgresql): no /usr/lib/postgresql/*/bin/initdb.");
        }

        lock (s_lock)
        {
            return s_shared ??= StartNewAsync(bin!);
        }
    }

    /// <summary>Stops the test run's server, if one was started, and deletes its files.</summary>
    public static async Task StopSharedAsync()
    {
        Task<PostgresServer>? shared;
        lock (s_lock)
        {
            shared = s_shared;
            s_shared = null;
        }

        if (shared is { IsCompletedSuccessfully: true })
        {
            PostgresServer server = await shared;
            await server.StopAsync();
            Directory.Delete(server._data, recursive: true);
        }
    }

    /// <summary>A connection string for <paramref name="database"/>, as the superuser (trust authentication on loopback).</summary>
    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=5";

    /// <summary>Creates an empty database and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        string name = $"dominance_test_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    /// <summary>Drops a database, closing whatever is still connected to it.</summary>
    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Stops the server (fast shutdown: open connections are closed), as an outage would.</summary>
    public Task StopAsync() => ChildProcess.RunCheckedAsync(PgCtl("-m", "fast", "-w", "stop"));

    /// <summary>Starts the server again after <see cref="StopAsync"/>, on the same port.</summary>
    public async Task StartAsync()
    {
        (int exit, string output) = await TryStartAsync();
        if (exit != 0)
        {
            throw new InvalidOperationException($"PostgreSQL did not start again on port {Port} ({exit}):\n{output}\n{ServerLog()}");
        }
    }

    private Task<(int ExitCode, string Output)> TryStartAsync() => ChildProcess.RunAsync(PgCtl(
        "-w", "-t", "60", "-l", Path.Combine(_data, "server.log"),
        // fsync=off: these tests kill clients, never the machine, and disk flushes only slow them down.
        "-o", $"-p {Port} -k {_data} -c listen_addresses=127.0.0.1 -c fsync=off",
        "start"));

    private static async Task<PostgresServer> StartNewAsync(string bin)
    {
        string data = Directory.CreateTempSubdirectory("dominance-pg-").FullName;
        if (IsRoot)
        {
            // PostgreSQL refuses to run as root: the cluster belongs to the postgres user the package created.
            await ChildProcess.RunCheckedAsync("chown", "postgres:postgres", data);
        }

        var server = new PostgresServer(bin, data);
        await ChildProcess.RunCheckedAsync(server.AsOwner(Path.Combine(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"));

        // A free port can be taken by another process between the moment it is found free and PostgreSQL binding it:
        // then the start fails with a bind error, and the next free port is tried.
        for (int attempt = 1; ; attempt++)
        {
            server.Port = FreePort();
            (int exit, string output) = await server.TryStartAsync();
            if (exit == 0)
            {
                return server;
            }

            string log = server.ServerLog();
            if (attempt == 5 || !log.Contains("could not bind", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"PostgreSQL did not start ({exit}):\n{output}\n{log}");
            }
        }
    }

    private string ServerLog()
    {
        string path = Path.Combine(_data, "server.log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    private string[] PgCtl(params string[] args) => AsOwner([Path.Combine(_bin, "pg_ctl"), "-D", _data, .. args]);

    private string[] AsOwner(params string[] command) => IsRoot ? ["runuser", "-u", "postgres", "--", .. command] : command;

    private static bool IsRoot => Environment.UserName == "root";

    private static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out int version) ? version : 0)
                .Select(d => Path.Combine(d, "bin"))
                .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
