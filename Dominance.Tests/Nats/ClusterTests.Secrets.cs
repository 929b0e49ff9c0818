using Dominance.Nats;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Nats;

/// <summary>What a portal must never show or write: a password typed with the echo off, the NATS server's credentials.</summary>
public sealed partial class ClusterTests
{
    [Test]
    public async Task APasswordTypedWhileTheCoreIsGoneIsNotQuotedBackWhenItIsNotKept()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync("--Nats:HoldCapacity=0");
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(a.Telnet);
        await alice.Lines.WaitForAsync("for everything else.", s_coreStart);
        await alice.SendAsync("create Alice");
        await alice.Lines.WaitForAsync("Choose a password for Alice");
        await alice.WaitForCommandAsync(Iac, Will, Echo); // the echo is off

        await cluster.KillCoreAsync();
        await alice.Lines.WaitForAsync("The world is restarting");
        await alice.SendAsync(GameServer.Password); // nothing may be held: refused, and the player told

        string notice = await alice.Lines.WaitForAsync("was not kept");
        Assert.That(notice, Does.Not.Contain(GameServer.Password));
        Assert.That(notice, Does.Contain("not shown: the echo was off"));
    }
}
