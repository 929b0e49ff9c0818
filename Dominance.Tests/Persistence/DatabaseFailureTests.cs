using Dominance.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Dominance.Tests.Persistence;

/// <summary>
/// A database that fails under a running game: PostgreSQL going down, and SQLite on a disk that fills up. Each time
/// the game goes on, players get a plain answer, admins are told, and the save is stored once the database is back.
/// </summary>
[NonParallelizable] // stops the test run's PostgreSQL server, which other fixtures use
public sealed class DatabaseFailureTests
{
    [Test]
    public async Task WhenPostgreSQLGoesDownTheGameGoesOnAndTheSaveSucceedsWhenItIsBack()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.PostgreSQL);
        await using TestServer server = await StartAsync(database);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");

        await database.Postgres!.StopAsync();
        try
        {
            await ExpectFailuresAsync(server, alice);
        }
        finally
        {
            await database.Postgres.StartAsync();
        }

        await ExpectRecoveryAsync(server, alice, database);
    }

    [Test]
    public async Task WhenTheDiskIsFullTheGameGoesOnAndTheSaveSucceedsOnceThereIsRoom()
    {
        await using TinyDisk disk = await TinyDisk.MountAsync();
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using TestServer server = await StartAsync(database, Path.Combine(disk.Path, "dominance.db"));
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.DoAsync("save", "Saved (save #1");

        disk.Fill();
        await ExpectFailuresAsync(server, alice);
        Assert.That(server.Log.Text, Does.Contain("World save failed (1 in a row): SQLite Error 13: 'database or disk is full'"), "the log names the cause");
        Assert.That(server.Log.Text, Does.Not.Contain("cannot rollback"), "the failed rollback after it does not hide the cause");

        disk.Free();
        await ExpectRecoveryAsync(server, alice, database: null);
    }

    [Test]
    public async Task AShortReadOnlySpellEndsByItselfOnceTheFilesAreWritableAgain()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using TestServer server = await StartAsync(database);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.DoAsync("save", "Saved (save #1");

        await using (await ReadOnlySpell.BeginAsync(Path.GetDirectoryName(database.SqliteFile)!))
        {
            // Idle pooled connections are closed now and then (Microsoft.Data.Sqlite prunes them every few minutes):
            // the next calls open new connections while the files are read-only, and SQLite opens those read-only.
            SqliteConnection.ClearAllPools();
            await alice.SendAsync("save");
            Assert.That(await alice.Lines.WaitForAsync("The save failed"), Does.Contain("attempt to write a readonly database"));
            await using TelnetTestClient bob = await server.TelnetAsync();
            await bob.Lines.WaitForAsync("for everything else.");
            await bob.SendAsync("create Bob secret1");
            Assert.That(await bob.Lines.WaitForAsync("could not store"), Does.StartWith("The server could not store your account right now"));
        }

        // Writable again: the retried save and every later write work, with no restart.
        Assert.That(await alice.Lines.WaitForAsync("[save] The world is saved again", TimeSpan.FromSeconds(30)), Does.StartWith("[save] The world is saved again (save #"));
        await using TelnetTestClient carol = await server.CreateAsync("Carol");
        Assert.That(await alice.DoAsync("save", "Saved"), Does.StartWith("Saved (save #"));
        Assert.That(await database.ScalarAsync<long>("SELECT COUNT(*) FROM accounts"), Is.EqualTo(2), "Alice and Carol are stored");
    }

    [Test]
    public async Task ADatabaseDeletedUnderTheServerIsReportedAndNothingIsClaimedSaved()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using TestServer server = await StartAsync(database);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.DoAsync("save", "Saved (save #1");

        await database.DestroyAsync(); // rm dominance.db*

        // A new account is not claimed stored.
        await using TelnetTestClient dave = await server.TelnetAsync();
        await dave.Lines.WaitForAsync("for everything else.");
        await dave.SendAsync("create Dave secret1");
        Assert.That(await dave.Lines.WaitForAsync("could not store"), Does.StartWith("The server could not store your account right now"));

        // The operator and the admins hear it loudly, with what to do: everything the file held is copied beside it.
        string alarm = await alice.Lines.WaitForAsync("[database]");
        Assert.That(alarm, Does.Contain($"SQLite {database.SqliteFile} was deleted or replaced while the server ran. Nothing more is stored"));
        string copy = Directory.GetFiles(Path.GetDirectoryName(database.SqliteFile)!, "dominance.db.rescued-*").Single();
        Assert.That(alarm, Does.Contain($"copied to {copy}: stop the server, move that copy to {database.SqliteFile}, and start it again."));
        await using (var rescued = new SqliteConnection($"Data Source={copy};Mode=ReadOnly;Pooling=False"))
        {
            await rescued.OpenAsync();
            await using SqliteCommand names = rescued.CreateCommand();
            names.CommandText = "SELECT group_concat(name) FROM accounts";
            Assert.That(await names.ExecuteScalarAsync(), Is.EqualTo("Alice"), "the copy holds the accounts");
        }

        // The save is not claimed made either, and the alarm was raised once.
        await alice.SendAsync("save");
        Assert.That(await alice.Lines.WaitForAsync("The save failed"), Does.Contain("was deleted or replaced while the server ran: nothing is stored while it is not there."));
        Assert.That(server.Log.Lines.Count(l => l.StartsWith("Critical") && l.Contains("was deleted or replaced while the server ran. Nothing")), Is.EqualTo(1), server.Log.Text);
        Assert.That(File.Exists(database.SqliteFile), Is.False, "no empty database was made in its place");
    }

    private static Task<TestServer> StartAsync(TestDatabase database, string? sqliteFile = null) => GameServer.StartAsync(s =>
    {
        database.Configure(s);
        if (sqliteFile is not null)
        {
            s.Persistence.SqliteFile = sqliteFile;
        }

        s.Persistence.SaveInterval = TimeSpan.Zero;
        s.Persistence.RetryDelay = TimeSpan.FromMilliseconds(100);
        s.Persistence.ShutdownSaveTimeout = TimeSpan.FromSeconds(2); // where the database stays lost, the final save fails
    });

    private static async Task ExpectFailuresAsync(TestServer server, TelnetTestClient alice)
    {
        // The admin's save fails with the reason, and every admin hears that it is being retried.
        await alice.SendAsync("save");
        Assert.That(await alice.Lines.WaitForAsync("The save failed"), Does.EndWith("The server keeps retrying and tells admins when it works again."));
        Assert.That(await alice.Lines.WaitForAsync("[save] The world could not be saved"), Does.Contain("The game goes on; retrying in"));
        Assert.That(server.Log.Text, Does.Contain("World save failed (1 in a row)"));

        // The game goes on.
        Assert.That(await alice.DoAsync("look", "Held by you"), Does.StartWith("Held by you with 5 soldiers"));
        Assert.That(await alice.DoAsync("train 2", "It now holds"), Does.Contain("It now holds 7"));

        // A new account cannot be stored: the player is told so, plainly.
        await using TelnetTestClient bob = await server.TelnetAsync();
        await bob.Lines.WaitForAsync("for everything else.");
        await bob.SendAsync("create Bob secret1");
        Assert.That(
            await bob.Lines.WaitForAsync("could not store"),
            Is.EqualTo("The server could not store your account right now: its database is not available. Try again in a moment."));
    }

    private static async Task ExpectRecoveryAsync(TestServer server, TelnetTestClient alice, TestDatabase? database)
    {
        string recovered = await alice.Lines.WaitForAsync("[save] The world is saved again", TimeSpan.FromSeconds(30));
        Assert.That(recovered, Does.Match(@"^\[save\] The world is saved again \(save #\d+\), after \d+ failed attempts?\.$"));
        Assert.That(server.Log.Text, Does.Contain("World saves work again after"));
        if (database is not null)
        {
            Assert.That(await database.ScalarAsync<long>("SELECT COUNT(*) FROM world_saves"), Is.EqualTo(1));
        }

        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        Assert.That(await alice.DoAsync("save", "Saved"), Does.StartWith("Saved (save #"));
    }
}
