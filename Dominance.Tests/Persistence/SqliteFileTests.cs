using System.Data.Common;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Dominance.Persistence;
using Dominance.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Dominance.Tests.Persistence;

/// <summary>The SQLite file itself: who may read it, and which thread waits for it.</summary>
[UnsupportedOSPlatform("windows")]
[NonParallelizable] // counts this process's threads by name, which another fixture's store calls would add to
public sealed class SqliteFileTests
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Test]
    public async Task TheDatabaseAndItsWalAndShmFilesAreCreatedForTheOwnerOnly()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using IGameStore store = database.OpenStore();
        await store.MigrateAsync();
        byte[] state = "{}"u8.ToArray();
        await store.WriteSaveAsync(state, SHA256.HashData(state), DateTimeOffset.UtcNow, keep: 3);

        foreach (string file in new[] { database.SqliteFile, database.SqliteFile + "-wal", database.SqliteFile + "-shm" })
        {
            Assert.That(File.GetUnixFileMode(file), Is.EqualTo(OwnerOnly), $"{file} holds password hashes (or pages of them)");
        }
    }

    [Test]
    public async Task AnExistingDatabaseOthersCanReadIsReported()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        File.Create(database.SqliteFile).Dispose();
        File.SetUnixFileMode(database.SqliteFile, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var log = new LogCapture();
        using var logs = LoggerFactory.Create(b => b.AddProvider(log));

        await using var store = new SqliteGameStore(database.SqliteFile, logs.CreateLogger<SqliteGameStore>());
        await store.MigrateAsync();

        Assert.That(log.Text, Does.Contain($"{database.SqliteFile} can be read by other users of this machine (mode 644)").And.Contain("chmod 600"));
        Assert.That(File.GetUnixFileMode(database.SqliteFile), Is.EqualTo(OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead), "the operator's choice is reported, not overridden");
    }

    [Test]
    public async Task ACallWaitingForTheFileHoldsAThreadOfItsOwnNotOneOfThePools()
    {
        // Microsoft.Data.Sqlite's async calls run synchronously: the thread a call starts on waits for the disk, or here
        // for another writer. A thread-pool thread would be one of those that carry every connection's input.
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using IGameStore store = database.OpenStore();
        await store.MigrateAsync();
        byte[] state = "{}"u8.ToArray();
        Task<long> saving;
        int before = ThreadsNamed(SqlGameStore.ThreadName);

        await using DbConnection other = await database.ConnectAsync();
        await using (DbTransaction writing = await other.BeginTransactionAsync()) // BEGIN IMMEDIATE: the write lock
        {
            saving = store.WriteSaveAsync(state, SHA256.HashData(state), DateTimeOffset.UtcNow, keep: 3);
            await Poll.UntilAsync(() => ThreadsNamed(SqlGameStore.ThreadName) > before, "the waiting call is on the store's own thread");
            Assert.That(saving.IsCompleted, Is.False, "the save waits for the other writer");
        } // rolled back: the lock is free

        Assert.That(await saving, Is.GreaterThan(0), "and is written once the lock is free");
    }

    /// <summary>This process's threads of that name, as the operating system shows them.</summary>
    private static int ThreadsNamed(string name) => Directory.GetDirectories("/proc/self/task").Count(task =>
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name;
        }
        catch (IOException)
        {
            return false; // the thread ended after it was listed
        }
    });
}
