using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>
/// A core in process (around <see cref="TestModule"/>, so that a test can make its game code stuck) serving a real
/// portal process over a real nats-server, and stopping.
/// </summary>
public sealed class CoreStopTests
{
    private const string Secret = "the-shared-secret-of-this-test";

    /// <summary>
    /// Game code stuck in a loop, and a remote player who goes on typing: the inbound pipe fills, and nothing takes from
    /// it any more. A graceful stop still ends on its deadlines and reports that the game thread did not answer. Before,
    /// handing the game the remote sessions' departures waited for room in that pipe with no deadline, and the stop hung
    /// for ever.
    /// </summary>
    [Test]
    public async Task AStopWhileGameCodeIsStuckAndTheRemotePlayersInputFillsThePipeEndsOnItsDeadlines()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        TestServer server = await TestServer.StartAsync(s =>
        {
            s.Nats.Url = nats.Url;
            s.Nats.User = nats.User;
            s.Nats.Password = nats.Password;
            s.Nats.Secret = Secret;
            s.Core.InboundCapacity = 8;
            s.Portal.ShutdownGrace = TimeSpan.FromSeconds(1);
            s.Persistence.ShutdownSaveTimeout = TimeSpan.FromSeconds(1);
        });
        try
        {
            await using ServerProcess portal = ServerProcess.Start(["portal", "--Portal:CommandRateLimit=0"], nats.Environment(Secret));
            await portal.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => portal.Output.Contains("attached to core", StringComparison.Ordinal), "the portal attaches to the core");
            await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
            await alice.Lines.WaitForAsync("Welcome");

            server.TestModule.Hold.Reset();
            await alice.SendAsync("hold"); // game code that never returns, as an endless loop would
            for (int i = 0; i < 50; i++)
            {
                await alice.SendAsync($"echo {i}");
            }

            await Poll.UntilAsync(() => server.Server.Core.Inbound.Count >= 8, "the inbound pipe fills behind the stuck game thread");

            await server.DisposeAsync(); // a graceful stop; it must end on its own deadlines

            Assert.That(server.Server.ShutdownFailure, Does.StartWith("the game thread did not answer"), "a shutdown that could not save is not a success");
        }
        finally
        {
            server.TestModule.Hold.Set();
        }
    }
}
