using System.Text;
using System.Text.Json;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Game;

/// <summary>What the built-in game does with what MUD clients negotiate: prompts, wrapping, GMCP standard packages.</summary>
public sealed class MudClientTests
{
    [Test]
    public async Task TextIsWrappedToTheClientsWindowWidth()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("for everything else.");
        await client.SendRawAsync([Iac, Will, WindowSize, Iac, Sb, WindowSize, 0, 50, 0, 24, Iac, Se]);
        await client.SendAsync("connect guest");
        await client.Lines.WaitForAsync("Exits:");
        await client.SendAsync("help");
        await client.Lines.WaitForAsync("for one command.");

        string[] after = [.. client.Lines.Seen.SkipWhile(l => !l.StartsWith("Welcome", StringComparison.Ordinal))];
        Assert.That(after.Where(l => l.Length > 50), Is.Empty, string.Join("\n", after));
        Assert.That(after, Has.Some.StartsWith("  connect <name> <password>  |  connect guest"), "a coloured command is never broken");
        Assert.That(after, Has.Some.Match("^    [a-z]"), "a wrapped line goes on further in");
        Assert.That(after, Has.Some.Match("^Exits: .{30,}"), "lines are filled up to the width");
    }

    [Test]
    public async Task ChatAndAnnouncementsAreWrappedToEachRecipientsWindow()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient admin = await server.CreateAsync("Alice"); // the first account: an admin
        await using TelnetTestClient narrow = await server.CreateAsync("Bob");
        await using TelnetTestClient other = await server.CreateAsync("Carol");
        await using TelnetTestClient unknown = await server.CreateAsync("Dave");
        await narrow.SendRawAsync([Iac, Will, WindowSize, Iac, Sb, WindowSize, 0, 40, 0, 24, Iac, Se]);
        await other.SendRawAsync([Iac, Will, WindowSize, Iac, Sb, WindowSize, 0, 30, 0, 24, Iac, Se]);
        await narrow.DoAsync("who", "Playing now"); // read after the window size: the portal has it
        await other.DoAsync("who", "Playing now");

        const string Words = "the north wind brings snow to Highkeep and the rivers freeze over";
        await admin.SendAsync($"chat {Words}");
        await admin.SendAsync($"announce {Words}");
        foreach ((TelnetTestClient client, int width) in new[] { (narrow, 40), (other, 30) })
        {
            string chat = await Rows(client, "[chat] Alice: the", "over");
            string announcement = await Rows(client, "[announcement] the", "over");
            Assert.That(chat, Is.EqualTo($"[chat] Alice: {Words}"), "wrapped only at spaces");
            Assert.That(announcement, Is.EqualTo($"[announcement] {Words}"));
            Assert.That(client.Lines.Seen.SkipWhile(l => !l.StartsWith("Playing now", StringComparison.Ordinal)).Where(l => l.Length > width), Is.Empty);
        }

        // A client that did not tell its width gets each one as one line.
        Assert.That(await unknown.Lines.WaitForAsync("[chat]"), Is.EqualTo($"[chat] Alice: {Words}"));
        Assert.That(await unknown.Lines.WaitForAsync("[announcement]"), Is.EqualTo($"[announcement] {Words}"));
    }

    /// <summary>The rows from the one starting with <paramref name="first"/> to the one ending with <paramref name="last"/>, joined as one line.</summary>
    private static async Task<string> Rows(TelnetTestClient client, string first, string last)
    {
        var rows = new List<string> { (await client.Lines.WaitForAsync(l => l.StartsWith(first, StringComparison.Ordinal))).TrimEnd() };
        while (!rows[^1].EndsWith(last, StringComparison.Ordinal))
        {
            rows.Add((await client.Lines.NextAsync()).Trim());
        }

        Assert.That(rows, Has.Count.GreaterThan(1), string.Join("\n", rows));
        return string.Join(" ", rows);
    }

    [Test]
    public async Task MsspCountsThePlayersInTheGameNotTheConnections()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient player = await server.CreateAsync("Alice");
        await using TelnetTestClient onlooker = await server.TelnetAsync();
        await onlooker.Lines.WaitForAsync("for everything else.");
        Assert.That(await PlayersAsync(server), Is.EqualTo("1"), "three connections (with the crawler's), one player");

        await using TelnetTestClient second = await server.CreateAsync("Bob");
        Assert.That(await PlayersAsync(server), Is.EqualTo("2"));
        await player.SendAsync("quit");
        await player.Lines.ClosedAsync();
        await Poll.UntilAsync(async () => await PlayersAsync(server) == "1", "Alice counted out after she quit");

        // A guest is a player online too, with no account; and counted out when gone.
        await onlooker.SendAsync("connect guest");
        await onlooker.Lines.WaitForAsync("Exits:");
        Assert.That(await PlayersAsync(server), Is.EqualTo("2"), "Bob and the guest");
        await onlooker.SendAsync("quit");
        await onlooker.Lines.ClosedAsync();
        await Poll.UntilAsync(async () => await PlayersAsync(server) == "1", "the guest counted out after quitting");
    }

    /// <summary>What a MUD listing crawler reads as PLAYERS now.</summary>
    private static Task<string> PlayersAsync(TestServer server) => MsspCrawler.PlayersAsync(server.Telnet);

    [Test]
    public async Task AClientThatAgreedToEorGetsAPromptWithResourcesAndLocation()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient client = await server.CreateAsync("Alice");
        await using TelnetTestClient plain = await server.CreateAsync("Bob");

        await client.SendRawAsync([Iac, Do, Eor]);
        await client.SendAsync("look");
        await client.WaitForCommandAsync(Iac, EndOfRecord);
        await client.SendAsync("say hi");
        string line = await client.Lines.WaitForAsync("You say: hi");
        Assert.That(line, Does.Match(@"^\[100 resources \| \d+ soldiers \| \w+\] > You say: hi$"), "the prompt, then what came after it");

        // A client that does not mark prompts gets none, unless its player asks.
        await plain.SendAsync("say hello");
        Assert.That(await plain.Lines.WaitForAsync("You say"), Is.EqualTo("You say: hello"));
        await plain.SendAsync("prompt on");
        await plain.Lines.WaitForAsync("The prompt is on.");
        await plain.SendAsync("say again");
        Assert.That(await plain.Lines.WaitForAsync("You say: again"), Does.StartWith("[100 resources"));
    }

    [Test]
    public async Task StandardGmcpPackagesGoToClientsThatAskedForThem()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient mapper = await server.TelnetAsync();
        await using TelnetTestClient other = await server.TelnetAsync();
        await mapper.Lines.WaitForAsync("for everything else.");
        await other.Lines.WaitForAsync("for everything else.");
        await mapper.SendRawAsync([Iac, Do, Gmcp, Iac, Sb, Gmcp, .. "Core.Supports.Set [\"Room 1\",\"Char 1\",\"Comm.Channel 1\"]"u8, Iac, Se]);
        await other.SendRawAsync([Iac, Do, Gmcp]);
        await mapper.SendAsync("connect guest");
        await other.SendAsync("connect guest");
        await mapper.Lines.WaitForAsync("Exits:");
        await other.Lines.WaitForAsync("Exits:");

        JsonElement room = await GmcpAsync(mapper, "Room.Info");
        Assert.That(room.GetProperty("num").GetInt32(), Is.InRange(1, 16));
        Assert.That(room.GetProperty("area").GetString(), Is.EqualTo("The Realm"));
        string exit = room.GetProperty("exits").EnumerateObject().First().Name;
        int destination = room.GetProperty("exits").GetProperty(exit).GetInt32();
        Assert.That((await GmcpAsync(mapper, "Char.Name")).GetProperty("name").GetString(), Does.StartWith("Guest"));
        Assert.That((await GmcpAsync(mapper, "Char.Status")).GetProperty("resources").GetInt32(), Is.GreaterThanOrEqualTo(0));

        await mapper.SendAsync(exit);
        await Poll.UntilAsync(() => Packages(mapper, "Room.Info").Length == 2, "Room.Info after the move");
        Assert.That(Packages(mapper, "Room.Info")[1].GetProperty("num").GetInt32(), Is.EqualTo(destination));

        await other.SendAsync("chat hello mappers");
        await mapper.Lines.WaitForAsync("hello mappers");
        JsonElement text = await GmcpAsync(mapper, "Comm.Channel.Text");
        Assert.That(text.GetProperty("channel").GetString(), Is.EqualTo("chat"));
        Assert.That(text.GetProperty("text").GetString(), Does.EndWith(": hello mappers"));

        // The client that asked for none of them got only the game's own package.
        await other.Lines.WaitForAsync("hello mappers");
        Assert.That(Names(other), Is.Not.Empty.And.All.StartWith("Dominance."));
    }

    private static async Task<JsonElement> GmcpAsync(TelnetTestClient client, string package)
    {
        await Poll.UntilAsync(() => Packages(client, package).Length > 0, $"GMCP {package}");
        return Packages(client, package)[0];
    }

    private static string[] Names(TelnetTestClient client) =>
        [.. client.Commands.Where(c => c.Length > 5 && c[1] == Sb && c[2] == Gmcp).Select(c => Encoding.UTF8.GetString(c[3..^2]).Split(' ')[0])];

    private static JsonElement[] Packages(TelnetTestClient client, string package) =>
        [.. client.Commands.Where(c => c.Length > 5 && c[1] == Sb && c[2] == Gmcp)
            .Select(c => Encoding.UTF8.GetString(c[3..^2]))
            .Where(m => m.StartsWith(package + " ", StringComparison.Ordinal))
            .Select(m => JsonDocument.Parse(m[(package.Length + 1)..]).RootElement)];
}
