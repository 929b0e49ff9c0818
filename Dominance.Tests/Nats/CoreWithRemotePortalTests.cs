using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Dominance.Api;
using Dominance.Nats;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Nats;

/// <summary>
/// A core in process, around <see cref="TestModule"/> (so that a test can see every callback, or make game code stuck),
/// serving a real portal process over a real nats-server.
/// </summary>
public sealed partial class CoreWithRemotePortalTests
{
    private const string Secret = "the-shared-secret-of-this-test";

    /// <summary>
    /// The core drops a portal that is still alive (here SIGSTOP makes it silent past <c>Nats:HeartbeatTimeout</c>), and
    /// parks its logged-in browser session. When the portal attaches again it connects the session again with the same
    /// id, but vouches for no account (this game never called <see cref="IGameContext.SetAccount"/>, so the portal holds
    /// no restore token): the parked session ends first, and the connection starts as a new session. Before, the connect
    /// of an id still in the table threw on the game thread, and the process died.
    /// </summary>
    [Test]
    public async Task AParkedSessionThatItsReattachingPortalCannotVouchForEndsBeforeTheConnectionStartsAgain()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await StartCoreAsync(nats);
        await using ServerProcess portal = await StartPortalAsync(nats);
        await using WebSocketTestClient alice = await WebSocketTestClient.ConnectAsync(portal.Http, gmcp: true);
        string welcome = await alice.Lines.WaitForAsync("Welcome");
        await alice.SendAsync("create alice");
        await alice.Lines.WaitForAsync("logged in alice");

