using Dominance.Core;
using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>A core that drops a portal which is still alive, and takes it back when it attaches again.</summary>
public sealed partial class ClusterTests
{
    /// <summary>
    /// The core drops a portal that went quiet for longer than <c>Nats:HeartbeatTimeout</c> (here SIGSTOP; in life a
    /// NATS partition, a slow consumer's gap, a stalled reader). Its logged-in browser player is parked, keeping the
    /// session's id in the core's table. When the portal attaches again it connects that session anew, with the same id:
    /// the core takes the parked session back, with what was said meanwhile, and the game never saw the player leave.
    /// Before, the connect of an id still in the table threw on the game thread, and the core process died.
    /// </summary>
    [Test]
    public async Task ACoreTakesBackAParkedBrowserWhenItsDroppedPortalAttachesAgain()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using ServerProcess b = await cluster.StartPortalAsync();
        await using WebSocketTestClient alice = await CreateOverWebSocketAsync(a, "Alice", gmcp: true);
        await using TelnetTestClient bob = await CreateOverTelnetAsync(b, "Bob");

        a.Signal(19); // SIGSTOP: portal A stays connected, but says nothing
        try
        {
            await Poll.UntilAsync(() => cluster.Core.Output.Contains("(Alice) lost its connection", StringComparison.Ordinal), "the core drops portal A and parks Alice");
            await bob.SendAsync("chat while you were away");
            await bob.Lines.WaitForAsync("while you were away");
        }
        finally
        {
            a.Signal(18); // SIGCONT: the portal attaches again, and connects Alice's session again
        }

        Assert.That(await alice.Lines.WaitForAsync("while you were away"), Does.Contain("Bob"), "what was kept for the parked session");
        await alice.SendAsync("chat still here");
        Assert.That(await bob.Lines.WaitForAsync("still here"), Does.Contain("Alice"), cluster.Core.Output);
        Assert.That(cluster.Core.Output, Does.Contain("(Alice) is back on its portal"));
        Assert.That(bob.Lines.Seen, Has.None.Contain("has left the realm"), "the game never saw Alice leave");
        await bob.SendAsync("who");
        Assert.That(await bob.Lines.WaitForAsync("Playing now"), Is.EqualTo("Playing now (2):"), "Alice plays on, once");
    }
}
