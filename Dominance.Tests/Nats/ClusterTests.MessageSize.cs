using System.Text;
using Dominance.Nats;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Nats;

/// <summary>
/// Messages between a portal and the core are cut to the NATS server's own max_payload (small here, so that a few lines
/// go over it): many events or much output go as several messages, in order, and what could not go even alone is
/// refused with the player told, while everything else still arrives.
/// </summary>
public sealed partial class ClusterTests
{
    [Test]
    public async Task HeldInputOverTheNatsServersMaxPayloadReachesTheNextCoreInOrder()
    {
        await using var cluster = await Cluster.StartAsync(maxPayload: 32 * 1024);
        await using ServerProcess a = await cluster.StartPortalAsync("--Portal:CommandRateLimit=0");
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await alice.SendAsync("save");
        await alice.Lines.WaitForAsync("Saved (save #");

        await cluster.KillCoreAsync();
        await alice.Lines.WaitForAsync("The world is restarting");
        string words = new('x', 5000);
        for (int i = 1; i <= 20; i++)
        {
            await alice.SendAsync($"say {i} {words}"); // 100 KB held, against 32 KB a message
        }

        await cluster.StartCoreAsync();
        var said = new List<int>();
        while (said.Count < 20)
        {
            string line = await alice.Lines.WaitForAsync(l => l.StartsWith("You say: ", StringComparison.Ordinal), s_coreStart);
            said.Add(int.Parse(line["You say: ".Length..line.IndexOf(' ', "You say: ".Length)], System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.That(said, Is.EqualTo(Enumerable.Range(1, 20)), "every held input run once, in the order typed");
    }

    [Test]
    public async Task AnInputTooLargeForOneNatsMessageIsRefusedWithANoticeAndLaterInputStillRuns()
    {
        await using var cluster = await Cluster.StartAsync(maxPayload: 8 * 1024);
        await using ServerProcess a = await cluster.StartPortalAsync("--Portal:MaxInputLength=20000");
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");

        await alice.SendAsync("say " + new string('x', 10_000)); // within the portal's limit, over the NATS server's

        Assert.That(await alice.Lines.WaitForAsync("Your input was not sent"), Does.Contain("more than the").And.Contain("bytes the link to the world carries"));
        await alice.SendAsync("say still here");
        Assert.That(await alice.Lines.WaitForAsync("You say: "), Is.EqualTo("You say: still here"), "the refused input left no gap: the next one runs");
        Assert.That(cluster.Core.Output, Does.Not.Contain("were lost on the way"), cluster.Core.Output);
        Assert.That(a.Output, Does.Contain("dropped an input of"), "the portal logs what it refused");
    }

    [Test]
    public async Task OutputOfOneTurnOverTheNatsServersMaxPayloadReachesThePlayerInSeveralMessages()
    {
        await using var cluster = await Cluster.StartAsync(maxPayload: 8 * 1024);
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateWithChannelGmcpAsync(a, "Alice");

        // The chat line and its GMCP copy, in one turn: two payloads of 5 KB, against 8 KB a message.
        await alice.SendAsync("chat " + new string('y', 5000));

        Assert.That(await alice.Lines.WaitForAsync("[chat]"), Does.EndWith("Alice: " + new string('y', 5000)));
        await Poll.UntilAsync(() => GmcpMessages(alice, "Comm.Channel.Text").Any(m => m.Contains(new string('y', 5000), StringComparison.Ordinal)), "the GMCP copy arrives too");
    }

    [Test]
    public async Task OutputTooLargeForOneNatsMessageIsReplacedByANoticeAndTheRestOfItsTurnArrives()
    {
        await using var cluster = await Cluster.StartAsync(maxPayload: 8 * 1024);
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateWithChannelGmcpAsync(a, "Alice");
        await using TelnetTestClient bob = await CreateWithChannelGmcpAsync(a, "Bob");

        // The line is 1.5 KB; its GMCP copy is JSON, where each '<' is written \u003C: 9 KB, against 8 KB a message.
        await alice.SendAsync("chat " + new string('<', 1500));

        foreach (TelnetTestClient player in new[] { alice, bob })
        {
            Assert.That(await player.Lines.WaitForAsync("[chat]"), Does.EndWith("Alice: " + new string('<', 1500)), "the line of the same turn arrives");
            Assert.That(await player.Lines.WaitForAsync("The world sent you"), Does.Contain("it was dropped"), "the player is told of what could not go");
            Assert.That(GmcpMessages(player, "Comm.Channel.Text"), Has.None.Contain("<"));
        }

        // Logged once for the payload, not once for each of its recipients.
        await Poll.UntilAsync(() => cluster.Core.Output.Contains("to 2 session(s) on portal", StringComparison.Ordinal), "the core logs what it dropped");
        Assert.That(cluster.Core.Output.Split('\n').Count(l => l.Contains("bytes a NATS message can carry", StringComparison.Ordinal)), Is.EqualTo(1), cluster.Core.Output);
    }

    /// <summary>A telnet player who asked for GMCP's Comm.Channel, so that every chat comes twice: as a line and as GMCP.</summary>
    private static async Task<TelnetTestClient> CreateWithChannelGmcpAsync(ServerProcess portal, string name)
    {
        TelnetTestClient client = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await client.Lines.WaitForAsync("for everything else.", s_coreStart);
        await client.SendRawAsync([Iac, Do, Gmcp, Iac, Sb, Gmcp, .. "Core.Supports.Set [\"Comm.Channel 1\"]"u8, Iac, Se]);
        await client.SendAsync($"create {name} {GameServer.Password}");
        await client.Lines.WaitForAsync($"Welcome, {name}.");
        await client.Lines.WaitForAsync("Exits:");
        return client;
    }

    /// <summary>The GMCP messages of <paramref name="package"/> the client has received, as text.</summary>
    private static string[] GmcpMessages(TelnetTestClient client, string package) =>
        [.. client.Commands.Where(c => c.Length > 5 && c[1] == Sb && c[2] == Gmcp)
            .Select(c => Encoding.UTF8.GetString(c[3..^2]))
            .Where(m => m.StartsWith(package + " ", StringComparison.Ordinal))];
}
