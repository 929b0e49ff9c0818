using System.Text.Json;
using System.Text.RegularExpressions;
using Dominance.Core;
using Dominance.Nats;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Nats;

/// <summary>
/// Portals in their own processes, reaching a core in another over a real nats-server: players on different portals
/// play together, a portal with the wrong secret is refused, a portal that dies costs only its own players, and a core
/// that is killed and started again gets everyone back with their characters, their input kept in order.
/// </summary>
public sealed partial class ClusterTests
{
    private const string Secret = "the-shared-secret-of-this-test";

    /// <summary>A core's start compiles the game (seconds, more on a busy machine): waits that span one are longer.</summary>
    private static readonly TimeSpan s_coreStart = TimeSpan.FromSeconds(120);

    /// <summary>
    /// How long a process may take to stop when NATS is gone: several times its bound on NATS at shutdown (a busy machine
    /// is slow to run a host's shutdown), and well under the ~10 s it took before that bound.
    /// </summary>
    private static readonly TimeSpan s_promptStop = TimeSpan.FromSeconds(8);

    [Test]
    public async Task ATelnetPlayerOnOnePortalAndAWebSocketPlayerOnAnotherChat()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using ServerProcess b = await cluster.StartPortalAsync();

        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await using WebSocketTestClient bob = await CreateOverWebSocketAsync(b, "Bob");

