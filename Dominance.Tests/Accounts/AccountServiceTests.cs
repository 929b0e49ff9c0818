using System.Net;
using Dominance.Accounts;
using Dominance.Api;
using Dominance.Hosting;
using Dominance.Persistence;
using Dominance.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dominance.Tests.Accounts;

/// <summary>The account service and its password hashing, without a server (over a real SQLite file).</summary>
public sealed class AccountServiceTests
{
    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("dominance-accounts-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void HashesArePbkdf2Sha256WithASaltPerHashAnd600000Iterations()
    {
        string first = PasswordHasher.Hash("correct horse");
        string second = PasswordHasher.Hash("correct horse");
        string[] parts = first.Split('$');
        Assert.That(parts[0], Is.EqualTo("pbkdf2-sha256"));
        Assert.That(int.Parse(parts[1]), Is.GreaterThanOrEqualTo(600_000));
        Assert.That(Convert.FromBase64String(parts[2]), Has.Length.EqualTo(16));
        Assert.That(Convert.FromBase64String(parts[3]), Has.Length.EqualTo(32));
        Assert.That(second, Is.Not.EqualTo(first), "a fresh salt every time");
        Assert.That(PasswordHasher.Verify("correct horse", first), Is.True);
        Assert.That(PasswordHasher.Verify("correct horsf", first), Is.False);
        Assert.That(PasswordHasher.Verify("correct horse", "md5$1$abc$def"), Is.False, "unknown schemes never match");
    }

    [Test]
    public async Task HashingNeverRunsOnTheCallersThread()
    {
        await using var store = new SqliteGameStore(Path.Combine(_folder, "accounts.db"));
        await store.MigrateAsync();
        using AccountService service = Service(store);

        // If the 600,000 iterations ran on the calling thread, the task would be finished when the call returns.
        Task<AccountResult> creating = service.CreateAsync("Alice", "secret1", IPAddress.Loopback);
        Assert.That(creating.IsCompleted, Is.False);
        Assert.That((await creating).Succeeded, Is.True);

        Task<AccountResult> logging = service.LoginAsync("Alice", "secret1", IPAddress.Loopback);
        Assert.That(logging.IsCompleted, Is.False);
        Assert.That((await logging).Account!.LastLoginAt, Is.Not.Null);

        AccountRecord stored = (await store.FindAccountAsync("alice"))!;
        Assert.That(stored.PasswordHash, Does.Not.Contain("secret1"));
        Assert.That(stored.LastLoginAt, Is.Not.Null, "the login was recorded");
    }

    [Test]
    public async Task TheThrottleCountsFailuresPerAddressAndASuccessForgivesThoseAgainstItsAccount()
    {
        var clock = new ManualClock();
        await using var store = new SqliteGameStore(Path.Combine(_folder, "accounts.db"));
        await store.MigrateAsync();
        using AccountService service = Service(store, clock, limit: 2);
        await service.CreateAsync("Alice", "secret1", IPAddress.Loopback);
        IPAddress mallory = IPAddress.Parse("203.0.113.9");
        IPAddress alice = IPAddress.Parse("198.51.100.7");

        Assert.That((await service.LoginAsync("Alice", "x1", mallory)).Error, Is.EqualTo("Wrong name or password."));
        Assert.That((await service.LoginAsync("Alice", "x2", mallory)).Error, Is.EqualTo("Wrong name or password."));
        Assert.That((await service.LoginAsync("Alice", "secret1", mallory)).Error, Does.StartWith("Too many failed logins"));
        Assert.That((await service.LoginAsync("Alice", "secret1", alice)).Succeeded, Is.True, "other addresses are not affected");

        Assert.That((await service.LoginAsync("Alice", "x3", alice)).Succeeded, Is.False);
        Assert.That((await service.LoginAsync("Alice", "secret1", alice)).Succeeded, Is.True);
        Assert.That((await service.LoginAsync("Alice", "x4", alice)).Succeeded, Is.False);
        Assert.That((await service.LoginAsync("Alice", "secret1", alice)).Succeeded, Is.True, "the earlier success cleared the count");

        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.That((await service.LoginAsync("Alice", "secret1", mallory)).Succeeded, Is.True, "the window passed");
    }

    [Test]
    public async Task ASuccessForgivesOnlyTheFailuresAgainstItsOwnAccount()
    {
        await using var store = new SqliteGameStore(Path.Combine(_folder, "accounts.db"));
        await store.MigrateAsync();
        using AccountService service = Service(store);
        IPAddress mallory = IPAddress.Parse("203.0.113.9");
        await service.CreateAsync("Victim", "secret1", IPAddress.Loopback);
        await service.CreateAsync("Mallory", "secret2", mallory);

        // Four guesses at the victim, then a good login to an account of one's own: the guesses still count.
        for (int i = 0; i < 4; i++)
        {
            Assert.That((await service.LoginAsync("Victim", "guess" + i, mallory)).Error, Is.EqualTo("Wrong name or password."));
        }

        Assert.That((await service.LoginAsync("Mallory", "secret2", mallory)).Succeeded, Is.True);
        Assert.That((await service.LoginAsync("Victim", "guess4", mallory)).Error, Is.EqualTo("Wrong name or password."));
        Assert.That((await service.LoginAsync("Victim", "guess5", mallory)).Error, Is.EqualTo("Too many failed logins from your address. Try again in 5 minutes."));
        Assert.That((await service.LoginAsync("Mallory", "secret2", mallory)).Error, Does.StartWith("Too many failed logins"), "the address is locked out");
    }

    [Test]
    public async Task FailuresAgainstOneAccountCountFromEveryAddress()
    {
        await using var store = new SqliteGameStore(Path.Combine(_folder, "accounts.db"));
        await store.MigrateAsync();
        using var service = new AccountService(
            store, new AccountSettings { LoginFailureLimit = 5, AccountFailureLimit = 3 }, TimeProvider.System, NullLogger<AccountService>.Instance);
        await service.CreateAsync("Alice", "secret1", IPAddress.Loopback);
        await service.CreateAsync("Bob", "secret2", IPAddress.Loopback);
        for (int i = 1; i <= 3; i++)
        {
            Assert.That((await service.LoginAsync("Alice", "guess", IPAddress.Parse($"198.51.100.{i}"))).Error, Is.EqualTo("Wrong name or password."));
        }

        IPAddress fourth = IPAddress.Parse("198.51.100.4");
        Assert.That((await service.LoginAsync("alice", "secret1", fourth)).Error, Is.EqualTo("Too many failed logins for alice. Try again in 5 minutes."));
        Assert.That((await service.LoginAsync("Bob", "secret2", fourth)).Succeeded, Is.True, "other accounts are not affected");
        Assert.That((await service.LoginAsync("Nobody", "guess", fourth)).Error, Is.EqualTo("Wrong name or password."), "unknown names count as any name does");
    }

    [Test]
    public async Task GuessesSentAtOnceFromOneAddressAreLimitedAsGuessesInARowAre()
    {
        await using var store = new SqliteGameStore(Path.Combine(_folder, "accounts.db"));
        await store.MigrateAsync();
        using AccountService service = Service(store);
        await service.CreateAsync("Alice", "secret1", IPAddress.Loopback);
        IPAddress mallory = IPAddress.Parse("203.0.113.9");

        AccountResult[] results = await Task.WhenAll(Enumerable.Range(0, 15).Select(i => service.LoginAsync("Alice", "guess" + i, mallory)));

        string[] errors = [.. results.Select(r => r.Error!)];
        Assert.That(errors.Count(e => e == "Wrong name or password."), Is.EqualTo(5), string.Join("\n", errors));
        Assert.That(errors.Count(e => e.StartsWith("Too many", StringComparison.Ordinal)), Is.EqualTo(10), string.Join("\n", errors));
    }

    [Test]
    public void FailuresWhoseWindowHasPassedAreSweptSoThatManyAddressesDoNotGrowTheThrottle()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(addressLimit: 2, accountLimit: 0, TimeSpan.FromMinutes(5), clock);
        IPAddress mallory = IPAddress.Parse("203.0.113.9");
        Fail(throttle, mallory);
        Fail(throttle, mallory);
        Assert.That(throttle.TryBegin(mallory, "Alice"), Is.EqualTo(new LoginRefusal(LoginRefusalReason.AddressLocked, TimeSpan.FromMinutes(5))));

        for (int i = 1; i < 254; i++) // with the two above, 255 checks
        {
            Fail(throttle, IPAddress.Parse($"198.51.100.{i}"));
        }

        Assert.That(throttle.Tracked, Is.EqualTo(254));
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.That(throttle.TryBegin(mallory, "Alice"), Is.Null, "the window passed");
        throttle.End(mallory, "Alice", checkedPassword: false, succeeded: false); // the 256th check sweeps
        Assert.That(throttle.Tracked, Is.Zero, "every window had passed");

        Fail(throttle, mallory);
        Assert.That(throttle.TryBegin(mallory, "Alice"), Is.Null, "a failure after the window starts a new count");
    }

