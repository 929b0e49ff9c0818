using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

public sealed partial class ClusterTests
{
    /// <summary>
    /// Nothing assumes loopback: a portal in a network namespace of its own (another machine, as far as the network
    /// goes) reaches nats-server and the core over a veth pair, its player reaches it over the pair too, and that player
    /// chats with one on the core's own portal.
    /// </summary>
    [Test]
    public async Task APortalInItsOwnNetworkNamespaceServesAPlayerWhoChatsWithOneOnTheCoresPortal()
    {
        await using NetworkNamespace net = await NetworkNamespace.CreateAsync();
        // Listening on the pair's address only: a portal that reached it over loopback would not get in.
        await using NatsServer nats = await NatsServer.StartAsync(net.HostAddress);
        string database = Directory.CreateTempSubdirectory("dominance-netns-").FullName;
        try
        {
            await using ServerProcess core = ServerProcess.Start(
                ["run", "--Game:Seed=7", "--Game:TickSeconds=3600", $"--Persistence:SqliteFile={Path.Combine(database, "dominance.db")}"],
                nats.Environment(Secret));
            await core.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => core.Output.Contains("takes remote portals over NATS", StringComparison.Ordinal), "the core takes portals", s_coreStart);

            await using ServerProcess portal = ServerProcess.Start(
                ["portal", "--host", net.InsideAddress.ToString()], nats.Environment(Secret), launcher: net.Launcher);
            await portal.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => portal.Output.Contains("attached to core", StringComparison.Ordinal), "the portal in the namespace attaches to the core", s_coreStart);
            Assert.That(portal.Telnet.Address, Is.EqualTo(net.InsideAddress), "the portal listens in its namespace");

            await using TelnetTestClient alice = await CreateOverTelnetAsync(portal, "Alice");
            await using TelnetTestClient bob = await CreateOverTelnetAsync(core, "Bob");

            await alice.SendAsync("chat hello from another namespace");
            Assert.That(await bob.Lines.WaitForAsync("hello from another namespace"), Does.Contain("Alice"));
            await bob.SendAsync("chat and hello from the core's portal");
            Assert.That(await alice.Lines.WaitForAsync("and hello from the core's portal"), Does.Contain("Bob"));
        }
        finally
        {
            Directory.Delete(database, recursive: true);
        }
    }
}