        portal.Signal(19); // SIGSTOP: the portal stays connected, but says nothing
        try
        {
            await Poll.UntilAsync(() => server.Log.Contains("(alice) lost its connection"), "the core drops the portal and parks alice");
        }
        finally
        {
            portal.Signal(18); // SIGCONT: it attaches again, and connects alice's session again
        }

        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 2, "the game sees the connection start again");
        SessionId id = server.TestModule.Connected.First();
        Assert.That(server.TestModule.Connected, Is.EqualTo(new[] { id, id }));
        Assert.That(server.TestModule.Disconnected, Is.EqualTo(new[] { id }), "the parked session ended");
        Assert.That(
            server.TestModule.Threads.Select(t => t.Callback).Where(c => c is "OnConnect" or "OnDisconnect"),
            Is.EqualTo(new[] { "OnConnect", "OnDisconnect", "OnConnect" }),
            "it ended before the new one started");
        await alice.SendAsync("echo still here");
        await alice.Lines.WaitForAsync("still here");
        Assert.That(alice.Lines.Seen.Count(l => l == welcome), Is.EqualTo(2), "welcomed as a new session");
    }

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
        TestServer server = await StartCoreAsync(nats, s =>
        {
            s.Core.InboundCapacity = 8;
            s.Portal.ShutdownGrace = TimeSpan.FromSeconds(1);
            s.Persistence.ShutdownSaveTimeout = TimeSpan.FromSeconds(1);
            s.Persistence.SaveInterval = TimeSpan.FromMilliseconds(50); // a periodic save is waiting for the stuck game thread when the stop comes
        });
        try
        {
            await using ServerProcess portal = await StartPortalAsync(nats);
            await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
            await alice.Lines.WaitForAsync("Welcome");

            server.TestModule.Hold.Reset();
            await alice.SendAsync("hold"); // game code that never returns, as an endless loop would
            for (int i = 0; i < 50; i++)
            {
                await alice.SendAsync($"echo {i}");
            }

            // Both: the pipe can be full while "hold" still waits in it, and a stop then would be answered first.
            await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "hold"), "the game thread is stuck");
            await Poll.UntilAsync(() => server.Server.Core.Inbound.Count >= 8, "the inbound pipe fills behind the stuck game thread");

            await server.DisposeAsync(); // a graceful stop; it must end on its own deadlines

            Assert.That(server.Server.ShutdownFailure, Does.StartWith("the game thread did not answer"), "a shutdown that could not save is not a success");
        }
        finally
        {
            server.TestModule.Hold.Set();
        }
    }

    /// <summary>
    /// A browser whose session is parked comes back with <c>/ws?resume=TOKEN</c> while its portal has no core attached
    /// (the NATS server is down). When the portal attaches again, to the same core, it connects the session again with
    /// the token, and the player takes her parked session back. Before, the connect was sent again without the token
    /// (the portal rebuilt it from the session and dropped the resume token): the core started a new session instead,
    /// and the player was logged out.
    /// </summary>
    [Test]
    public async Task ABrowserThatComesBackWithItsResumeTokenWhileNoCoreIsAttachedResumesWhenTheCoreIsBack()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await StartCoreAsync(nats);
        await using ServerProcess portal = await StartPortalAsync(nats);
        WebSocketTestClient alice = await WebSocketTestClient.ConnectAsync(portal.Http, gmcp: true);
        await alice.Lines.WaitForAsync("Welcome");
        await alice.SendAsync("create alice");
        await alice.Lines.WaitForAsync("logged in alice");
        string token = TokenOf(await alice.Data.WaitForAsync(Dominance.Core.SessionResume.TokenPackage + " "));
        await alice.DisposeAsync(); // the connection drops without a close handshake
        await Poll.UntilAsync(() => server.Log.Contains("(alice) lost its connection"), "the core parks alice");

        await nats.StopAsync();
        await Poll.UntilAsync(() => portal.Output.Contains("Lost core", StringComparison.Ordinal), "the portal notices its core has gone");
        await using WebSocketTestClient back = await WebSocketTestClient.ConnectAsync(portal.Http, gmcp: true, resume: token);
        Assert.That(await back.Lines.WaitForAsync("The world is restarting"), Is.EqualTo(PortalRelay.RestartingNotice), "connected while no core is attached");
        await back.SendAsync("echo back again"); // held, and run after the connect
        await nats.StartAgainAsync();

        await back.Lines.WaitForAsync("back again", TimeSpan.FromSeconds(60));
        Assert.That(server.TestModule.Resumed, Has.Count.EqualTo(1), "her parked session resumed");
        Assert.That(server.TestModule.Connected, Has.Count.EqualTo(1), "no new session");
        Assert.That(server.Log.Contains("(alice) resumed on connection"), Is.True);
    }

    /// <summary>
    /// A player connects while no core is attached, and her client goes on resizing its window and sending GMCP. The
    /// portal keeps what a core will need, within <c>Nats:HoldCapacity</c>: her connect (which carries her latest
    /// window size: a window change is not kept on its own), at most that many inputs, and at most that many
    /// out-of-band messages (the rest dropped and logged). The core that attaches sees the latest size, and the kept
    /// messages and inputs in order. Before, every window change and GMCP message was kept, and what the portal held
    /// grew with the length of the outage.
    /// </summary>
    [Test]
    public async Task WithNoCoreAttachedWindowChangesAndGmcpAreHeldWithinTheBoundAndTheCoreSeesTheLatestSize()
    {
        const int Hold = 3;
        await using NatsServer nats = await NatsServer.StartAsync();
        await using ServerProcess portal = ServerProcess.Start(["portal", "--Portal:CommandRateLimit=0", $"--Nats:HoldCapacity={Hold}"], nats.Environment(Secret));
        await portal.WaitUntilRunningAsync();
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
        Assert.That(await alice.Lines.WaitForAsync("The world is restarting"), Is.EqualTo(PortalRelay.RestartingNotice));
        await alice.SendRawAsync([Iac, Will, WindowSize, Iac, Do, Gmcp]);
        for (int i = 1; i <= 200; i++)
        {
            await alice.SendRawAsync([Iac, Sb, WindowSize, 0, (byte)(40 + i), 0, 50, Iac, Se, Iac, Sb, Gmcp, .. Encoding.UTF8.GetBytes($"Test.Ping {{\"n\":{i}}}"), Iac, Se]);
        }

        for (int i = 1; i <= Hold + 1; i++)
        {
            await alice.SendAsync($"echo held {i}");
        }

        // Refused after everything she sent before it has been taken.
        Assert.That(await alice.Lines.WaitForAsync("was not kept"), Does.Contain($"{Hold} of your commands are already waiting"));
        using var http = new HttpClient();
        string metrics = await http.GetStringAsync($"http://{portal.Http}/metrics");
        Match held = HeldEvents().Match(metrics);
        Assert.That(held.Success, Is.True, metrics);
        Assert.That(int.Parse(held.Groups[1].Value, CultureInfo.InvariantCulture), Is.LessThanOrEqualTo(1 + 2 * Hold), "her connect, and at most the bound of inputs and of out-of-band messages");

        await using TestServer server = await StartCoreAsync(nats);
        await alice.Lines.WaitForAsync("Welcome");
        for (int i = 1; i <= Hold; i++)
        {
            Assert.That(await alice.Lines.WaitForAsync("got data Test.Ping"), Is.EqualTo($"got data Test.Ping {{\"n\":{i}}}"), "the first out-of-band messages, in order");
        }

        for (int i = 1; i <= Hold; i++)
        {
            Assert.That(await alice.Lines.WaitForAsync("held "), Is.EqualTo($"held {i}"), "the held inputs, in order");
        }

        await alice.SendAsync("size");
        Assert.That(await alice.Lines.WaitForAsync("size="), Is.EqualTo("size=240x50;terminal="), "the latest window size");
        Assert.That(alice.Lines.Seen.Count(l => l.StartsWith("got data", StringComparison.Ordinal)), Is.EqualTo(Hold), "the messages over the bound were dropped");
        await Poll.UntilAsync(() => portal.Output.Contains("out-of-band message(s) dropped", StringComparison.Ordinal), "the portal logs what it dropped");
    }

    /// <summary>A core in process around a <see cref="TestModule"/>, taking portals over <paramref name="nats"/>.</summary>
    private static Task<TestServer> StartCoreAsync(NatsServer nats, Action<Dominance.Hosting.DominanceSettings>? configure = null) => TestServer.StartAsync(s =>
    {
        nats.Configure(s, Secret);
        configure?.Invoke(s);
    });

    /// <summary>Starts a portal process (without a command rate limit) and waits until it has attached to the core.</summary>
    private static async Task<ServerProcess> StartPortalAsync(NatsServer nats)
    {
        ServerProcess portal = ServerProcess.Start(["portal", "--Portal:CommandRateLimit=0"], nats.Environment(Secret));
        await portal.WaitUntilRunningAsync();
        await Poll.UntilAsync(() => portal.Output.Contains("attached to core", StringComparison.Ordinal), "the portal attaches to the core");
        return portal;
    }

    private static string TokenOf(string message)
    {
        using var json = System.Text.Json.JsonDocument.Parse(message[(Dominance.Core.SessionResume.TokenPackage.Length + 1)..]);
        return json.RootElement.GetProperty("token").GetString()!;
    }

    [GeneratedRegex(@"dominance_core_held_events\{[^}]*\} (\d+)")]
    private static partial Regex HeldEvents();
}
