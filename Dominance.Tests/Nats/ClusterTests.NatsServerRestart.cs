using Dominance.Nats;
using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>
/// The NATS server itself goes away and comes back: the portal's players are told, their input is held within its
/// bound, and then they are back in the game with what was held run.
/// </summary>
public sealed partial class ClusterTests
{
    [Test]
    public async Task PlayersAreToldWhenTheNatsServerGoesAndAreBackWithTheirHeldInputWhenItReturns()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync("--Nats:HoldCapacity=2", "--Portal:CommandRateLimit=0");
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");

        await cluster.Nats.StopAsync();
        Assert.That(await alice.Lines.WaitForAsync("The world is restarting"), Is.EqualTo(PortalRelay.RestartingNotice));
        await alice.SendAsync("say one");
        await alice.SendAsync("say two");
        await alice.SendAsync("say three");
        Assert.That(await alice.Lines.WaitForAsync("was not kept"), Does.Contain("2 of your commands are already waiting"), "held input is bounded");

        await cluster.Nats.StartAgainAsync();
        await alice.Lines.WaitForAsync("The world is back, and so are you.", s_coreStart);
        Assert.That(await alice.Lines.WaitForAsync("You say: "), Is.EqualTo("You say: one"));
        Assert.That(await alice.Lines.WaitForAsync("You say: "), Is.EqualTo("You say: two"));
        await alice.SendAsync("say still here");
        Assert.That(await alice.Lines.WaitForAsync("You say: "), Is.EqualTo("You say: still here"));
    }
}
