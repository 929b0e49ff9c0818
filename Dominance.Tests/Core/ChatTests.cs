using Dominance.Tests.Support;

namespace Dominance.Tests.Core;

/// <summary>Two people chatting across both protocols, and the groups ("rooms") the core tracks.</summary>
public sealed class ChatTests
{
    [Test]
    public async Task TelnetAndWebSocketClientsInOneRoomSeeEachOthersSay()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient telnet = await server.TelnetAsync();
        await using WebSocketTestClient web = await server.WebSocketAsync();
        string telnetWelcome = await telnet.Lines.WaitForAsync("Welcome");
        string webWelcome = await web.Lines.WaitForAsync("Welcome");
        string telnetId = telnetWelcome["Welcome ".Length..];
        string webId = webWelcome["Welcome ".Length..];

        await telnet.SendAsync("say hello from telnet");
        Assert.That(await web.Lines.WaitForAsync("says:"), Is.EqualTo($"{telnetId} says: hello from telnet"));
        Assert.That(await telnet.Lines.NextAsync(), Is.EqualTo("You say: hello from telnet"));

        await web.SendAsync("say hello from the web");
        Assert.That(await telnet.Lines.WaitForAsync("says:"), Is.EqualTo($"{webId} says: hello from the web"));
        Assert.That(await web.Lines.NextAsync(), Is.EqualTo("You say: hello from the web"));
    }

    [Test]
    public async Task GroupsReachOnlyTheirMembersAndForgetLeavers()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient a = await server.TelnetAsync();
        await using TelnetTestClient b = await server.TelnetAsync();
        await using TelnetTestClient c = await server.TelnetAsync();
        foreach (TelnetTestClient client in new[] { a, b, c })
        {
            await client.Lines.WaitForAsync("Welcome");
        }

        await a.SendAsync("join tavern");
        await a.Lines.WaitForAsync("joined tavern");
        await b.SendAsync("join tavern");
        await b.Lines.WaitForAsync("joined tavern");

        await c.SendAsync("group tavern a round for everyone");
        Assert.That(await a.Lines.WaitForAsync("[tavern]"), Is.EqualTo("[tavern] a round for everyone"));
        Assert.That(await b.Lines.WaitForAsync("[tavern]"), Is.EqualTo("[tavern] a round for everyone"));

        await b.SendAsync("leave tavern");
        await b.Lines.WaitForAsync("left tavern");
        await c.SendAsync("members tavern");
        string members = await c.Lines.WaitForAsync("members:");
        Assert.That(members.Split(':')[1].Trim().Split(','), Has.Length.EqualTo(1), "only a is left in the tavern");

        // The last member leaving removes the group: sending to it reaches nobody and fails nothing.
        await a.SendAsync("leave tavern");
        await a.Lines.WaitForAsync("left tavern");
        await c.SendAsync("members tavern");
        Assert.That(await c.Lines.WaitForAsync("members:"), Is.EqualTo("members: "));
    }

    [Test]
    public async Task OutputForASessionThatHasGoneIsDroppedQuietly()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient stayer = await server.TelnetAsync();
        await stayer.Lines.WaitForAsync("Welcome");
        long goneId;
        await using (TelnetTestClient leaver = await server.TelnetAsync())
        {
            string welcome = await leaver.Lines.WaitForAsync("Welcome");
            goneId = long.Parse(welcome["Welcome #".Length..]);
            await leaver.SendAsync("quit");
            await leaver.Lines.WaitForAsync("Goodbye.");
            await leaver.Lines.ClosedAsync();
        }

        await Poll.UntilAsync(() => server.TestModule.Disconnected.Any(s => s.Value == goneId), "the core saw the leaver go");
        await stayer.SendAsync($"tell {goneId} are you there?");
        Assert.That(await stayer.Lines.NextAsync(), Is.EqualTo("told"));
        Assert.That(server.Log.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)), Is.Empty);
    }
}
