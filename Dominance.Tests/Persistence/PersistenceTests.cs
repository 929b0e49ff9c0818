using System.Buffers;
using System.Data.Common;
using System.Text.RegularExpressions;
using Dominance.Persistence;
using Dominance.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Dominance.Tests.Persistence;

/// <summary>
/// What players expect of persistence, the same suite on both databases: their account and their world are there
/// after a restart, after kill -9 too, and a damaged save never costs them the world.
/// </summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSQL)]
public sealed partial class PersistenceTests(StoreKind kind)
{
    private TestDatabase _database = null!;

    [SetUp]
    public async Task CreateDatabaseAsync() => _database = await TestDatabase.CreateAsync(kind);

    [TearDown]
    public async Task DropDatabaseAsync() => await _database.DisposeAsync();

    [Test]
    public async Task ARestartKeepsAccountsAndTheWorld()
    {
        await using (TestServer first = await StartAsync())
        {
            Assert.That(first.Log.Text, Does.Contain("No world save yet: a new world begins"));
            await using TelnetTestClient alice = await first.CreateAsync("Alice");
            await alice.DoAsync("train 3", "It now holds 8");
        } // a graceful stop saves the world

        await using TestServer second = await StartAsync();
        Assert.That(second.Log.Text, Does.Match(@"Restored the world from save #\d+"));
        await using TelnetTestClient again = await ConnectAsync(second, "Alice");
        Assert.That(await again.Lines.WaitForAsync("Held by you"), Does.StartWith("Held by you with 8 soldiers"));
        Assert.That(await again.DoAsync("train 1", "It now holds"), Does.EndWith("It now holds 9; you have 60 resources left."), "resources were kept");
        Assert.That(await again.DoAsync("save", "Saved"), Does.Match(@"^Saved \(save #\d+, [\d,]+ bytes\)"), "Alice is still the admin");
    }

    [Test]
    public async Task KillNineRightAfterCreateKeepsTheAccount()
    {
        await using (ServerProcess first = await StartProcessAsync())
        {
            await using TelnetTestClient bob = await TelnetTestClient.ConnectAsync(first.Telnet);
            await bob.Lines.WaitForAsync("for everything else.");
            await bob.SendAsync("create Bob secret1");
            await bob.Lines.WaitForAsync("Welcome, Bob.");
            first.Signal(9); // SIGKILL: no shutdown, no save
            Assert.That(await first.ExitCodeAsync(), Is.EqualTo(128 + 9));
        }

        await using ServerProcess second = await StartProcessAsync();
        // The log is written by the console logger's own thread: it may follow the "running" line.
        await Poll.UntilAsync(() => second.Output.Contains("No world save yet", StringComparison.Ordinal), "nothing was saved but the account");
        await using TelnetTestClient again = await TelnetTestClient.ConnectAsync(second.Telnet);
        await again.Lines.WaitForAsync("for everything else.");
        await again.SendAsync("connect Bob secret1");
        Assert.That(await again.Lines.WaitForAsync("Welcome"), Does.StartWith("Welcome, Bob."));
    }

    [Test]
    public async Task KillNineInTheMiddleOfASaveRestoresThePreviousSave()
    {
        long previous;
        await using (ServerProcess first = await StartProcessAsync())
        {
            await using TelnetTestClient alice = await CreateAsync(first, "Alice");
            await alice.DoAsync("train 3", "It now holds 8");
            previous = SaveId(await alice.DoAsync("save", "Saved"));
            await alice.DoAsync("train 2", "It now holds 10");

            // Make the next save's insert take for ever, start it, and kill the server while its transaction is open.
            await _database.ExecuteAsync(kind == StoreKind.Sqlite
                ? """
                  CREATE TABLE slow_rows (x INTEGER);
                  WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000) INSERT INTO slow_rows SELECT x FROM n;
                  CREATE TRIGGER slow_save AFTER INSERT ON world_saves BEGIN SELECT COUNT(*) FROM slow_rows a, slow_rows b, slow_rows c; END;
                  """
                : """
                  CREATE FUNCTION slow_save() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$;
                  CREATE TRIGGER slow_save AFTER INSERT ON world_saves FOR EACH ROW EXECUTE FUNCTION slow_save();
                  """);
            await alice.DoAsync("save", "Saving the world...");
            await Poll.UntilAsync(() => SaveInProgress().GetAwaiter().GetResult(), "the save's transaction is open");
            first.Signal(9);
            await first.ExitCodeAsync();
        }

        await RemoveSlowSaveAsync();
        await using ServerProcess second = await StartProcessAsync();
        await Poll.UntilAsync(() => second.Output.Contains($"Restored the world from save #{previous} ", StringComparison.Ordinal), "the save before the interrupted one was restored");
        Assert.That(await _database.ScalarAsync<long>("SELECT MAX(id) FROM world_saves"), Is.EqualTo(previous), "the interrupted save left nothing");
        await using TelnetTestClient again = await ConnectAsync(second, "Alice");
        Assert.That(await again.Lines.WaitForAsync("Held by you"), Does.StartWith("Held by you with 8 soldiers"));
    }

