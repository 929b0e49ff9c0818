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

    [Test]
    public async Task TheNatsServersPasswordInNatsUrlIsNeitherLoggedNorPrinted()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["DOMINANCE__Nats__Url"] = $"nats://{nats.User}:{nats.Password}@{nats.Address}:{nats.Port}",
            ["DOMINANCE__Nats__Secret"] = Secret,
        };
        await using ServerProcess core = ServerProcess.Start(["run", "--no-local-portal", "--Game:Seed=7"], environment);
        await Poll.UntilAsync(() => core.Output.Contains("takes remote portals over NATS", StringComparison.Ordinal), "the core takes portals", s_coreStart);
        await using ServerProcess portal = ServerProcess.Start(["portal"], environment);
        await portal.WaitUntilRunningAsync();
        await Poll.UntilAsync(() => portal.Output.Contains("attached to core", StringComparison.Ordinal), "the portal attaches to the core", s_coreStart);

        Assert.That(core.Output, Does.Contain($"nats://***@{nats.Address}:{nats.Port}").And.Not.Contain(nats.Password), "the core's log line and banner");
        Assert.That(portal.Output, Does.Contain($"nats://***@{nats.Address}:{nats.Port}").And.Not.Contain(nats.Password), "the portal's");
    }
}
