using Dominance.Accounts;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Game;

/// <summary>Characters and accounts in the built-in game: create, connect, guests, the throttle and takeovers.</summary>
public sealed class AccountTests
{
    [Test]
    public async Task TheFirstAccountIsAnAdminAndLaterOnesAreNot()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.TelnetAsync();
        await alice.SendAsync("create Alice secret1");
        Assert.That(await alice.Lines.WaitForAsync("is ready"), Is.EqualTo("Your account Alice is ready. It is an admin account."));
        await using TelnetTestClient bob = await server.TelnetAsync();
        await bob.SendAsync("create Bob secret2");
        Assert.That(await bob.Lines.WaitForAsync("is ready"), Is.EqualTo("Your account Bob is ready."));
    }

    [Test]
    public async Task AccountsNamedInSettingsAreAdmins()
    {
        await using TestServer server = await GameServer.StartAsync(s => s.Accounts.Admins = ["Carol"]);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient carol = await server.TelnetAsync();
        await carol.SendAsync("create Carol secret3");
        Assert.That(await carol.Lines.WaitForAsync("is ready"), Does.EndWith("It is an admin account."));
    }

    [TestCase("create Al secret1", "A name must be 3 to 16 characters long.")]
    [TestCase("create Abcdefghijklmnopq secret1", "A name must be 3 to 16 characters long.")]
    [TestCase("create 9lives secret1", "A name must start with a letter and use only letters (A-Z) and digits.")]
    [TestCase("create Bob_1 secret1", "A name must start with a letter and use only letters (A-Z) and digits.")]
    [TestCase("create guest secret1", "'guest' is reserved. Choose another name.")]
    [TestCase("create Guest12 secret1", "'Guest12' is reserved. Choose another name.")]
    [TestCase("create Alice short", "A password must be at least 6 characters long.")]
    [TestCase("create Alicia alicia", "A password must not be the same as the name.")]
    [TestCase("create", "Usage: create <name> <password>")]
    public async Task CreateRefusesWithAReason(string command, string reason)
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("for everything else.");
        Assert.That(await client.DoAsync(command, reason.Split(' ')[0]), Does.EndWith(reason));
    }

    [Test]
    public async Task NamesAreUniqueRegardlessOfCase()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient other = await server.TelnetAsync();
        Assert.That(await other.DoAsync("create ALICE secret9", "taken"), Is.EqualTo("The name 'ALICE' is taken. Choose another."));
    }

    [Test]
    public async Task ConnectWithTheRightPasswordAndRefuseTheWrongOneWithoutSayingWhichWasWrong()
    {
        await using TestServer server = await GameServer.StartAsync();
        await (await server.CreateAsync("Alice")).DisposeAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        Assert.That(await client.DoAsync("connect Alice wrongpass", "Wrong"), Is.EqualTo("Wrong name or password."));
        Assert.That(await client.DoAsync("connect Nobody secret1", "Wrong"), Is.EqualTo("Wrong name or password."));
        Assert.That(await client.DoAsync("connect alice secret1", "Welcome"), Is.EqualTo("Welcome, Alice. You are an admin."));
        Assert.That(await client.DoAsync("connect Alice secret1", "already"), Is.EqualTo("You are already playing as Alice."));
    }

    [Test]
    public async Task APasswordTypedOnItsOwnLineIsNotEchoed()
    {
        await using TestServer server = await GameServer.StartAsync();
        await (await server.CreateAsync("Alice")).DisposeAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        Assert.That(await client.DoAsync("connect Alice", "Password"), Is.EqualTo("Password for Alice:"));
        await client.WaitForCommandAsync(Iac, Will, Echo);
        await client.SendAsync(GameServer.Password);
        await client.WaitForCommandAsync(Iac, Wont, Echo);
        Assert.That(await client.Lines.WaitForAsync("Welcome"), Is.EqualTo("Welcome, Alice. You are an admin."));

        await using TelnetTestClient newcomer = await server.TelnetAsync();
        Assert.That(await newcomer.DoAsync("create Bob", "Choose"), Is.EqualTo("Choose a password for Bob (at least 6 characters):"));
        await newcomer.SendAsync("hunter22");
        Assert.That(await newcomer.Lines.WaitForAsync("is ready"), Is.EqualTo("Your account Bob is ready."));
    }

    [Test]
    public async Task TooManyFailedLoginsFromOneAddressAreThrottled()
    {
        var clock = new ManualClock();
        await using TestServer server = await GameServer.StartAsync(clock: clock);
        await (await server.CreateAsync("Alice")).DisposeAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        for (int i = 0; i < 5; i++)
        {
            Assert.That(await client.DoAsync("connect Alice nope" + i, "Wrong"), Is.EqualTo("Wrong name or password."));
        }

        Assert.That(await client.DoAsync("connect Alice secret1", "Too many"), Is.EqualTo("Too many failed logins from your address. Try again in 5 minutes."));
        await Poll.UntilAsync(() => server.Log.Contains("Failed login for Alice"), "failures were logged");

        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.That(await client.DoAsync("connect Alice secret1", "Welcome"), Is.EqualTo("Welcome, Alice. You are an admin."));
    }

    [Test]
    public async Task LoggingInTwiceTakesOverTheOlderSessionWhichIsToldWhy()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient first = await server.CreateAsync("Alice");
        await using TelnetTestClient second = await server.TelnetAsync();
        await second.DoAsync("connect Alice secret1", "Welcome, Alice");

        Assert.That(await first.Lines.WaitForAsync("another session"), Is.EqualTo("Your character has just been connected from another session, so this one is closing."));
        await first.Lines.ClosedAsync();
        string who = await second.DoAsync("who", "Playing now");
        Assert.That(who, Is.EqualTo("Playing now (1):"));
        Assert.That(await second.Lines.NextAsync(), Does.StartWith("  Alice (admin) in "));
    }

    [Test]
    public async Task GuestsCanLookAndTalkButNotRuleAndLeaveNoTrace()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using (TelnetTestClient guest = await server.TelnetAsync())
        {
            string welcome = await guest.DoAsync("connect guest", "Welcome");
            Assert.That(welcome, Does.Match(@"^Welcome, Guest\d+\.$"));
            await guest.SendAsync("chat hello from a guest");
            Assert.That(await alice.Lines.WaitForAsync("[chat]"), Does.Match(@"^\[chat\] Guest\d+: hello from a guest$"));
            Assert.That(await guest.DoAsync("train 1", "Guests"), Does.StartWith("Guests can look around and talk, but only a character with an account can rule territories."));
            await guest.SendAsync("quit");
            Assert.That(await guest.Lines.WaitForAsync("Farewell"), Is.EqualTo("Farewell."));
            await guest.Lines.ClosedAsync();
        }

        await alice.Lines.WaitForAsync("has left the realm.");
        Assert.That(await alice.DoAsync("who", "Playing now"), Is.EqualTo("Playing now (1):"));
    }

    [Test]
    public async Task GuestsCanBeTurnedOff()
    {
        await using TestServer server = await GameServer.StartAsync(game: ("Guests", "false"));
        await using TelnetTestClient client = await server.TelnetAsync();
        Assert.That(await client.DoAsync("connect guest", "guests"), Is.EqualTo("This server does not take guests. Create a character: create <name> <password>"));
    }

    [Test]
    public async Task QuitSaysFarewellAndCloses()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        Assert.That(await alice.DoAsync("quit", "Farewell"), Is.EqualTo("Farewell, Alice. Your territories await your return."));
        await alice.Lines.ClosedAsync();
    }

    [Test]
    public async Task LinesSentWhileALoginIsCheckedWaitForItSoASessionPlaysOneCharacterAtATime()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await (await server.CreateAsync("Bob")).DisposeAsync();
        await alice.Lines.WaitForAsync("Bob has left the realm.");
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("for everything else.");

        // One write: the guest login must not slip in while Bob's password is being checked.
        await client.SendRawAsync("connect Bob secret1\r\nconnect guest\r\nwho\r\n"u8.ToArray());
        Assert.That(await client.Lines.WaitForAsync("Welcome"), Is.EqualTo("Welcome, Bob."));
        Assert.That(await client.Lines.WaitForAsync("already"), Is.EqualTo("You are already playing as Bob."));
        Assert.That(await client.Lines.WaitForAsync("Playing now"), Is.EqualTo("Playing now (2):"));

        await client.SendAsync("quit");
        await client.Lines.ClosedAsync();
        await alice.Lines.WaitForAsync("Bob has left the realm.");
        Assert.That(await alice.DoAsync("who", "Playing now"), Is.EqualTo("Playing now (1):"), "no ghost stays behind");
        Assert.That(await alice.Lines.NextAsync(), Does.StartWith("  Alice (admin) in "));
    }

    [Test]
    public async Task AReloadWhileAPasswordIsCheckedLeavesNoSessionStuck()
    {
        await using TestServer server = await GameServer.StartAsync(s => s.Accounts.PasswordWorkers = 1);
        await (await server.CreateAsync("Alice")).DisposeAsync();
        AccountService accounts = server.Server.Accounts;
        using var gate = new ManualResetEventSlim();
        Task<bool> holding = accounts.Passwords.TryRun(PasswordWork.Create, () => gate.Wait(Poll.Deadline))!; // the one worker, held
        await Poll.UntilAsync(() => accounts.Passwords.Waiting == 0, "the worker holds the gate");

        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("for everything else.");
        await client.SendAsync("connect Alice secret1");
        await client.SendAsync("look");
        await Poll.UntilAsync(() => accounts.Passwords.Waiting == 1, "the login waits for the worker");

        // The reload waits for the login in progress, but only so long; then the line typed behind it runs in the new code.
        Assert.That((await server.Reloads.ReloadAsync("a reload during a login")).Succeeded, Is.True);
        Assert.That(await client.Lines.WaitForAsync("not playing"), Does.StartWith("You are not playing yet."));
        gate.Set();
        Assert.That(await holding, Is.True);

        Assert.That(await client.Lines.WaitForAsync("updated"), Is.EqualTo("The game was updated while your password was being checked. Please log in again."));
        Assert.That(await client.DoAsync("connect Alice secret1", "Welcome"), Is.EqualTo("Welcome, Alice. You are an admin."), "the new generation takes the login");
        Assert.That(await client.DoAsync("who", "Playing now"), Is.EqualTo("Playing now (1):"));
    }

    [Test]
    public async Task ATakenNameIsRefusedBeforeAnyHashingAndPastTheQueueTheServerSaysItIsBusy()
    {
        await using TestServer server = await GameServer.StartAsync(s =>
        {
            s.Accounts.PasswordWorkers = 1;
            s.Accounts.PasswordQueue = 1;
        });
        await (await server.CreateAsync("Alice")).DisposeAsync();
        AccountService accounts = server.Server.Accounts;
        using var gate = new ManualResetEventSlim();
        Task<bool> running = accounts.Passwords.TryRun(PasswordWork.Create, () => gate.Wait(Poll.Deadline))!;
        await Poll.UntilAsync(() => accounts.Passwords.Waiting == 0, "the worker holds the gate");
        Task<bool> queuedCreate = accounts.Passwords.TryRun(PasswordWork.Create, () => gate.Wait(Poll.Deadline))!; // and both queues are full
        Task<bool> queuedLogin = accounts.Passwords.TryRun(PasswordWork.Login, () => gate.Wait(Poll.Deadline))!;

        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("for everything else.");
        Assert.That(await client.DoAsync("create alice hunter22", "taken"), Is.EqualTo("The name 'alice' is taken. Choose another."));
        Assert.That(await client.DoAsync("create Zed hunter22", "busy"), Is.EqualTo(AccountService.Busy));
        Assert.That(await client.DoAsync("connect Alice secret1", "busy"), Is.EqualTo(AccountService.Busy));

        gate.Set();
        await Task.WhenAll(running, queuedCreate, queuedLogin);
        Assert.That(await client.DoAsync("create Zed hunter22", "ready"), Is.EqualTo("Your account Zed is ready."));
    }

    [Test]
    public async Task AccountsCreatedFromOneAddressAreLimited()
    {
        await using TestServer server = await GameServer.StartAsync(s => s.Accounts.CreateLimit = 2);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await using TelnetTestClient carol = await server.TelnetAsync();
        Assert.That(await carol.DoAsync("create Carol secret3", "Too many"), Is.EqualTo("Too many accounts have been created from your address. Try again in 60 minutes."));
        Assert.That(await carol.DoAsync("create Alice secret3", "taken"), Is.EqualTo("The name 'Alice' is taken. Choose another."), "a taken name is answered first");
        Assert.That(await carol.DoAsync("connect Alice secret1", "Welcome"), Is.EqualTo("Welcome, Alice. You are an admin."), "logins are not limited by it");
    }

    [Test]
    public async Task ANameThatIsNoAccountIsNeverLoggedOnlyItsLength()
    {
        await using TestServer server = await GameServer.StartAsync();
        await (await server.CreateAsync("Alice")).DisposeAsync();
        await using TelnetTestClient client = await server.TelnetAsync();

        // A player who swapped name and password: the password must not reach the log.
        Assert.That(await client.DoAsync("connect Sup3rSecretC0de! Alice", "Wrong"), Is.EqualTo("Wrong name or password."));
        Assert.That(await client.DoAsync("connect Sup3rSecretC Alice", "Wrong"), Is.EqualTo("Wrong name or password."));
        Assert.That(await client.DoAsync("connect alice Sup3rSecretC", "Wrong"), Is.EqualTo("Wrong name or password."));
        await Poll.UntilAsync(() => server.Log.Contains("Failed login for Alice from"), "the failure against a real account names it");

        Assert.That(server.Log.Text, Does.Not.Contain("Sup3rSecret"));
        Assert.That(server.Log.Text, Does.Contain("Failed login for a name that breaks the name rules (16 characters) from"));
        Assert.That(server.Log.Text, Does.Contain("Failed login for a name that is no account (12 characters) from"));
    }
}