    [Test]
    public void CreatesPerAddressAreLimitedPerWindowAndCreatesInProgressCount()
    {
        var clock = new ManualClock();
        var throttle = new CreationThrottle(limit: 2, TimeSpan.FromHours(1), clock);
        IPAddress mallory = IPAddress.Parse("203.0.113.9");
        Assert.That(throttle.TryBegin(mallory), Is.Null);
        Assert.That(throttle.TryBegin(mallory), Is.Null);
        Assert.That(throttle.TryBegin(mallory), Is.EqualTo(TimeSpan.Zero), "two creates in progress fill the limit");

        throttle.End(mallory, counts: false); // it failed for the server's sake: it does not count
        Assert.That(throttle.TryBegin(mallory), Is.Null);
        throttle.End(mallory, counts: true);
        throttle.End(mallory, counts: true);
        Assert.That(throttle.TryBegin(mallory), Is.EqualTo(TimeSpan.FromHours(1)));
        Assert.That(throttle.TryBegin(IPAddress.Parse("198.51.100.7")), Is.Null, "other addresses are not affected");

        clock.Advance(TimeSpan.FromHours(1));
        Assert.That(throttle.TryBegin(mallory), Is.Null, "the window passed");
    }

    [Test]
    public async Task PasswordWorkRunsOnAFixedNumberOfWorkersAndIsRefusedPastItsQueue()
    {
        using var workers = new PasswordWorkers(workers: 2, queue: 3);
        using var gate = new ManualResetEventSlim();
        int running = 0;
        int peak = 0;
        int Job()
        {
            int now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            gate.Wait(Poll.Deadline);
            Interlocked.Decrement(ref running);
            return now;
        }

        var accepted = new List<Task<int>> { workers.TryRun(PasswordWork.Create, Job)!, workers.TryRun(PasswordWork.Create, Job)! };
        await Poll.UntilAsync(() => Volatile.Read(ref running) == 2, "both workers run a job");
        for (int i = 0; i < 3; i++)
        {
            accepted.Add(workers.TryRun(PasswordWork.Create, Job) ?? throw new AssertionException("the queue has room for three"));
        }

        Assert.That(workers.Waiting, Is.EqualTo(3));
        Assert.That(workers.TryRun(PasswordWork.Create, Job), Is.Null, "past the queue, work is refused at once");

        gate.Set();
        await Task.WhenAll(accepted);
        Assert.That(peak, Is.EqualTo(2), "never more than two at once");
        Assert.That(workers.TryRun(PasswordWork.Create, () => 42) is { } after ? await after : 0, Is.EqualTo(42), "room again once the queue drained");
    }

