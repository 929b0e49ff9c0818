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
        AccountService service = Service(store);

        // If the 600,000 iterations ran on the calling thread, the task would be finished when the call returns.
        Task<AccountResult> creating = service.CreateAsync("Alice", "secret1");
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
    public async Task TheThrottleCountsFailuresPerAddressAndASuccessClearsThem()
    {
        var clock = new ManualClock();
        await using var store = new SqliteGameStore(Path.Combine(_folder, "accounts.db"));
        await store.MigrateAsync();
        AccountService service = Service(store, clock, limit: 2);
        await service.CreateAsync("Alice", "secret1");
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
    public void FailuresWhoseWindowHasPassedAreSweptSoThatManyAddressesDoNotGrowTheThrottle()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(limit: 2, TimeSpan.FromMinutes(5), clock);
        IPAddress mallory = IPAddress.Parse("203.0.113.9");
        throttle.Fail(mallory);
        throttle.Fail(mallory);
        Assert.That(throttle.LockedFor(mallory), Is.EqualTo(TimeSpan.FromMinutes(5)));

        for (int i = 1; i < 254; i++) // with the two above, 255 failures
        {
            throttle.Fail(IPAddress.Parse($"198.51.100.{i}"));
        }

        Assert.That(throttle.Tracked, Is.EqualTo(254));
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.That(throttle.LockedFor(mallory), Is.Null, "the window passed");

        throttle.Fail(IPAddress.Parse("192.0.2.1")); // the 256th failure sweeps
        Assert.That(throttle.Tracked, Is.EqualTo(1), "only the failure inside its window is left");
        throttle.Fail(mallory);
        Assert.That(throttle.LockedFor(mallory), Is.Null, "a failure after the window starts a new count");
    }

    private static AccountService Service(IGameStore store, TimeProvider? clock = null, int limit = 5) =>
        new(store, new AccountSettings { LoginFailureLimit = limit }, clock ?? TimeProvider.System, NullLogger<AccountService>.Instance);
}
