using System.Diagnostics;
using System.Text.RegularExpressions;
using Dominance.Hosting;
using Dominance.Tests.Support;

namespace Dominance.Tests.Reload;

/// <summary>
/// The compiler process (issue 16): the game compiles in a child process of the server's own binary, which reports
/// errors as the server's own compiler did, stays warm for the edits of a watched folder, is replaced when it dies or
/// has been idle, never outlives the server, and takes Roslyn with it: the server that compiled its game at start never
/// loads the compiler.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class CompilerProcessTests
{
    [Test]
    public async Task AWatchedGameCompilesInTheCompilerProcessWhichReportsErrorsReloadsEditsAndStopsWithTheServer()
    {
        using var folder = new GameFolder(Unique(GameFolder.Source("v1")));
        int worker;
        await using (TestServer server = await TestServer.StartFromSourceAsync(folder.Path, InChildProcess))
        {
            Assert.That(server.Log.Contains($"Compiled {folder.Path} in"), Is.True, server.Log.Text);
            Assert.That(server.Log.Contains("(in the compiler process)"), Is.True);
            worker = server.Reloads.Compiler.Process!.ProcessId ?? throw new AssertionException("no compiler process after the start: it should wait for edits");
            Assert.That(Alive(worker), Is.True);

            await using TelnetTestClient admin = await server.TelnetAsync();
            await admin.Lines.WaitForAsync("welcome v1");
            await admin.SendAsync("admin");
            await admin.Lines.WaitForAsync("you are an admin");

            folder.Write(Unique(GameFolder.Source("v2").Replace("_state.Counter++;", "_state.Counter++ oops;")));
            Assert.That(await admin.Lines.WaitForAsync("[reload]"), Does.StartWith("[reload] Compile failed (Game.cs changed); still running generation 1:"));
            Assert.That(await admin.Lines.NextAsync(), Does.Match(@"^  Game\.cs:\d+:\d+: error CS\d{4}: "), "errors come back from the compiler process with file:line:column");

            folder.Write(Unique(GameFolder.Source("v3")));
            await admin.Lines.WaitForAsync("[reload] Generation 2 is live");
            await admin.SendAsync("inc");
            Assert.That(await admin.Lines.WaitForAsync("counter="), Is.EqualTo("v3 counter=1"));
            Assert.That(server.Reloads.Compiler.Process.ProcessId, Is.EqualTo(worker), "the edits went to the same, warm, compiler process");
            await Poll.UntilAsync(() => server.Reloads.UnloadChecks >= 1, "the replaced generation's unload was proved");
            Assert.That(server.Reloads.Leaks, Is.Zero, "nothing of the asynchronous compile keeps an old generation loaded");
        }

        await Poll.UntilAsync(() => !Alive(worker), "the compiler process exited with the server");
    }

    [Test]
    public async Task AKilledCompilerProcessIsReplacedByTheNextCompileAndTheServerKeepsServing()
    {
        using var folder = new GameFolder(Unique(GameFolder.Source("v1")));
        int second;
        await using (TestServer server = await TestServer.StartFromSourceAsync(folder.Path, InChildProcess))
        {
            await using TelnetTestClient player = await server.TelnetAsync();
            await player.Lines.WaitForAsync("welcome v1");
            int first = server.Reloads.Compiler.Process!.ProcessId!.Value;
            using (var process = Process.GetProcessById(first))
            {
                process.Kill();
            }

            await Poll.UntilAsync(() => !Alive(first), "the compiler process died");
            await player.SendAsync("inc");
            Assert.That(await player.Lines.NextAsync(), Is.EqualTo("v1 counter=1"), "the server serves on without its compiler");

            folder.Write(Unique(GameFolder.Source("v2")));
            await Poll.UntilAsync(() => server.Log.Contains("to generation 2 (Game.cs changed)"), "the edit was compiled by a new compiler process");
            await player.SendAsync("inc");
            Assert.That(await player.Lines.NextAsync(), Is.EqualTo("v2 counter=2"));
            Assert.That(server.Log.Contains($"The compiler process (pid {first}) ended (exit code 137); asking a new one"), Is.True, server.Log.Text);
            second = server.Reloads.Compiler.Process.ProcessId!.Value;
            Assert.That(second, Is.Not.EqualTo(first));
        }

        await Poll.UntilAsync(() => !Alive(second), "the new compiler process exited with the server");
    }

    [Test]
    public async Task AnIdleCompilerProcessExitsAndTheNextEditStartsAnother()
    {
        using var folder = new GameFolder(Unique(GameFolder.Source("v1")));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, settings =>
        {
            InChildProcess(settings);
            settings.Reload.CompilerIdleTimeout = TimeSpan.FromSeconds(1);
        });
        await Poll.UntilAsync(() => server.Log.Contains("idle for 00:00:01"), "the idle compiler process was stopped");
        int first = StartedWorkers(server.Log.Text).Single();
        await Poll.UntilAsync(() => !Alive(first), "the idle compiler process exited");
        Assert.That(server.Reloads.Compiler.Process!.ProcessId, Is.Null);

        await using TelnetTestClient player = await server.TelnetAsync();
        await player.Lines.WaitForAsync("welcome v1");
        folder.Write(Unique(GameFolder.Source("v2")));
        await Poll.UntilAsync(() => server.Log.Contains("to generation 2 (Game.cs changed)"), "the edit was compiled");
        await player.SendAsync("inc");
        Assert.That(await player.Lines.NextAsync(), Is.EqualTo("v2 counter=1"));
        Assert.That(StartedWorkers(server.Log.Text), Has.Count.EqualTo(2), "a second compiler process compiled the edit");
    }

    [Test]
    public async Task AColdStartOfTheBuiltInGameCompilesInAProcessThatExitsAndTheServerNeverLoadsRoslyn()
    {
        string cache = Directory.CreateTempSubdirectory("dominance-cache-").FullName; // an empty compile cache: a cold start
        try
        {
            await using ServerProcess server = ServerProcess.Start([], new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cache });
            await server.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => server.Output.Contains("Compiled the built-in game in", StringComparison.Ordinal), "the cold start compiled");
            Assert.That(server.Output, Does.Contain("(in the compiler process)"));
            int worker = StartedWorkers(server.Output).Single();
            await Poll.UntilAsync(() => !Alive(worker), "the compiler process exited once the built-in game was compiled (no folder is watched)");

            await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(server.Telnet);
            await player.Lines.WaitForAsync("for everything else.");
            string maps = await File.ReadAllTextAsync($"/proc/{server.Id}/maps");
            Assert.That(maps, Does.Contain("dominance.dll"), "the server's assemblies are files here, so a loaded one shows in its maps");
            Assert.That(maps, Does.Not.Contain("Microsoft.CodeAnalysis"), "the server process never loaded the compiler");

            server.Signal(15);
            Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static void InChildProcess(DominanceSettings settings) => settings.Reload.CompileInProcess = false;

    /// <summary>A source no other test compiles, so that the process-wide cache of builds does not answer for the compiler.</summary>
    private static string Unique(string source) => $"{source}\n// {Guid.NewGuid()}\n";

    /// <summary>Whether a process with this id exists (a child the tests' process or the server did not reap yet counts).</summary>
    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}");

    private static List<int> StartedWorkers(string log) =>
        [.. StartedLine().Matches(log).Select(m => int.Parse(m.Groups["pid"].Value, System.Globalization.CultureInfo.InvariantCulture))];

    [GeneratedRegex(@"Started the compiler process \(pid (?<pid>\d+)\)")]
    private static partial Regex StartedLine();
}