    [Test]
    public async Task PasswordWorkRunsOnThreadsOfItsOwnNotOnThePool()
    {
        // A hash is about 0.2 s of CPU; on the pool it would hold a thread that carries every connection's input.
        using var workers = new PasswordWorkers(workers: 1, queue: 1);
        (bool OnPool, string? Name) where = await workers.TryRun(PasswordWork.Login, () => (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name))!;
        Assert.That(where, Is.EqualTo((false, PasswordWorkers.ThreadName)));
    }

    [Test]
    public async Task ALoginIsCheckedBeforeCreatesThatQueuedEarlierAndHasAQueueOfItsOwn()
    {
        using var workers = new PasswordWorkers(workers: 1, queue: 2);
        using var gate = new ManualResetEventSlim();
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task<bool> holding = workers.TryRun(PasswordWork.Create, () => gate.Wait(Poll.Deadline))!;
        await Poll.UntilAsync(() => workers.Waiting == 0, "the worker holds the gate");

        Task<int>[] creates = [workers.TryRun(PasswordWork.Create, () => Record("create 1"))!, workers.TryRun(PasswordWork.Create, () => Record("create 2"))!];
        Assert.That(workers.TryRun(PasswordWork.Create, () => Record("create 3")), Is.Null, "the creates' queue is full");
        Task<int> login = workers.TryRun(PasswordWork.Login, () => Record("login")) ?? throw new AssertionException("logins have a queue of their own");

        gate.Set();
        await Task.WhenAll([holding, login, .. creates]);
        Assert.That(order, Is.EqualTo(new[] { "login", "create 1", "create 2" }));

        int Record(string job)
        {
            order.Enqueue(job);
            return 0;
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static void Fail(LoginThrottle throttle, IPAddress address)
    {
        Assert.That(throttle.TryBegin(address, "Alice"), Is.Null);
        throttle.End(address, "Alice", checkedPassword: true, succeeded: false);
    }

    private static AccountService Service(IGameStore store, TimeProvider? clock = null, int limit = 5) =>
        new(store, new AccountSettings { LoginFailureLimit = limit }, clock ?? TimeProvider.System, NullLogger<AccountService>.Instance);
}
