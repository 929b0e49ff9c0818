using System.Text.RegularExpressions;
using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>Two cores at once: the newest one has the portals, and the older one steps aside.</summary>
public sealed partial class ClusterTests
{
    /// <summary>
    /// A rolling restart: a new core starts while the old one still runs. The portals move to the new core once, their
    /// players restored there, and stay with it through the old core's last heartbeats. The old core, having heard the
    /// newer one, stops on its own with exit code 1 and writes no world save from then on (neither its periodic saves nor
    /// its final one), so the newer core's saves stay the newest: a third core restores the second core's world.
    /// Before, the old core ran on, and saved its player-less world every five seconds (and at its stop) over the
    /// newer core's saves.
    /// </summary>
    [Test]
    public async Task ANewCoreTakesThePortalsOnceAndTheOldOneStopsWithoutSavingAgain()
    {
        await using var cluster = await Cluster.StartAsync();
        ServerProcess old = cluster.Core;
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using ServerProcess b = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await using TelnetTestClient bob = await CreateOverTelnetAsync(b, "Bob");
        await alice.SendAsync("train 3");
        await alice.Lines.WaitForAsync("You train 3");
        await alice.SendAsync("save");
        await alice.Lines.WaitForAsync("Saved (save #");

        await cluster.StartCoreAsync(); // the old core runs on
        ServerProcess second = cluster.Core;
        string oldId = InstanceOf(old);
        string newId = InstanceOf(second);
        await Poll.UntilAsync(() => a.Output.Contains($"attached to core {newId}", StringComparison.Ordinal) && b.Output.Contains($"attached to core {newId}", StringComparison.Ordinal), "both portals attach to the new core");
        await alice.Lines.WaitForAsync("The world is back, and so are you.");
        await bob.Lines.WaitForAsync("The world is back, and so are you.");

        // The new core's world moves on, and is saved there.
        await alice.SendAsync("train 2");
        await alice.Lines.WaitForAsync("You train 2");
        await alice.SendAsync("save");
        await alice.Lines.WaitForAsync("Saved (save #");
        await alice.SendAsync("chat still playing");
        Assert.That(await bob.Lines.WaitForAsync("still playing"), Does.Contain("Alice"));

        Assert.That(await old.ExitCodeAsync(), Is.EqualTo(1), old.Output);
        Assert.That(old.Output, Does.Contain($"Core {newId}, started after this one, is running"), "the old core says why it let its portals go");
        string stepsAside = $"Core {newId}, started after this one, has taken over: this core writes no world save from now on, and stops";
        Assert.That(old.Output, Does.Contain(stepsAside));
        Assert.That(old.Output[old.Output.IndexOf(stepsAside, StringComparison.Ordinal)..], Does.Not.Contain("World saved"), "no save after it stepped aside");
        Assert.That(old.Output, Does.Contain($"dominance: exit code 1: core {newId}, started after this one, took over"), "a supervisor sees why");
        foreach (ServerProcess portal in new[] { a, b })
        {
            Assert.That(Regex.Count(portal.Output, Regex.Escape($"attached to core {oldId} ")), Is.EqualTo(1), portal.Output);
            Assert.That(Regex.Count(portal.Output, Regex.Escape($"attached to core {newId} ")), Is.EqualTo(1), portal.Output);
        }

        // A third core restores the newest save: the second core's world, with Alice's second training.
        await cluster.StartCoreAsync();
        await alice.Lines.WaitForAsync("The world is back, and so are you.", s_coreStart);
        await alice.SendAsync("score");
        Assert.That(await alice.Lines.WaitForAsync("Resources:"), Does.Contain("Resources: 50"), "the second core's world: 100 - 5 soldiers x 10");
        Assert.That(await second.ExitCodeAsync(), Is.EqualTo(1), second.Output);
    }

    /// <summary>A core's instance id, from its log.</summary>
    private static string InstanceOf(ServerProcess core) => CoreLine().Match(core.Output).Groups[1].Value;

    [GeneratedRegex("Core (\\S+) takes remote portals")]
    private static partial Regex CoreLine();
}
