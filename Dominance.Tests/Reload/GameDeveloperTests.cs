using System.Net;
using System.Net.Sockets;
using Dominance.Tests.Support;

namespace Dominance.Tests.Reload;

/// <summary>
/// What a game developer sees: a start that does not compile an unchanged game, a port conflict reported at once,
/// warnings and exceptions where the admins are, and the admins' <c>errors</c> and <c>eval</c>.
/// </summary>
public sealed class GameDeveloperTests
{
    [Test]
    public async Task AWarmStartLoadsTheGameFromTheCompileCacheWithoutCompilingAndServes()
    {
        using var folder = new GameFolder(GameFolder.Source("cached"));
        await using (ServerProcess cold = ServerProcess.Start([folder.Path]))
        {
            await cold.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => cold.Output.Contains("Compiled " + folder.Path, StringComparison.Ordinal), "the cold start compiled");
            Assert.That(cold.Output, Does.Not.Contain("from the compile cache"));
            string cache = Path.Combine(folder.Path, ".dominance", "cache");
            await Poll.UntilAsync(() => Directory.Exists(cache) && Directory.GetFiles(cache, "*.dll").Length == 1, "the build was written to the cache");
            cold.Signal(15);
            Assert.That(await cold.ExitCodeAsync(), Is.Zero, cold.Output);
        }

