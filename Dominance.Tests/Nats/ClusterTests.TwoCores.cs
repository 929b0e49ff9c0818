using System.Text.RegularExpressions;
using Dominance.Nats;
using Dominance.Tests.Support;
using NATS.Client.Core;

namespace Dominance.Tests.Nats;

/// <summary>Two cores at once: the newest one has the portals.</summary>
public sealed partial class ClusterTests
{
    /// <summary>
    /// A new core starts while the old one still runs (a deploy that overlaps, an old core slow to stop). The portals
    /// move to the new core once, their players restored there, and stay with it while the old core's heartbeats go on.
    /// Before, each of the old core's heartbeats made every portal attach again (to whichever core answered first),
    /// and the players were sent back and forth between the two worlds.
    /// </summary>
    [Test]
    public async Task PortalsMoveOnceToACoreStartedWhileTheOldOneStillRunsAndPlayersPlayOn()
    {
        await using var cluster = await Cluster.StartAsync();
        ServerProcess old = cluster.Core;
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using ServerProcess b = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await using TelnetTestClient bob = await CreateOverTelnetAsync(b, "Bob");
        await alice.SendAsync("save");
        await alice.Lines.WaitForAsync("Saved (save #");

        await cluster.StartCoreAsync(); // the old core runs on
        string oldId = InstanceOf(old);
        string newId = InstanceOf(cluster.Core);
        await Poll.UntilAsync(() => a.Output.Contains($"attached to core {newId}", StringComparison.Ordinal) && b.Output.Contains($"attached to core {newId}", StringComparison.Ordinal), "both portals attach to the new core");
        await alice.Lines.WaitForAsync("The world is back, and so are you.");
        await bob.Lines.WaitForAsync("The world is back, and so are you.");

        // The old core's heartbeats go on: a portal that took them for a reason to move would attach again at each.
        await WaitForHeartbeatsAsync(cluster, oldId, count: 6);
        await alice.SendAsync("chat still playing");
        Assert.That(await bob.Lines.WaitForAsync("still playing"), Does.Contain("Alice"));
        await bob.SendAsync("who");
        Assert.That(await bob.Lines.WaitForAsync("Playing now"), Is.EqualTo("Playing now (2):"));

        foreach (ServerProcess portal in new[] { a, b })
        {
            Assert.That(Regex.Count(portal.Output, Regex.Escape($"attached to core {oldId} ")), Is.EqualTo(1), portal.Output);
            Assert.That(Regex.Count(portal.Output, Regex.Escape($"attached to core {newId} ")), Is.EqualTo(1), portal.Output);
        }

        Assert.That(old.Output, Does.Contain($"Core {newId}, started after this one, is running"), "the old core says why it let its portals go");
    }

    /// <summary>A core's instance id, from its log.</summary>
    private static string InstanceOf(ServerProcess core) => CoreLine().Match(core.Output).Groups[1].Value;

    /// <summary>Waits until <paramref name="count"/> heartbeats of core <paramref name="instance"/> have gone out, from now on.</summary>
    private static async Task WaitForHeartbeatsAsync(Cluster cluster, string instance, int count)
    {
        var settings = new NatsSettings { Url = cluster.Nats.Url, User = cluster.Nats.User, Password = cluster.Nats.Password, Secret = Secret };
        await using var nats = new NatsConnection(settings.ClientOptions("test-heartbeat-counter"));
        using var deadline = new CancellationTokenSource(Poll.Deadline);
        int seen = 0;
        try
        {
            await foreach (NatsMsg<byte[]> message in nats.SubscribeAsync<byte[]>(Wire.CoreHeartbeat(settings.Subject), cancellationToken: deadline.Token))
            {
                var r = new WireReader(message.Data);
                r.Byte();
                if (r.String() == instance && ++seen == count)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
        }

        Assert.Fail($"Timed out waiting for {count} heartbeats of core {instance}; saw {seen}.");
    }

    [GeneratedRegex("Core (\\S+) takes remote portals")]
    private static partial Regex CoreLine();
}
