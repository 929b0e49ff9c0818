using Dominance.Nats;
using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>
/// Messages from a portal to the core are cut to the NATS server's own max_payload (small here, so that a few lines go
/// over it): many events go as several messages, in order, and an input that could not go even alone is refused with
/// the player told, while everything else still arrives.
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
}