        await alice.SendAsync("chat hello from portal A");
        Assert.That(await bob.Lines.WaitForAsync("hello from portal A"), Does.Contain("Alice"));
        await bob.SendAsync("chat and hello from portal B");
        Assert.That(await alice.Lines.WaitForAsync("and hello from portal B"), Does.Contain("Bob"));
    }

    [Test]
    public async Task APortalWithTheWrongSecretIsRefused()
    {
        await using var cluster = await Cluster.StartAsync();
        Dictionary<string, string> environment = cluster.Nats.Environment("not-the-secret-of-this-core");
        await using ServerProcess portal = ServerProcess.Start(["portal"], environment);

        Assert.That(await portal.ExitCodeAsync(s_coreStart), Is.EqualTo(1), portal.Output);
        Assert.That(portal.Output, Does.Contain("the core refused this portal: wrong shared secret"));
        Assert.That(cluster.Core.Output, Does.Contain("Refused portal").And.Contain("did not present the shared secret"));
    }

    [Test]
    public async Task APortalLogsAsTheCoreDoesInJsonBySetting()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess portal = await cluster.StartPortalAsync("--Logging:Console:FormatterName=json");
        portal.Signal(15);
        Assert.That(await portal.ExitCodeAsync(), Is.Zero, portal.Output);

        string[] lines = [.. portal.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("Dominance is running", StringComparison.Ordinal))];
        Assert.That(lines, Has.Length.GreaterThanOrEqualTo(2), portal.Output);
        var messages = new List<string>();
        foreach (string line in lines)
        {
            using JsonDocument entry = JsonDocument.Parse(line); // throws, failing the test, on a line that is not JSON
            Assert.That(entry.RootElement.GetProperty("Timestamp").GetString(), Does.Match(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"), "dated in UTC, as the core's lines");
            messages.Add(entry.RootElement.GetProperty("Message").GetString()!);
        }

        Assert.That(messages, Has.Some.Match("attached to core"), "the portal's own lines are among them");
    }

    [Test]
    public async Task APortalServesItsOwnMetricsAndAuditsItsConnections()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess portal = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(portal, "Alice");
        using var http = new HttpClient();

        string text = await http.GetStringAsync($"http://{portal.Http}/metrics");
        Assert.That(text, Does.Contain("dominance_sessions{otel_scope_name=\"Dominance\",transport=\"telnet\"} 1"), "the portal's own sessions");
        Assert.That(text, Does.Contain("dominance_core_attached{otel_scope_name=\"Dominance\"} 1"));
        Assert.That(text, Does.Match(@"dominance_inputs_relayed_total\{otel_scope_name=""Dominance""\} [1-9]"), "the lines Alice typed to log in");

        await cluster.KillCoreAsync();
        await Poll.UntilAsync(
            async () => (await http.GetStringAsync($"http://{portal.Http}/metrics")).Contains("dominance_core_attached{otel_scope_name=\"Dominance\"} 0", StringComparison.Ordinal),
            "the portal's metrics say it has no core");
        await Poll.UntilAsync(() => portal.Output.Contains("Dominance.Audit", StringComparison.Ordinal) && portal.Output.Contains("Connected: session", StringComparison.Ordinal), "the portal audits the connection");
    }

    [Test]
    public async Task APortalThatDiesCostsOnlyItsOwnPlayersAndTheCoreLogsThemOff()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using ServerProcess b = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await using TelnetTestClient bob = await CreateOverTelnetAsync(b, "Bob");
        await alice.SendAsync("chat before");
        await bob.Lines.WaitForAsync("before");

        a.Signal(9); // no goodbye: only the heartbeat can tell the core

        Assert.That(await bob.Lines.WaitForAsync("has left the realm"), Does.Contain("Alice"));
        // The console logger writes asynchronously: the log line may follow Bob's message by a moment.
        await Poll.UntilAsync(() => cluster.Core.Output.Contains("no heartbeat for", StringComparison.Ordinal) && cluster.Core.Output.Contains("1 session(s) disconnected", StringComparison.Ordinal), "the core logs the portal's players off");
        await bob.SendAsync("chat still here");
        Assert.That(await bob.Lines.WaitForAsync("still here"), Does.Contain("Bob"));
        await bob.SendAsync("who");
        Assert.That(await bob.Lines.WaitForAsync("Playing now"), Is.EqualTo("Playing now (1):"), "Alice is logged off");
    }

    [Test]
    public async Task ACoreKilledAndStartedAgainGetsEveryoneBackWithTheirCharacters()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using ServerProcess b = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await using WebSocketTestClient bob = await CreateOverWebSocketAsync(b, "Bob");
        await alice.SendAsync("train 3");
        await alice.Lines.WaitForAsync("You train 3");
        await alice.SendAsync("save");
        await alice.Lines.WaitForAsync("Saved (save #");

        await cluster.KillCoreAsync();
        Assert.That(await alice.Lines.WaitForAsync("The world is restarting"), Is.EqualTo(PortalRelay.RestartingNotice));
        Assert.That(await bob.Lines.WaitForAsync("The world is restarting"), Is.EqualTo(PortalRelay.RestartingNotice));
        await alice.SendAsync("score"); // typed while no core runs: held, and answered by the next one
        await cluster.StartCoreAsync();

        await alice.Lines.WaitForAsync("The world is back, and so are you.", s_coreStart);
        await alice.Lines.WaitForAsync("Welcome, Alice.");
        Assert.That(await alice.Lines.WaitForAsync("Resources:"), Does.Contain("Resources: 70"), "the world from the save: 100 - 3 soldiers x 10");
        await bob.Lines.WaitForAsync("The world is back, and so are you.", s_coreStart);
        await bob.Lines.WaitForAsync("Welcome, Bob.");
        await bob.SendAsync("chat back again");
        Assert.That(await alice.Lines.WaitForAsync("back again"), Does.Contain("Bob"));
    }

    [Test]
    public async Task ACoreStoppedGracefullyLeavesRemotePlayersConnectedAndSavesTheirWorld()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await alice.SendAsync("train 2");
        await alice.Lines.WaitForAsync("You train 2");

        cluster.Core.Signal(15);
        Assert.That(await alice.Lines.WaitForAsync("The world is restarting"), Is.EqualTo(PortalRelay.RestartingNotice));
        Assert.That(await cluster.Core.ExitCodeAsync(), Is.Zero, cluster.Core.Output);
        await alice.SendAsync("score");
        await cluster.StartCoreAsync();

        await alice.Lines.WaitForAsync("The world is back, and so are you.", s_coreStart);
        Assert.That(await alice.Lines.WaitForAsync("Resources:"), Does.Contain("Resources: 80"), "the final save of the stopped core: 100 - 2 soldiers x 10");
    }

    /// <summary>
    /// A graceful stop hands the game each remote session's departure before the final save. A logged-in browser's
    /// session ends there as any other (nothing in a stopping core would resume it), so the game sees every player leave
    /// without waiting out <c>Portal:ShutdownGrace</c>, and the player is back, restored, with the next core. Before,
    /// the browser's session was parked instead: the stop waited the whole grace for a departure that never came, warned,
    /// and saved the world with the player still in it.
    /// </summary>
    [Test]
    public async Task ACoreStoppedGracefullySeesARemoteBrowserLeaveBeforeItsSave()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using WebSocketTestClient alice = await CreateOverWebSocketAsync(a, "Alice", gmcp: true);

        cluster.Core.Signal(15);
        Assert.That(await cluster.Core.ExitCodeAsync(), Is.Zero, cluster.Core.Output);
        Assert.That(cluster.Core.Output, Does.Not.Contain("had not seen every departure"), cluster.Core.Output);
        Assert.That(cluster.Core.Output, Does.Not.Contain("(Alice) lost its connection"), "ended, not parked");

        await cluster.StartCoreAsync();
        await alice.Lines.WaitForAsync("The world is back, and so are you.", s_coreStart);
    }

    [Test]
    public async Task InputKeepsItsOrderAcrossACoreRestart()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync("--Portal:CommandRateLimit=0", "--Nats:HoldCapacity=1000");
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await alice.SendAsync("save");
        await alice.Lines.WaitForAsync("Saved (save #");

        var said = new List<int>();
        for (int i = 1; i <= 500; i++)
        {
            await alice.SendAsync($"say {i}");
        }

        await CollectSaidAsync(alice, said, until: 500, Poll.Deadline);
        await cluster.KillCoreAsync();
        for (int i = 501; i <= 1000; i++)
        {
            await alice.SendAsync($"say {i}"); // the first of these reach no core, before the portal notices it has gone
        }

        await cluster.StartCoreAsync();
        await CollectSaidAsync(alice, said, until: 1000, s_coreStart);

        Assert.That(said, Is.EqualTo(Enumerable.Range(1, 1000)), "every input answered once, in the order typed");
    }

    [Test]
    public async Task ABrowserResumesItsSessionThroughAnotherPortalAndComesBackAfterACoreRestartWithoutTheBanner()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using ServerProcess b = await cluster.StartPortalAsync();
        WebSocketTestClient alice = await WebSocketTestClient.ConnectAsync(a.Http, gmcp: true);
        await alice.Lines.WaitForAsync("for everything else.", s_coreStart);
        await alice.SendAsync($"create Alice {GameServer.Password}");
        await alice.Lines.WaitForAsync("Welcome, Alice.");
        string token = TokenOf(await alice.Data.WaitForAsync(SessionResume.TokenPackage + " "));
        await using TelnetTestClient bob = await CreateOverTelnetAsync(b, "Bob");

        await alice.DisposeAsync(); // the connection drops without a close handshake
        await Poll.UntilAsync(() => cluster.Core.Output.Contains("(Alice) lost its connection", StringComparison.Ordinal), "the core parks Alice's session");
        await bob.SendAsync("chat while you were away");
        await bob.Lines.WaitForAsync("while you were away");

        // Back through the other portal: the same session, with the line it missed, and no login.
        await using WebSocketTestClient back = await WebSocketTestClient.ConnectAsync(b.Http, gmcp: true, resume: token);
        Assert.That(await back.Lines.WaitForAsync("while you were away"), Does.Contain("Bob"));
        await back.Data.WaitForAsync(SessionResume.TokenPackage + " ");
        await back.SendAsync("chat I am back");
        Assert.That(await bob.Lines.WaitForAsync("I am back"), Does.Contain("Alice"));
        Assert.That(cluster.Core.Output, Does.Contain("(Alice) resumed on connection"));
        Assert.That(back.Lines.Seen, Has.None.Contain("for everything else."), "no banner: not a new session");

        // The resumed connection comes back after a core restart too, straight into the game.
        await cluster.KillCoreAsync();
        await back.Lines.WaitForAsync("The world is restarting");
        await cluster.StartCoreAsync();
        await back.Lines.WaitForAsync("The world is back, and so are you.", s_coreStart);
        string[] afterRestart = [.. back.Lines.Seen.SkipWhile(l => !l.Contains("The world is restarting", StringComparison.Ordinal))];
        Assert.That(afterRestart, Has.None.Contain("for everything else."), "a restored player sees no login banner");
        Assert.That(TokenOf(await back.Data.WaitForAsync(SessionResume.TokenPackage + " ")), Is.Not.EqualTo(token), "and a token to resume on the new core");
        await back.SendAsync("chat restored");
        Assert.That(await bob.Lines.WaitForAsync("restored"), Does.Contain("Alice"));
    }

    [Test]
    public async Task MsspOnAPortalCountsThePlayersOfTheWholeGameAsTheCoreCountsThem()
    {
        await using var cluster = await Cluster.StartAsync();
        // The crawlers below poll: a connection each time, past the default limit of connections per address.
        await using ServerProcess a = await cluster.StartPortalAsync("--Portal:ConnectionRateLimit=0");
        await using ServerProcess b = await cluster.StartPortalAsync("--Portal:ConnectionRateLimit=0");
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await using TelnetTestClient onlooker = await TelnetTestClient.ConnectAsync(a.Telnet);
        await onlooker.Lines.WaitForAsync("for everything else.");
        await using TelnetTestClient guest = await TelnetTestClient.ConnectAsync(b.Telnet);
        await guest.Lines.WaitForAsync("for everything else.");
        await guest.SendAsync("connect guest");
        await guest.Lines.WaitForAsync("Exits:");

        // Portal A has three connections (with the crawler's) and one player; the game has two, one on each portal.
        // The count comes with the core's next heartbeat.
        await Poll.UntilAsync(async () => await MsspCrawler.PlayersAsync(a.Telnet) == "2", "portal A reports Alice and B's guest");
        await guest.SendAsync("quit");
        await guest.Lines.ClosedAsync();
        await Poll.UntilAsync(async () => await MsspCrawler.PlayersAsync(a.Telnet) == "1", "the guest counted out after quitting");
        await Poll.UntilAsync(async () => await MsspCrawler.PlayersAsync(b.Telnet) == "1", "portal B, with no player of its own, reports Alice");
    }

    [Test]
    public async Task APromptCrossesTheWireAsAPromptMarkedWithEor()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");

        await alice.SendRawAsync([Iac, Do, Eor]);
        await alice.SendAsync("prompt on");
        await alice.Lines.WaitForAsync("The prompt is on.");
        await alice.SendAsync("look");
        await alice.WaitForCommandAsync(Iac, EndOfRecord); // a text line would have lost its end-of-record mark
        await alice.SendAsync("say hi");
        string line = await alice.Lines.WaitForAsync("You say: hi");
        Assert.That(line, Does.Match(@"^\[100 resources \| \d+ soldiers \| \w+\] > You say: hi$"), "the prompt has no line end: what came after it follows on its line");
    }

    [Test]
    public async Task APortalStopsPromptlyWhenTheNatsServerIsAlreadyGone()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");

        await cluster.Nats.DisposeAsync();
        a.Signal(15);

        // Bounded by Nats:ShutdownTimeout (1 s) for what it still has to send; before, NATS.Net's reconnecting held it ~10 s.
        Assert.That(await a.ExitCodeAsync(s_promptStop), Is.Zero, a.Output);
        Assert.That(await alice.Lines.WaitForAsync("This portal is shutting down"), Is.EqualTo(Dominance.Hosting.PortalLifetime.ShutdownMessage));
    }

    [Test]
    public async Task ACoreStopsPromptlyWhenTheNatsServerIsAlreadyGone()
    {
        await using var cluster = await Cluster.StartAsync();
        await using ServerProcess a = await cluster.StartPortalAsync();
        await using TelnetTestClient alice = await CreateOverTelnetAsync(a, "Alice");
        await alice.SendAsync("train 2");
        await alice.Lines.WaitForAsync("You train 2");

        await cluster.Nats.DisposeAsync();
        cluster.Core.Signal(15);

        // Before, telling the portals (a publish that waits for NATS to come back) held it for ever. Exit code 0: the
        // final save was made.
        Assert.That(await cluster.Core.ExitCodeAsync(s_promptStop), Is.Zero, cluster.Core.Output);
    }

    private static string TokenOf(string message)
    {
        using var json = System.Text.Json.JsonDocument.Parse(message[(SessionResume.TokenPackage.Length + 1)..]);
        return json.RootElement.GetProperty("token").GetString()!;
    }

    private static async Task CollectSaidAsync(TelnetTestClient client, List<int> said, int until, TimeSpan deadline)
    {
        while (said.Count == 0 || said[^1] < until)
        {
            string line = await client.Lines.WaitForAsync(l => l.StartsWith("You say: ", StringComparison.Ordinal), deadline);
            said.Add(int.Parse(line["You say: ".Length..], System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static async Task<TelnetTestClient> CreateOverTelnetAsync(ServerProcess portal, string name)
    {
        TelnetTestClient client = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await client.Lines.WaitForAsync("for everything else.", s_coreStart);
        await client.SendAsync($"create {name} {GameServer.Password}");
        await client.Lines.WaitForAsync($"Welcome, {name}.");
        await client.Lines.WaitForAsync("Exits:");
        return client;
    }

    private static async Task<WebSocketTestClient> CreateOverWebSocketAsync(ServerProcess portal, string name, bool gmcp = false)
    {
        WebSocketTestClient client = await WebSocketTestClient.ConnectAsync(portal.Http, gmcp);
        await client.Lines.WaitForAsync("for everything else.", s_coreStart);
        await client.SendAsync($"create {name} {GameServer.Password}");
        await client.Lines.WaitForAsync($"Welcome, {name}.");
        await client.Lines.WaitForAsync("Exits:");
        return client;
    }

    /// <summary>A nats-server and a core without a portal of its own; portals are added by the test.</summary>
    private sealed partial class Cluster : IAsyncDisposable
    {
        private readonly List<ServerProcess> _cores = [];
        private readonly string _folder = Directory.CreateTempSubdirectory("dominance-cluster-").FullName;

        private Cluster(NatsServer nats) => Nats = nats;

        public NatsServer Nats { get; }

        public ServerProcess Core => _cores[^1];

        /// <summary>Starts a nats-server (with <paramref name="maxPayload"/> as its max_payload, if given) and a core.</summary>
        public static async Task<Cluster> StartAsync(int? maxPayload = null)
        {
            var cluster = new Cluster(await NatsServer.StartAsync(maxPayload: maxPayload));
            await cluster.StartCoreAsync();
            return cluster;
        }

        /// <summary>Starts a core on the cluster's database and waits until it takes portals.</summary>
        public async Task StartCoreAsync()
        {
            ServerProcess core = ServerProcess.Start(
                ["run", "--no-local-portal", "--Game:Seed=7", "--Game:TickSeconds=3600", $"--Persistence:SqliteFile={Path.Combine(_folder, "dominance.db")}"],
                Nats.Environment(Secret));
            _cores.Add(core);
            await Poll.UntilAsync(() => core.Output.Contains("takes remote portals over NATS", StringComparison.Ordinal), "the core takes portals", s_coreStart);
        }

        /// <summary>Kills the core with SIGKILL: no goodbye, no final save.</summary>
        public async Task KillCoreAsync()
        {
            Core.Signal(9);
            await Core.ExitCodeAsync();
        }

        /// <summary>Starts a portal and waits until it has attached to the core.</summary>
        public async Task<ServerProcess> StartPortalAsync(params string[] args)
        {
            ServerProcess portal = ServerProcess.Start(["portal", .. args], Nats.Environment(Secret));
            await portal.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => AttachedLine().IsMatch(portal.Output), "the portal attaches to the core", s_coreStart);
            return portal;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (ServerProcess core in _cores)
            {
                await core.DisposeAsync();
            }

            await Nats.DisposeAsync();
            Directory.Delete(_folder, recursive: true);
        }

        [GeneratedRegex("Portal [0-9a-f]+ attached to core")]
        private static partial Regex AttachedLine();
    }
}
