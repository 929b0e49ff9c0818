using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>The NATS server goes away while the core sends output to a remote portal's players.</summary>
public sealed partial class CoreWithRemotePortalTests
{
    /// <summary>
    /// With the NATS server stopped, the core goes on making output for a remote portal's player (here it still counts
    /// the portal as attached: its heartbeat timeout is long). Its own players are served all along, and that output is
    /// dropped, counted and logged rather than kept: nothing waits for the NATS server, so what is queued drains while
    /// it is still down. Before, the sender waited in its publish for the NATS server to come back, and everything made
    /// meanwhile piled up behind it (up to a million entries a portal). When the server is back, the remote player plays on.
    /// </summary>
    [Test]
    public async Task OutputForARemotePortalIsDroppedNotKeptWhileTheNatsServerIsDownAndFlowsAgainAfter()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await StartCoreAsync(nats, s =>
        {
            s.Nats.HeartbeatTimeout = TimeSpan.FromMinutes(10);
            s.Portal.CommandRateLimit = 0; // Bob types as fast as the test can
        });
        await using ServerProcess portal = await StartPortalAsync(nats);
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await alice.Lines.WaitForAsync("Welcome");
        await using TelnetTestClient bob = await server.TelnetAsync();
        await bob.Lines.WaitForAsync("Welcome");
        Dominance.Nats.CoreRelay relay = server.Server.Relay!;

        await nats.StopAsync();
        for (int i = 0; i < 20; i++)
        {
            await bob.SendAsync("flood 100 100"); // 100 lines to everyone, Alice on the remote portal too
            await bob.Lines.WaitForAsync("flooded"); // the core serves its own player all along
        }

        await Poll.UntilAsync(() => relay.OutputQueued == 0, "no output waits for the NATS server");
        Assert.That(relay.OutputDropped, Is.GreaterThan(0), "it was dropped");
        await Poll.UntilAsync(() => server.Log.Contains("is being dropped"), "and logged");
        using (var http = new HttpClient())
        {
            string metrics = await http.GetStringAsync($"http://{server.Server.MetricsEndPoint}/metrics");
            Assert.That(metrics, Does.Match(@"dominance_nats_output_dropped_total\{otel_scope_name=""Dominance""\} [1-9]"), "and counted in the metrics");
        }

        await nats.StartAgainAsync();
        // Bob speaks until Alice hears him: output reaches the remote portal again. (Not one line only: output is at
        // most once, and a line made while the core's connection is still coming back is dropped.)
        int said = 0;
        await Poll.UntilAsync(
            async () =>
            {
                await bob.SendAsync($"say ping {++said}");
                await bob.Lines.WaitForAsync($"You say: ping {said}");
                return alice.Lines.Raw.Any(l => l.Contains("says: ping", StringComparison.Ordinal));
            },
            "Alice hears Bob again",
            TimeSpan.FromSeconds(60));
        await alice.SendAsync("echo back");
        await alice.Lines.WaitForAsync("back");
    }
}