    [Test]
    public async Task ACorruptedNewestSaveFallsBackToTheOneBeforeAndIsKept()
    {
        long older;
        await using (TestServer first = await StartAsync())
        {
            await using TelnetTestClient alice = await first.CreateAsync("Alice");
            await alice.DoAsync("train 3", "It now holds 8");
            older = SaveId(await alice.DoAsync("save", "Saved"));
            await alice.DoAsync("train 2", "It now holds 10");
        } // the final save holds 10 soldiers

        long newest = await _database.ScalarAsync<long>("SELECT MAX(id) FROM world_saves");
        Assert.That(newest, Is.GreaterThan(older));
        await FlipAByteAsync(newest);

        await using TestServer second = await StartAsync();
        Assert.That(second.Log.Text, Does.Contain($"World save #{newest} of ").And.Contain("is damaged (SHA-256 mismatch"));
        Assert.That(second.Log.Text, Does.Contain($"Restored the world from save #{older} "));
        await using TelnetTestClient again = await ConnectAsync(second, "Alice");
        Assert.That(await again.Lines.WaitForAsync("Held by you"), Does.StartWith("Held by you with 8 soldiers"));

        await using IGameStore store = _database.OpenStore();
        SaveInfo damaged = (await store.ListSavesAsync()).Single(s => s.Id == newest);
        Assert.That(damaged.Problem, Does.StartWith("SHA-256 mismatch"), "reported, marked, and kept for someone to look at");
    }

    [Test]
    public async Task AnIntactSaveTheGameCannotLoadStopsTheStartInsteadOfStartingANewWorld()
    {
        await using (IGameStore store = _database.OpenStore())
        {
            await store.MigrateAsync();
            byte[] state = "{\"Tick\": \"not a number\"}"u8.ToArray();
            await store.WriteSaveAsync(state, System.Security.Cryptography.SHA256.HashData(state), DateTimeOffset.UtcNow, keep: 3);
        }

        var refused = await Assert.ThrowsAsync<Dominance.Reload.GameLoadException>(async () => await StartAsync());
        Assert.That(refused!.Message, Does.StartWith("The game failed to start from world save #1 of ").And.Contain("The save is kept."));
        Assert.That(await _database.ScalarAsync<int>("SELECT COUNT(*) FROM world_saves"), Is.EqualTo(1));
    }

    [Test]
    public async Task ASaveTheGameCannotFullyReadStopsTheStartNamingTheMembersUntilTheSettingAllowsTheLoss()
    {
        // Binary state (version 1: members by name) whose root holds a member the built-in game does not have.
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write<byte>([0xC1, (byte)'D', (byte)'S', 1]);
        var writer = new MessagePack.MessagePackWriter(buffer);
        writer.WriteMapHeader(1);
        writer.Write("Vanished");
        writer.Write(42);
        writer.Flush();
        await using (IGameStore store = _database.OpenStore())
        {
            await store.MigrateAsync();
            byte[] state = buffer.WrittenSpan.ToArray();
            await store.WriteSaveAsync(state, System.Security.Cryptography.SHA256.HashData(state), DateTimeOffset.UtcNow, keep: 3);
        }

        await using (ServerProcess refused = ServerProcess.Start([.. _database.Arguments, "--Persistence:SaveInterval=0"]))
        {
            Assert.That(await refused.ExitCodeAsync(), Is.Not.Zero);
            Assert.That(refused.Output, Does.Contain("The game code cannot keep all of world save #1 of ")
                .And.Contain(".Vanished: 1 value(s), and the new code has no such member")
                .And.Contain("--Persistence:DropUnreadableState=true"));
        }

        Assert.That(await _database.ScalarAsync<int>("SELECT COUNT(*) FROM world_saves"), Is.EqualTo(1), "the save is kept");
        await using TestServer forced = await GameServer.StartAsync(s =>
        {
            _database.Configure(s);
            s.Persistence.SaveInterval = TimeSpan.Zero;
            s.Persistence.DropUnreadableState = true;
        });
        Assert.That(forced.Log.Text, Does.Contain("The game code does not keep all of save #1").And.Contain(".Vanished: 1 value(s)"));
    }

