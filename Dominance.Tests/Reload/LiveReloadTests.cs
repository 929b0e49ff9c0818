using System.Net.Http.Json;
using System.Text.Json;
using Dominance.Reload;
using Dominance.Tests.Hosting;
using Dominance.Tests.Support;

namespace Dominance.Tests.Reload;

/// <summary>Live reload over real sockets: the game folder is compiled by the server and swapped while players play.</summary>
public sealed class LiveReloadTests
{
    [Test]
    public async Task SavingASourceFileSwapsTheCodeWhilePlayersStayConnectedAndKeepTheirState()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path);
        await using TelnetTestClient telnet = await server.TelnetAsync();
        await using WebSocketTestClient web = await server.WebSocketAsync();
        await telnet.Lines.WaitForAsync("welcome v1");
        await web.Lines.WaitForAsync("welcome v1");
        await telnet.SendAsync("inc");
        Assert.That(await telnet.Lines.NextAsync(), Is.EqualTo("v1 counter=1"));
        await web.SendAsync("inc");
        Assert.That(await web.Lines.NextAsync(), Is.EqualTo("v1 counter=2"));

        folder.Write(GameFolder.Source("v2"));
        await Poll.UntilAsync(() => server.Log.Contains("to generation 2 (Game.cs changed)"), "the saved file was reloaded");

        await telnet.SendAsync("inc");
        Assert.That(await telnet.Lines.NextAsync(), Is.EqualTo("v2 counter=3"), "new code, old state");
        await web.SendAsync("inc");
        Assert.That(await web.Lines.NextAsync(), Is.EqualTo("v2 counter=4"));
    }

    [Test]
    public async Task ACompileErrorKeepsTheOldCodeAndReportsFileLineAndColumn()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path);
        await using TelnetTestClient admin = await server.TelnetAsync();
        await admin.SendAsync("admin");
        await admin.Lines.WaitForAsync("you are an admin");
        await admin.SendAsync("inc");
        await admin.Lines.WaitForAsync("v1 counter=1");

        folder.Write(GameFolder.Source("v2").Replace("_state.Counter++;", "_state.Counter++ oops;"));
        Assert.That(await admin.Lines.WaitForAsync("[reload]"), Does.StartWith("[reload] Compile failed (Game.cs changed); still running generation 1:"));
        string error = await admin.Lines.NextAsync();
        Assert.That(error, Does.Match(@"^  Game\.cs:\d+:\d+: error CS\d{4}: "));
        Assert.That(server.Log.Contains("Compile failed for"), Is.True);
        Assert.That(server.Log.Lines.Any(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"Game\.cs:\d+:\d+: error CS")), Is.True);

        await admin.SendAsync("inc");
        Assert.That(await admin.Lines.WaitForAsync("counter="), Is.EqualTo("v1 counter=2"), "the old code and its state keep running");
    }

    [Test]
    public async Task AnExceptionWhileTheNewCodeStartsRollsBackAndCancelsWhatItScheduled()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient admin = await server.TelnetAsync();
        await admin.SendAsync("admin");
        await admin.SendAsync("inc");
        await admin.Lines.WaitForAsync("v1 counter=1");

        string broken = GameFolder.Source(
            "v2",
            start: """
                _context.ScheduleRepeating(TimeSpan.FromMilliseconds(1), () => _context.SendToGroup(IGameContext.AdminGroup, "v2 timer fired"));
                throw new InvalidOperationException("import failed on purpose");
                """);
        ReloadReport report = await ReloadAfterWriting(server, folder, broken);
        Assert.That(report.Succeeded, Is.False);
        Assert.That(report.Generation, Is.EqualTo(1));
        Assert.That(report.Errors.Single(), Does.Contain("the new game failed to start").And.Contain("import failed on purpose"));
        Assert.That(await admin.Lines.WaitForAsync("[reload]"), Does.StartWith("[reload] Reload rolled back"));

        await admin.SendAsync("inc");
        Assert.That(await admin.Lines.WaitForAsync("counter="), Is.EqualTo("v1 counter=2"), "the old code and state stayed");
        Assert.That(admin.Lines.Seen.Any(l => l.Contains("v2 timer", StringComparison.Ordinal)), Is.False, "the failed generation's timer was cancelled");
        Assert.That(server.Reloads.Leaks, Is.Zero, "the rejected generation was unloaded too");
    }

    [Test]
    public async Task InputsSentDuringReloadsAreAllProcessedInOrder()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, s =>
        {
            s.Portal.CommandRateLimit = 0;          // thousands of commands in a few seconds, on purpose
            s.Portal.SendQueueCapacity = 100_000;   // and as many replies queued at once, which is not a slow client
            s.Reload.Watch = false;
        });
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("welcome");

        // Input keeps flowing while five reloads, each bringing a new version, compile and swap: batches of inputs go
        // out, each sent once the one before it is answered, for as long as the reload runs, and once more after it.
        int sent = 0;
        var versions = new List<int>();
        async Task SendBatchAsync()
        {
            await client.SendRawAsync(System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(sent, 10).Select(n => $"seq {n}\r\n"))));
            for (int end = sent + 10; sent < end; sent++)
            {
                string reply = await client.Lines.NextAsync();
                Assert.That(reply, Does.Match($@"^v\d seq={sent}$"), "every input answered, in order");
                versions.Add(reply[1] - '0');
            }
        }

        await SendBatchAsync();
        for (int version = 2; version <= 6; version++)
        {
            File.WriteAllText(folder.GameFile, GameFolder.Source($"v{version}"));
            Task<ReloadReport> reload = server.Reloads.ReloadAsync("test");
            while (!reload.IsCompleted)
            {
                await SendBatchAsync();
            }

            ReloadReport report = await reload;
            Assert.That(report.Succeeded, Is.True, string.Join("\n", report.Errors));
            await SendBatchAsync(); // after the swap: the new generation answers
            Assert.That(versions[^1], Is.EqualTo(version));
        }

        Assert.That(versions, Is.Ordered, "each input went to the generation running when it arrived");
        Assert.That(versions.Distinct(), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }), "every generation handled input");
        await client.SendAsync("check");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo($"seen={sent} ordered=True"), "and the state saw them all, in order");
    }

    [Test]
    public async Task AfterAReloadTheOldContextIsCollected()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        ReloadReport report = await server.Reloads.ReloadAsync("test");
        Assert.That(report.Succeeded, Is.True);
        Assert.That(server.Reloads.UnloadChecks, Is.EqualTo(1));
        Assert.That(server.Reloads.Leaks, Is.Zero);
        Assert.That(server.Log.Contains("Generation 1 unloaded: collected after"), Is.True);
        Assert.That(server.Reloads.LoadedGenerations(), Is.EqualTo(new[] { 2 }), "only the running generation is loaded");
    }

    [Test]
    public async Task EveryReplacedGenerationIsCollectedTheFirstOneToo()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient player = await server.TelnetAsync();
        await player.Lines.WaitForAsync("welcome v1");
        for (int generation = 2; generation <= 4; generation++)
        {
            folder.Write(GameFolder.Source($"v{generation}"));
            Assert.That((await server.Reloads.ReloadAsync("test")).Succeeded, Is.True);
            await player.SendAsync("inc");
            Assert.That(await player.Lines.NextAsync(), Is.EqualTo($"v{generation} counter={generation - 1}"));
        }

        Assert.That(server.Reloads.UnloadChecks, Is.EqualTo(3));
        Assert.That(server.Reloads.Leaks, Is.Zero, server.Log.Text);
        Assert.That(server.Reloads.LoadedGenerations(), Is.EqualTo(new[] { 4 }));
    }

    [Test]
    public async Task AStoppedServerLeavesNoGameCodeLoaded()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        ReloadCoordinator reloads = server.Reloads;
        Assert.That(reloads.LoadedGenerations(), Is.EqualTo(new[] { 1 }));
        await server.DisposeAsync();

        for (int i = 0; i < 20 && reloads.LoadedGenerations().Count > 0; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(reloads.LoadedGenerations(), Is.Empty, "the running generation was unloaded at shutdown, and collected");
    }

    [Test]
    public async Task AHundredReloadsLeaveOnlyTheRunningGenerationLoaded()
    {
        // State of some weight, so that a leak of old generations would show in memory too.
        using var folder = new GameFolder(GameFolder.Source("v1", start: "if (_state.Seen.Count == 0) _state.Seen.AddRange(Enumerable.Range(0, 50_000));"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("welcome");

        for (int i = 1; i <= 100; i++)
        {
            ReloadReport report = await server.Reloads.ReloadAsync($"reload {i}");
            Assert.That(report.Succeeded, Is.True, string.Join("\n", report.Errors));
        }

        Assert.That(server.Reloads.UnloadChecks, Is.EqualTo(100));
        Assert.That(server.Reloads.Leaks, Is.Zero, "every old generation was collected");
        Assert.That(server.Reloads.LoadedGenerations(), Is.EqualTo(new[] { 101 }), "only the running generation is loaded");

        await client.SendAsync("check");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("seen=50000 ordered=True"), "state survived 100 generations");
    }

    [Test]
    public async Task StateToleratesAddedAndRemovedFields()
    {
        // Removed holds only its default: nothing is lost without it, so the reload goes ahead quietly.
        using var folder = new GameFolder(GameFolder.Source(
            "v1", stateMembers: "public string Removed { get; set; } = \"\"; public long? Gone;", commands: "case \"fields\": _context.Send(session, $\"removed={_state.Removed}\"); break;"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.SendAsync("inc");
        await client.Lines.WaitForAsync("v1 counter=1");

        ReloadReport report = await ReloadAfterWriting(server, folder, GameFolder.Source(
            "v2", stateMembers: "public int Added { get; set; } = 42;", commands: "case \"fields\": _context.Send(session, $\"added={_state.Added} counter={_state.Counter}\"); break;"));
        Assert.That(report.Succeeded, Is.True, string.Join("\n", report.Errors));
        await client.SendAsync("fields");
        Assert.That(await client.Lines.WaitForAsync("added="), Is.EqualTo("added=42 counter=1"));
    }

    [Test]
    public async Task AReloadThatWouldDropStateIsRefusedUntilForced()
    {
        using var folder = new GameFolder(GameFolder.Source(
            "v1", stateMembers: "public Dictionary<string, Hero> Heroes { get; set; } = []; public sealed class Hero { public int Resources { get; set; } public string Name { get; set; } = \"\"; }",
            commands: "case \"earn\": _state.Heroes[words[1]] = new State.Hero { Name = words[1], Resources = 21 }; _context.Send(session, \"earned\"); break;"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient admin = await server.TelnetAsync();
        await admin.SendAsync("admin");
        await admin.Lines.WaitForAsync("you are an admin");
        foreach (string name in new[] { "alice", "bob", "carol" })
        {
            await admin.SendAsync("earn " + name);
            await admin.Lines.WaitForAsync("earned");
        }

        // Resources renamed without a mapping: every hero's 21 would become 0.
        string renamed = GameFolder.Source(
            "v2", stateMembers: "public Dictionary<string, Hero> Heroes { get; set; } = []; public sealed class Hero { public int Treasury { get; set; } public string Name { get; set; } = \"\"; }",
            commands: "case \"show\": _context.Send(session, string.Join(\",\", _state.Heroes.Values.Select(h => h.Name + \"=\" + h.Treasury))); break;");
        ReloadReport refused = await ReloadAfterWriting(server, folder, renamed);
        Assert.That(refused.Succeeded, Is.False);
        Assert.That(refused.Generation, Is.EqualTo(1));
        Assert.That(refused.Errors[0], Is.EqualTo("Hero.Resources: 3 value(s), and the new code has no such member"));
        Assert.That(await admin.Lines.WaitForAsync("[reload]"), Does.StartWith("[reload] Reload refused: the new code would drop game state"));
        Assert.That(await admin.Lines.NextAsync(), Is.EqualTo("  Hero.Resources: 3 value(s), and the new code has no such member"));
        await admin.SendAsync("inc");
        Assert.That(await admin.Lines.WaitForAsync("counter="), Is.EqualTo("v1 counter=1"), "the old code keeps running");

        await admin.SendAsync("reload force");
        Assert.That(await admin.Lines.WaitForAsync("[reload] Forced"), Is.EqualTo("[reload] Forced: this game state was dropped:"));
        await admin.SendAsync("show");
        Assert.That(await admin.Lines.WaitForAsync("alice="), Is.EqualTo("alice=0,bob=0,carol=0"), "forced: the values are gone, as the admin chose");
        Assert.That(server.Reloads.Leaks, Is.Zero, "the refused generation was unloaded too");
    }

    [Test]
    public async Task AMemberRenamedThroughItsAliasKeepsItsValues()
    {
        using var folder = new GameFolder(GameFolder.Source(
            "v1", stateMembers: "public int Resources { get; set; }", commands: "case \"earn\": _state.Resources += 21; _context.Send(session, \"earned\"); break;"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.SendAsync("earn");
        await client.Lines.WaitForAsync("earned");

        ReloadReport report = await ReloadAfterWriting(server, folder, GameFolder.Source(
            "v2", stateMembers: "[StateAlias(\"Resources\")] public int Treasury { get; set; }", commands: "case \"show\": _context.Send(session, $\"treasury={_state.Treasury}\"); break;"));
        Assert.That(report.Succeeded, Is.True, string.Join("\n", report.Errors));
        await client.SendAsync("show");
        Assert.That(await client.Lines.WaitForAsync("treasury="), Is.EqualTo("treasury=21"));
    }

    [Test]
    public async Task ATypeChangeThatCannotBeReadIsRefused()
    {
        using var folder = new GameFolder(GameFolder.Source("v1", stateMembers: "public string Title = \"lord\";"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);

        ReloadReport refused = await ReloadAfterWriting(server, folder, GameFolder.Source("v2", stateMembers: "public int Title;"));
        Assert.That(refused.Succeeded, Is.False);
        Assert.That(refused.Errors[0], Is.EqualTo("State.Title: 1 value(s) cannot be read as its new type"));

        // A change that can be read (int to long) is no loss.
        File.WriteAllText(folder.GameFile, GameFolder.Source("v3", stateMembers: "public string Title = \"lord\"; public int Small = 5;"));
        Assert.That((await server.Reloads.ReloadAsync("test")).Succeeded, Is.True);
        ReloadReport widened = await ReloadAfterWriting(server, folder, GameFolder.Source("v4", stateMembers: "public string Title = \"\"; public long Small;"));
        Assert.That(widened.Succeeded, Is.True, string.Join("\n", widened.Errors));
        Assert.That(server.Reloads.Leaks, Is.Zero);
    }

    [Test]
    public async Task EachGenerationIsLoadedAndPreparedOnACompileThreadNotOnThePool()
    {
        // Loading a generation builds its state types' serializers (running their constructors) and compiles all its
        // methods: CPU work that, on a pool thread, holds one of the threads that carry every connection's input.
        static string Probed(string version) => GameFolder.Source(
            version,
            stateMembers: """
                public static string? PreparedOn;
                public State() => PreparedOn ??= (Thread.CurrentThread.IsThreadPoolThread ? "the pool " : "") + Thread.CurrentThread.Name;
                """,
            commands: """
                case "prepared":
                    _context.Send(session, "prepared on " + State.PreparedOn);
                    break;
                """);
        using var folder = new GameFolder(Probed("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.SendAsync("prepared");
        Assert.That(await client.Lines.WaitForAsync("prepared on"), Is.EqualTo("prepared on " + CompileThread.Name), "generation 1, at start");

        ReloadReport report = await ReloadAfterWriting(server, folder, Probed("v2"));
        Assert.That(report.Succeeded, Is.True);
        await client.SendAsync("prepared");
        Assert.That(await client.Lines.WaitForAsync("prepared on"), Is.EqualTo("prepared on " + CompileThread.Name), "generation 2, a reload");
    }

    [Test]
    public async Task TimersOfTheOldGenerationAreCancelledAndTheNewOneSchedulesItsOwn()
    {
        static string Ticking(string version) => GameFolder.Source(
            version, start: $$"""_context.ScheduleRepeating(TimeSpan.FromMilliseconds(20), () => _context.SendToGroup("ticks", "tick {{version}}"));""");
        using var folder = new GameFolder(Ticking("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, NoWatch);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.SendAsync("join ticks");
        await client.Lines.WaitForAsync("tick v1");

        ReloadReport report = await ReloadAfterWriting(server, folder, Ticking("v2"));
        Assert.That(report.Succeeded, Is.True);
        await client.Lines.WaitForAsync("tick v2");
        for (int i = 0; i < 5; i++)
        {
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("tick v2"), "no tick of the old generation after the swap");
        }
    }

    [Test]
    public async Task TheReloadCommandAndTheAdminEndpointReload()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, s =>
        {
            s.Reload.Watch = false;
            s.Reload.AdminToken = AdminEndpointTests.Token;
        });
        await using TelnetTestClient admin = await server.TelnetAsync();
        await admin.SendAsync("admin");
        await admin.Lines.WaitForAsync("you are an admin");

        File.WriteAllText(folder.GameFile, GameFolder.Source("v2")); // not watched: only an explicit reload picks it up
        await admin.SendAsync("reload");
        Assert.That(await admin.Lines.WaitForAsync("[reload]"), Does.StartWith("[reload] Generation 2 is live (the reload command"));
        await admin.SendAsync("inc");
        Assert.That(await admin.Lines.WaitForAsync("counter="), Is.EqualTo("v2 counter=1"));

        using HttpClient http = AdminEndpointTests.Client();
        File.WriteAllText(folder.GameFile, GameFolder.Source("v3"));
        HttpResponseMessage ok = await http.PostAsync($"http://{server.Http}/admin/reload", null);
        Assert.That((int)ok.StatusCode, Is.EqualTo(200));
        JsonElement body = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That((body.GetProperty("succeeded").GetBoolean(), body.GetProperty("generation").GetInt32()), Is.EqualTo((true, 3)));

        File.WriteAllText(folder.GameFile, "this is not C#");
        HttpResponseMessage failed = await http.PostAsync($"http://{server.Http}/admin/reload", null);
        Assert.That((int)failed.StatusCode, Is.EqualTo(422));
        body = await failed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(body.GetProperty("errors")[0].GetString(), Does.StartWith("Game.cs:1:"));
        Assert.That(body.GetProperty("generation").GetInt32(), Is.EqualTo(3));
    }

    [Test]
    public async Task AGameWithoutOrWithSeveralModulesIsRefusedWithAClearMessage()
    {
        using var none = new GameFolder("namespace Empty; public sealed class NotAModule { }");
        GameLoadException? error = await Assert.ThrowsAsync<GameLoadException>(async () => await TestServer.StartFromSourceAsync(none.Path));
        Assert.That(error!.Message, Does.Contain("no public class implementing IGameModule"));

        string second = GameFolder.Source("v1").Replace("namespace ReloadTestGame;", "namespace Other;");
        using var two = new GameFolder(GameFolder.Source("v1"));
        File.WriteAllText(Path.Combine(two.Path, "Second.cs"), second);
        error = await Assert.ThrowsAsync<GameLoadException>(async () => await TestServer.StartFromSourceAsync(two.Path));
        Assert.That(error!.Message, Does.Contain("more than one IGameModule"));
    }

    [Test]
    public async Task TheBuiltInGameIsCompiledFromItsEmbeddedSource()
    {
        await using TestServer server = await TestServer.StartFromSourceAsync(folder: null);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("for everything else.");
        await client.SendAsync("connect guest");
        await client.Lines.WaitForAsync("Welcome, Guest");
        ReloadReport report = await server.Reloads.ReloadAsync("test");
        Assert.That(report.Succeeded, Is.True, string.Join("\n", report.Errors));
        await client.SendAsync("who");
        Assert.That(await client.Lines.WaitForAsync("Playing now"), Is.EqualTo("Playing now (1):"), "the built-in game carries its state too");
    }

    /// <summary>Writes new source and reloads explicitly, for the report. The server must not be watching.</summary>
    private static async Task<ReloadReport> ReloadAfterWriting(TestServer server, GameFolder folder, string source)
    {
        File.WriteAllText(folder.GameFile, source);
        return await server.Reloads.ReloadAsync("test");
    }

    private static void NoWatch(Dominance.Hosting.DominanceSettings settings) => settings.Reload.Watch = false;
}