        await using (ServerProcess warm = ServerProcess.Start([folder.Path]))
        {
            await warm.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => warm.Output.Contains($"Loaded {folder.Path} from the compile cache", StringComparison.Ordinal), "the warm start loaded the cache");
            Assert.That(warm.Output, Does.Not.Contain("Compiled "));
            await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(warm.Telnet);
            await player.Lines.WaitForAsync("welcome cached");
            await player.SendAsync("inc");
            Assert.That(await player.Lines.NextAsync(), Is.EqualTo("cached counter=1"));
            warm.Signal(15);
            Assert.That(await warm.ExitCodeAsync(), Is.Zero, warm.Output);
        }

        // An edit is a new key: the next start compiles again.
        folder.Write(GameFolder.Source("edited"));
        await using ServerProcess edited = ServerProcess.Start([folder.Path]);
        await edited.WaitUntilRunningAsync();
        await Poll.UntilAsync(() => edited.Output.Contains("Compiled " + folder.Path, StringComparison.Ordinal), "the edited game was compiled");
        edited.Signal(15);
        Assert.That(await edited.ExitCodeAsync(), Is.Zero, edited.Output);
    }

    [Test]
    public async Task ADamagedCacheEntryIsCompiledAgainAndReplaced()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        string cache = Path.Combine(folder.Path, ".dominance", "cache");
        await using (ServerProcess cold = ServerProcess.Start([folder.Path]))
        {
            await cold.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => Directory.Exists(cache) && Directory.GetFiles(cache, "*.dll").Length == 1, "the build was written to the cache");
            cold.Signal(15);
            Assert.That(await cold.ExitCodeAsync(), Is.Zero, cold.Output);
        }

        string entry = Directory.GetFiles(cache, "*.dll").Single();
        File.WriteAllBytes(entry, [0x4D, 0x5A, 1, 2, 3]); // a truncated image

        await using ServerProcess server = ServerProcess.Start([folder.Path]);
        await server.WaitUntilRunningAsync();
        await Poll.UntilAsync(() => server.Output.Contains("Compiled " + folder.Path, StringComparison.Ordinal), "the damaged entry was compiled again");
        Assert.That(server.Output, Does.Contain("could not be loaded"));
        await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(server.Telnet);
        await player.Lines.WaitForAsync("welcome v1");
        await Poll.UntilAsync(() => new FileInfo(entry).Length > 5, "the damaged entry was written again");
        server.Signal(15);
        Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);
    }

    [Test]
    public async Task APortInUseFailsTheStartBeforeTheDatabaseAndTheGameWithAClearMessage()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using ServerProcess server = ServerProcess.Start([folder.Path, "--telnet-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--http-port", "0"], ephemeralPorts: false);
        Assert.That(await server.ExitCodeAsync(), Is.EqualTo(1), server.Output);
        Assert.That(server.Output, Does.Contain("cannot listen").And.Contain("Portal:TelnetPort (--telnet-port)"));
        Assert.That(server.Output, Does.Not.Contain("Accounts and world saves are kept in"), "the database is opened only once the ports are bound");
        Assert.That(File.Exists(Path.Combine(folder.Path, "dominance.db")), Is.False);
    }

    [Test]
    public async Task CompilerWarningsReachTheAdminsWithFileLineAndColumn()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path);
        await using TelnetTestClient admin = await server.TelnetAsync();
        await admin.SendAsync("admin");
        await admin.Lines.WaitForAsync("you are an admin");

        folder.Write(GameFolder.Source("v2", commands: """case "warn": int unused = 1; break;"""));
        Assert.That(await admin.Lines.WaitForAsync("compiler warning"), Is.EqualTo("[reload] 1 compiler warning(s) (generation 2):"));
        Assert.That(await admin.Lines.NextAsync(), Does.Match(@"^  Game\.cs:\d+:\d+: warning CS0219: "));
        Assert.That(server.Log.Lines.Any(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"Game\.cs:\d+:\d+: warning CS0219")), Is.True, "and the log");
    }

    [Test]
    public async Task ACommandThatThrowsShowsAdminsTheExceptionAndTheGameFileAndLineAndIsKept()
    {
        string source = GameFolder.Source(
            "v1",
            commands: """
                case "boom":
                    throw new InvalidOperationException("kaboom");
                case "failures":
                    _context.Send(session, string.Join(" | ", _context.RecentFailures.Select(f => $"{f.Summary} @ {f.Location}")));
                    break;
                """);
        int line = source.Split('\n').ToList().FindIndex(l => l.Contains("kaboom", StringComparison.Ordinal)) + 1;
        using var folder = new GameFolder(source);
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path);
        await using TelnetTestClient admin = await server.TelnetAsync();
        await admin.SendAsync("admin");
        await admin.Lines.WaitForAsync("you are an admin");
        await using TelnetTestClient player = await server.TelnetAsync();
        await player.Lines.WaitForAsync("welcome v1");

        await player.SendAsync("boom secret-words");
        await player.Lines.WaitForAsync("Something went wrong");
        string seen = await admin.Lines.WaitForAsync("[error]");
        Assert.That(seen, Does.StartWith("[error] InvalidOperationException: kaboom (handling 'boom ...' from session"));
        Assert.That(seen, Does.EndWith($", at Game.cs:{line})"));
        Assert.That(seen, Does.Not.Contain("secret-words"), "only the command word: the rest of a line may be a password");

        await admin.SendAsync("failures");
        Assert.That(await admin.Lines.NextAsync(), Does.Contain("kaboom").And.EndWith($"@ Game.cs:{line}"));
    }

    [Test]
    public async Task TheErrorsCommandListsTheLastTenFailures()
    {
        string source = GameFolder.Source(
            "v1",
            commands: """
                case "boom":
                    throw new InvalidOperationException("kaboom " + words[1]);
                case "failures":
                    _context.Send(session, string.Join(",", _context.RecentFailures.Select(f => f.Summary.Split(' ')[2])));
                    break;
                """);
        using var folder = new GameFolder(source);
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path);
        await using TelnetTestClient admin = await server.TelnetAsync();
        await admin.SendAsync("admin");
        await admin.Lines.WaitForAsync("you are an admin");
        for (int i = 1; i <= 12; i++)
        {
            await admin.SendAsync($"boom {i}");
            await admin.Lines.WaitForAsync($"kaboom {i} ");
        }

        await admin.SendAsync("failures");
        Assert.That(await admin.Lines.WaitForAsync(","), Is.EqualTo("3,4,5,6,7,8,9,10,11,12"));
    }

    [Test]
    public async Task TheBuiltInGamesErrorsCommandIsForAdmins()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient admin = await server.CreateAsync("Alice");
        await using TelnetTestClient player = await server.CreateAsync("Bob");
        Assert.That(await admin.DoAsync("errors", "failures"), Is.EqualTo("No failures since the server started."));
        Assert.That(await player.DoAsync("errors", "admins"), Is.EqualTo("Only admins can do that."));
    }

    [Test]
    public async Task EvalRunsCodeAgainstTheLiveGameForAnAdminAndIsLogged()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient admin = await server.CreateAsync("Alice");
        await using TelnetTestClient player = await server.CreateAsync("Bob");

        // An expression, reaching the game's private state.
        Assert.That(await admin.DoAsync("eval \"players=\" + game._state.Players.Count", "players="), Is.EqualTo("players=2"));
        // Statements change the live game; the next command sees it.
        Assert.That(await admin.DoAsync("eval game._state.Tick = 41; game._state.Tick++; return \"set\";", "set"), Is.EqualTo("set"));
        Assert.That(await admin.DoAsync("eval $\"tick={game._state.Tick}\"", "tick="), Is.EqualTo("tick=42"));
        // A compile error says what is wrong; an exception says what was thrown.
        Assert.That(await admin.DoAsync("eval game.NoSuchThing", "error CS"), Does.Contain("error CS1061"));
        Assert.That(await admin.DoAsync("eval throw new InvalidOperationException(\"nope\")", "nope"), Is.EqualTo("InvalidOperationException: nope"));

        Assert.That(server.Log.Contains("eval by session"), Is.True);
        Assert.That(server.Log.Contains("game._state.Tick = 41"), Is.True, "every use is logged with its code");

        Assert.That(await player.DoAsync("eval game._state.Tick = 0", "admins"), Is.EqualTo("Only admins can do that."));
        Assert.That(await admin.DoAsync("eval $\"tick={game._state.Tick}\"", "tick="), Is.EqualTo("tick=42"), "the player's eval did not run");
    }

    [Test]
    public async Task EvalIsOffWhenTheSettingSaysSo()
    {
        await using TestServer server = await GameServer.StartAsync(settings => settings.Reload.Eval = false);
        await using TelnetTestClient admin = await server.CreateAsync("Alice");
        Assert.That(await admin.DoAsync("eval game._state.Tick = 99", "eval is off"), Is.EqualTo("eval is off on this server (setting Reload:Eval)."));
        Assert.That(server.Log.Contains("eval by session"), Is.True, "a refused use is logged too");
    }
}
