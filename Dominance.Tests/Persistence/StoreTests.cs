using System.Security.Cryptography;
using System.Text;
using Dominance.Persistence;
using Dominance.Tests.Support;

namespace Dominance.Tests.Persistence;

/// <summary>The store itself, the same suite on both databases: schema, accounts, saves.</summary>
[TestFixture(StoreKind.Sqlite)]
[TestFixture(StoreKind.PostgreSQL)]
public sealed class StoreTests(StoreKind kind)
{
    private TestDatabase _database = null!;
    private IGameStore _store = null!;

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        _database = await TestDatabase.CreateAsync(kind);
        _store = _database.OpenStore();
    }

    [TearDown]
    public async Task DropDatabaseAsync()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task TheSchemaIsCreatedOnceAndItsVersionRecorded()
    {
        Assert.That(await _store.MigrateAsync(), Is.EqualTo(1));
        Assert.That(await _store.MigrateAsync(), Is.EqualTo(1), "migrating again changes nothing");
        Assert.That(await _database.ScalarAsync<int>("SELECT COUNT(*) FROM dominance_schema"), Is.EqualTo(1));
        Assert.That(await _database.ScalarAsync<int>("SELECT MAX(version) FROM dominance_schema"), Is.EqualTo(1));
        Assert.That(await _database.ScalarAsync<int>("SELECT COUNT(*) FROM accounts"), Is.Zero);
        Assert.That(await _database.ScalarAsync<int>("SELECT COUNT(*) FROM world_saves"), Is.Zero);
        if (kind == StoreKind.Sqlite)
        {
            Assert.That(await _database.ScalarAsync<string>("PRAGMA journal_mode"), Is.EqualTo("wal"));
        }
    }

    [Test]
    public async Task ADatabaseFromANewerServerIsRefusedWithAReason()
    {
        await _store.MigrateAsync();
        await _database.ExecuteAsync(kind == StoreKind.Sqlite
            ? "INSERT INTO dominance_schema (version, applied_at) VALUES (7, '2030-01-01')"
            : "INSERT INTO dominance_schema (version, applied_at) VALUES (7, now())");

        StoreException refused = (await Assert.ThrowsAsync<StoreException>(() => _store.MigrateAsync()))!;
        Assert.That(refused.Message, Does.Contain("schema version 7, newer than this server knows (1)").And.Contain(_store.Description));
    }

    [Test]
    public async Task AccountsAreFoundRegardlessOfCaseAndNamesAreUnique()
    {
        await _store.MigrateAsync();
        var created = new DateTimeOffset(2026, 11, 21, 10, 30, 0, TimeSpan.Zero);
        Assert.That(await _store.TryCreateAccountAsync(new AccountRecord("Alice", "pbkdf2-sha256$600000$a$b", true, created, null)), Is.True);
        Assert.That(await _store.TryCreateAccountAsync(new AccountRecord("ALICE", "other", false, created, null)), Is.False, "taken, in any case");
        Assert.That(await _store.TryCreateAccountAsync(new AccountRecord("Bob", "h", false, created, null)), Is.True);

        AccountRecord alice = (await _store.FindAccountAsync("aLiCe"))!;
        Assert.That(alice, Is.EqualTo(new AccountRecord("Alice", "pbkdf2-sha256$600000$a$b", true, created, null)));
        Assert.That(await _store.FindAccountAsync("Carol"), Is.Null);
        Assert.That(await _store.CountAccountsAsync(), Is.EqualTo(2));

        DateTimeOffset login = created.AddHours(2);
        await _store.SetLastLoginAsync("alice", login);
        Assert.That((await _store.FindAccountAsync("Alice"))!.LastLoginAt, Is.EqualTo(login));
        Assert.That((await _store.FindAccountAsync("Bob"))!.LastLoginAt, Is.Null);
    }

    [Test]
    public async Task ASaveReadsBackByteForByteWithItsChecksum()
    {
        await _store.MigrateAsync();
        byte[] state = RandomNumberGenerator.GetBytes(300_000);
        byte[] sha256 = SHA256.HashData(state);
        var at = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

        long id = await _store.WriteSaveAsync(state.AsMemory(), sha256, at, keep: 3);

        SaveInfo info = (await _store.ListSavesAsync()).Single();
        Assert.That(info.Id, Is.EqualTo(id));
        Assert.That(info.CreatedAt, Is.EqualTo(at));
        Assert.That(info.Length, Is.EqualTo(state.Length));
        Assert.That(info.Sha256, Is.EqualTo(sha256));
        Assert.That(info.Problem, Is.Null);
        Assert.That(await _store.ReadSaveAsync(id), Is.EqualTo(state));
        Assert.That(await _store.ReadSaveAsync(id + 1000), Is.Null);
    }

    [Test]
    public async Task OnlyTheNewestSavesAreKeptButDamagedOnesAreNeverDeleted()
    {
        await _store.MigrateAsync();
        var ids = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            ids.Add(await WriteAsync($"state {i}"));
        }

        Assert.That((await _store.ListSavesAsync()).Select(s => s.Id), Is.EqualTo(new[] { ids[4], ids[3], ids[2] }), "newest first, 3 kept");

        await _store.MarkSaveDamagedAsync(ids[3], "SHA-256 mismatch");
        for (int i = 5; i < 9; i++)
        {
            ids.Add(await WriteAsync($"state {i}"));
        }

        IReadOnlyList<SaveInfo> saves = await _store.ListSavesAsync();
        Assert.That(saves.Select(s => s.Id), Is.EqualTo(new[] { ids[8], ids[7], ids[6], ids[3] }), "the damaged save stays, outside the count");
        Assert.That(saves.Single(s => s.Id == ids[3]).Problem, Is.EqualTo("SHA-256 mismatch"));
    }

    private Task<long> WriteAsync(string text)
    {
        byte[] state = Encoding.UTF8.GetBytes(text);
        return _store.WriteSaveAsync(state, SHA256.HashData(state), DateTimeOffset.UtcNow, keep: 3);
    }
}
