using Dominance.Api;
using Dominance.Persistence;
using Dominance.Tests.Support;

namespace Dominance.Tests.Persistence;

/// <summary>How saves are taken: off the game thread, periodically, and a database that is missing at start.</summary>
public sealed class WorldSaveTests
{
    [Test]
    public async Task TheGameThreadOnlyExportsTheDatabaseWritesOnAnotherThreadWhileTheGameGoesOn()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using var store = new GatedStore(database.OpenStore());
        await using TestServer server = await GameServer.StartAsync(s => s.Persistence.SaveInterval = TimeSpan.Zero, clock: null, store);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");

        await alice.DoAsync("save", "Saving the world...");
        int writer = await store.Entered.Task.WaitAsync(Poll.Deadline);

        // The database write has begun, and is held there. The game thread is not waiting for it.
        Assert.That(writer, Is.Not.EqualTo(server.Server.Core.GameThreadId), "the write runs on another thread");
        Assert.That(store.SynchronizationContextAtWrite, Is.Null, "and not as a continuation posted to the game thread");
        Assert.That(await alice.DoAsync("look", "Held by you"), Does.StartWith("Held by you with 5 soldiers"), "the game answers meanwhile");
        Assert.That(await alice.DoAsync("train 1", "It now holds"), Does.Contain("It now holds 6"));

        store.Release();
        Assert.That(await alice.Lines.WaitForAsync("Saved"), Does.Match(@"^Saved \(save #1, [\d,]+ bytes\): the game paused [\d.]+ ms, the database took \d+ ms\.$"));
    }

    /// <summary>
    /// Saves stopped for good (a core that yielded to a newer one, <see cref="WorldSaves.StopWritingAsync"/>): the stop
    /// waits for the save under way, and after it nothing is written; a save asked for is refused with the reason.
    /// </summary>
    [Test]
    public async Task SavesStoppedForGoodWaitForTheSaveUnderWayAndWriteNothingAfter()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using var store = new GatedStore(database.OpenStore());
        await using TestServer server = await GameServer.StartAsync(s => s.Persistence.SaveInterval = TimeSpan.Zero, clock: null, store);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.DoAsync("save", "Saving the world...");
        await store.Entered.Task.WaitAsync(Poll.Deadline);

        Task stopped = server.Server.Saves.StopWritingAsync("a newer core has taken over");
        Assert.That(stopped.IsCompleted, Is.False, "the save under way is held at the store's gate: the stop waits for it");
        store.Release();
        await stopped.WaitAsync(Poll.Deadline);
        await alice.Lines.WaitForAsync("Saved (save #1");

        SaveResult refused = await server.Server.Saves.SaveAsync();
        Assert.That(refused.Succeeded, Is.False);
        Assert.That(refused.Error, Is.EqualTo("a newer core has taken over"));
        Assert.That(await store.ListSavesAsync(), Has.Count.EqualTo(1), "nothing written after the stop");
    }

    [Test]
    public async Task TheWorldIsSavedPeriodicallyAndOnlyTheNewestSavesAreKept()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using TestServer server = await GameServer.StartAsync(s =>
        {
            database.Configure(s);
            s.Persistence.SaveInterval = TimeSpan.FromMilliseconds(100);
            s.Persistence.KeepSaves = 2;
        });

        await Poll.UntilAsync(() => server.Log.Lines.Count(l => l.Contains("World saved: save #")) >= 4, "four periodic saves");
        await using IGameStore store = database.OpenStore();
        IReadOnlyList<SaveInfo> saves = await store.ListSavesAsync();
        Assert.That(saves, Has.Count.EqualTo(2), "KeepSaves");
        Assert.That(saves[0].Id, Is.GreaterThanOrEqualTo(4));
    }

    [Test]
    public async Task OnlyAdminsMaySave()
    {
        await using TestServer server = await GameServer.StartAsync(s => s.Persistence.SaveInterval = TimeSpan.Zero);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        Assert.That(await bob.DoAsync("save", "admin"), Does.Contain("admin"));
        Assert.That(server.Log.Text, Does.Not.Contain("World saved"));
    }

    [Test]
    public async Task AServerWhoseDatabaseIsUnreachableRefusesToStartAndSaysWhy()
    {
        await using ServerProcess server = ServerProcess.Start(["--Persistence:PostgreSQL=Host=127.0.0.1;Port=1;Username=dominance;Database=dominance;Timeout=2"]);

        Assert.That(await server.ExitCodeAsync(), Is.EqualTo(1), server.Output);
        Assert.That(server.Output, Does.Contain("dominance: cannot use the database (PostgreSQL dominance@127.0.0.1:1/dominance): Failed to connect"));
        Assert.That(server.Output, Does.Not.Contain("   at "), "a message, not a stack trace");
    }

    /// <summary>The real store, with its save writes held at a gate the test opens.</summary>
    private sealed class GatedStore(IGameStore inner) : IGameStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes with the managed thread id that entered <see cref="WriteSaveAsync"/>.</summary>
        public TaskCompletionSource<int> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SynchronizationContext? SynchronizationContextAtWrite { get; private set; }

        public string Description => inner.Description;

        public event Action<string>? Alarm
        {
            add => inner.Alarm += value;
            remove => inner.Alarm -= value;
        }

        public void Release() => _gate.TrySetResult();

        public async Task<long> WriteSaveAsync(ReadOnlyMemory<byte> state, byte[] sha256, DateTimeOffset at, int keep)
        {
            SynchronizationContextAtWrite = SynchronizationContext.Current;
            Entered.TrySetResult(Environment.CurrentManagedThreadId);
            await _gate.Task;
            return await inner.WriteSaveAsync(state, sha256, at, keep);
        }

        public Task<int> MigrateAsync() => inner.MigrateAsync();

        public Task<int> CountAccountsAsync() => inner.CountAccountsAsync();

        public Task<AccountRecord?> FindAccountAsync(string name) => inner.FindAccountAsync(name);

        public Task<bool> TryCreateAccountAsync(AccountRecord account) => inner.TryCreateAccountAsync(account);

        public Task SetLastLoginAsync(string name, DateTimeOffset at) => inner.SetLastLoginAsync(name, at);

        public Task<IReadOnlyList<SaveInfo>> ListSavesAsync() => inner.ListSavesAsync();

        public Task<byte[]?> ReadSaveAsync(long id) => inner.ReadSaveAsync(id);

        public Task MarkSaveDamagedAsync(long id, string problem) => inner.MarkSaveDamagedAsync(id, problem);

        public ValueTask DisposeAsync()
        {
            Release();
            return inner.DisposeAsync();
        }
    }
}