    private Task<TestServer> StartAsync() => GameServer.StartAsync(s =>
    {
        _database.Configure(s);
        s.Persistence.SaveInterval = TimeSpan.Zero; // saves happen when the test says
    });

    private async Task<ServerProcess> StartProcessAsync()
    {
        ServerProcess server = ServerProcess.Start([.. _database.Arguments, "--Persistence:SaveInterval=0", "--Game:Seed=7", "--Game:TickSeconds=3600"]);
        await server.WaitUntilRunningAsync();
        return server;
    }

    private static async Task<TelnetTestClient> CreateAsync(ServerProcess server, string name)
    {
        TelnetTestClient client = await TelnetTestClient.ConnectAsync(server.Telnet);
        await client.Lines.WaitForAsync("for everything else.");
        await client.SendAsync($"create {name} {GameServer.Password}");
        await client.Lines.WaitForAsync($"Welcome, {name}.");
        return client;
    }

    private static async Task<TelnetTestClient> ConnectAsync(ServerProcess server, string name)
    {
        TelnetTestClient client = await TelnetTestClient.ConnectAsync(server.Telnet);
        await LogInAsync(client, name);
        return client;
    }

    private static async Task<TelnetTestClient> ConnectAsync(TestServer server, string name)
    {
        TelnetTestClient client = await server.TelnetAsync();
        await LogInAsync(client, name);
        return client;
    }

    private static async Task LogInAsync(TelnetTestClient client, string name)
    {
        await client.Lines.WaitForAsync("for everything else.");
        await client.SendAsync($"connect {name} {GameServer.Password}");
        await client.Lines.WaitForAsync($"Welcome, {name}.");
    }

    private static long SaveId(string saved) => long.Parse(SavedLine().Match(saved).Groups[1].Value);

    /// <summary>Whether a save's transaction is open in the database right now.</summary>
    private async Task<bool> SaveInProgress()
    {
        if (kind == StoreKind.PostgreSQL)
        {
            return await _database.ScalarAsync<long>(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'INSERT INTO world_saves%'") > 0;
        }

        // SQLite has one writer at a time: if this connection cannot start writing, the save holds the lock.
        await using DbConnection connection = await _database.ConnectAsync();
        try
        {
            await using DbTransaction writing = await connection.BeginTransactionAsync(); // BEGIN IMMEDIATE; gives up after a second
            return false;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 5) // SQLITE_BUSY
        {
            return true;
        }
    }

    private async Task RemoveSlowSaveAsync()
    {
        if (kind == StoreKind.PostgreSQL)
        {
            // PostgreSQL notices a dead client only when it next talks to it; end its session now, as it would be ended.
            await _database.ExecuteAsync(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'INSERT INTO world_saves%' AND pid <> pg_backend_pid()");
            await Poll.UntilAsync(() => !SaveInProgress().GetAwaiter().GetResult(), "PostgreSQL ended the dead client's transaction");
            await _database.ExecuteAsync("DROP TRIGGER slow_save ON world_saves; DROP FUNCTION slow_save();");
        }
        else
        {
            await _database.ExecuteAsync("DROP TRIGGER slow_save; DROP TABLE slow_rows;");
        }
    }

    private async Task FlipAByteAsync(long id)
    {
        await using DbConnection connection = await _database.ConnectAsync();
        byte[] data;
        await using (DbCommand read = connection.CreateCommand())
        {
            read.CommandText = $"SELECT data FROM world_saves WHERE id = {id}";
            data = (byte[])(await read.ExecuteScalarAsync())!;
        }

        data[data.Length / 2] ^= 0x20; // same length, different bytes: only the checksum can tell
        await using DbCommand write = connection.CreateCommand();
        write.CommandText = $"UPDATE world_saves SET data = @data WHERE id = {id}";
        DbParameter parameter = write.CreateParameter();
        parameter.ParameterName = "data";
        parameter.Value = data;
        write.Parameters.Add(parameter);
        Assert.That(await write.ExecuteNonQueryAsync(), Is.EqualTo(1));
    }

    [GeneratedRegex(@"save #(\d+)")]
    private static partial Regex SavedLine();
}
