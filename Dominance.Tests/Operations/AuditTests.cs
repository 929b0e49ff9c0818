using Dominance.Tests.Support;

namespace Dominance.Tests.Operations;

/// <summary>The audit log (category <c>Dominance.Audit</c>): a line for each event an operator must be able to trace.</summary>
public sealed class AuditTests
{
    [Test]
    public async Task EachEventLeavesAnAuditLine()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using (TelnetTestClient alice = await server.CreateAsync("Alice"))
        {
            await alice.DoAsync("announce tea is ready", "tea is ready");
            await alice.DoAsync("reload", "is live");
        }

        await using WebSocketTestClient bob = await server.WebSocketAsync();
        await bob.Lines.WaitForAsync("for everything else.");
        await bob.SendAsync("connect Alice not-her-password");
        await bob.Lines.WaitForAsync("Wrong name or password.");
        await bob.SendAsync($"connect Alice {GameServer.Password}");
        await bob.Lines.WaitForAsync("Welcome, Alice.");
        await bob.SendAsync("connect guest"); // already playing: nothing to audit, but the line order is checked below
        await bob.SendAsync("save");
        await bob.Lines.WaitForAsync("Saved (save #");

        await Poll.UntilAsync(() => Audit(server).Count(l => l.Contains("Disconnected:", StringComparison.Ordinal)) == 1, "the telnet session's disconnect is audited");
        string[] audit = Audit(server);
        Assert.Multiple(() =>
        {
            Assert.That(audit, Has.Some.Match(@"Connected: session #\d+ from 127\.0\.0\.1 over Telnet"));
            Assert.That(audit, Has.Some.Match(@"Connected: session #\d+ from 127\.0\.0\.1 over WebSocket"));
            Assert.That(audit, Has.Some.Match(@"Disconnected: session #\d+ from 127\.0\.0\.1 over Telnet, after "));
            Assert.That(audit, Has.Some.Contains("Account Alice created from 127.0.0.1 (admin)"));
            Assert.That(audit, Has.Some.Contains("Admin command 'announce tea is ready' by Alice"));
            Assert.That(audit, Has.Some.Contains("Admin command 'reload' by Alice"));
            Assert.That(audit, Has.Some.Match(@"Reload to generation 2 \(.*\): live"));
            Assert.That(audit, Has.Some.Contains("Failed login for Alice from 127.0.0.1"));
            Assert.That(audit, Has.Some.Contains("Login: Alice from 127.0.0.1"));
            Assert.That(audit, Has.Some.Contains("Admin command 'save' by Alice"));
        });
        Assert.That(server.Log.Text, Does.Not.Contain("not-her-password").And.Not.Contain(GameServer.Password), "no password in any log line");
    }

    [Test]
    public async Task AnAdminCommandFromSomeoneWhoIsNotAnAdminIsAuditedAsRefused()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient mallory = await server.CreateAsync("Mallory");
        await mallory.DoAsync("shutdown", "Only admins can do that.");

        Assert.That(Audit(server), Has.Some.Contains("Admin command 'shutdown' by Mallory").And.Some.Contains("refused, not an admin"));
    }

    private static string[] Audit(TestServer server) =>
        [.. server.Log.Lines.Where(l => l.Contains(" Dominance.Audit: ", StringComparison.Ordinal))];
}
