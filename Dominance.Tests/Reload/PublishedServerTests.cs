using Dominance.Tests.Support;

namespace Dominance.Tests.Reload;

/// <summary>
/// The distribution a hobbyist downloads: <c>./run.sh publish</c> makes one self-contained file; copied alone into an
/// empty folder on a machine without .NET, it runs the built-in game and reloads an edited game folder.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PublishedServerTests
{
    private string _work = "";

    [SetUp]
    public void CreateFolder() => _work = Directory.CreateTempSubdirectory("dominance-publish-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task ThePublishedSingleFileRunsWithNoDotnetInstalledAndReloads()
    {
        string published = Path.Combine(_work, "dist");
        await RunToEndAsync("bash", [Path.Combine(Repository.Root, "run.sh"), "publish", published], Repository.Root, TimeSpan.FromMinutes(8));
        bool hideDotnet = await CanHideDotnetAsync();
        Assert.That(Directory.GetFiles(published).Select(Path.GetFileName), Is.EqualTo(new[] { "dominance" }), "one file");

        string alone = Path.Combine(_work, "alone");
        Directory.CreateDirectory(alone);
        File.Copy(Path.Combine(published, "dominance"), Path.Combine(alone, "dominance"));
        File.SetUnixFileMode(Path.Combine(alone, "dominance"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await using (ServerProcess init = Sandboxed(alone, hideDotnet, "init", "game"))
        {
            Assert.That(await init.ExitCodeAsync(), Is.Zero, init.Output);
        }

        await using ServerProcess server = Sandboxed(alone, hideDotnet, "run", "game", "--telnet-port", "0", "--http-port", "0");
        await server.WaitUntilRunningAsync();
        string maps = await File.ReadAllTextAsync($"/proc/{server.Id}/maps");
        Assert.That(maps, Does.Not.Contain("/usr/share/dotnet"), "the server uses no installed .NET");

        using (var http = new HttpClient())
        {
            string page = await http.GetStringAsync($"http://{server.Http}/");
            Assert.That(page, Does.Contain("<title>Dominance</title>"), "the web client is served from inside the single file");
        }

        await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(server.Telnet);
        await player.Lines.WaitForAsync("for everything else.");
        await player.SendAsync("who");
        Assert.That(await player.Lines.NextAsync(), Is.EqualTo("Nobody is playing yet."));

        string source = Directory.GetFiles(Path.Combine(alone, "game"), "*.cs").Single(f => File.ReadAllText(f).Contains("Nobody is playing yet.", StringComparison.Ordinal));
        File.WriteAllText(source, File.ReadAllText(source).Replace("Nobody is playing yet.", "The realm is empty (edited)."));
        await Poll.UntilAsync(() => server.Output.Contains("to generation 2", StringComparison.Ordinal), "the published server reloaded the edit");
        await player.SendAsync("who");
        Assert.That(await player.Lines.NextAsync(), Is.EqualTo("The realm is empty (edited)."));

        server.Signal(15);
        Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);
    }

    /// <summary>
    /// Runs the published file with an empty environment and, where this machine allows a mount namespace (root, as
    /// in CI), with the .NET installation hidden behind an empty directory.
    /// </summary>
    private static ServerProcess Sandboxed(string folder, bool hideDotnet, params string[] args)
    {
        var environment = new Dictionary<string, string> { ["HOME"] = folder, ["PATH"] = "/usr/bin:/bin", ["DOTNET_ROOT"] = "/nonexistent" };
        string executable = Path.Combine(folder, "dominance");
        if (hideDotnet)
        {
            string empty = Path.Combine(folder, ".empty");
            Directory.CreateDirectory(empty);
            return ServerProcess.StartExecutable(
                "/usr/bin/unshare",
                ["-m", "/bin/sh", "-c", $"/bin/mount --bind '{empty}' /usr/share/dotnet && exec \"$0\" \"$@\"", executable, .. args],
                environment,
                folder,
                clearEnvironment: true);
        }

        return ServerProcess.StartExecutable(executable, args, environment, folder, clearEnvironment: true);
    }

    private static async Task<bool> CanHideDotnetAsync() =>
        File.Exists("/usr/bin/unshare") && Directory.Exists("/usr/share/dotnet") && (await ChildProcess.RunAsync("/usr/bin/unshare", "-m", "/bin/true")).ExitCode == 0;

    private static async Task RunToEndAsync(string file, string[] args, string directory, TimeSpan limit)
    {
        await using ServerProcess process = ServerProcess.StartExecutable(file, args, null, directory, clearEnvironment: false);
        int exit = await process.ExitCodeAsync(limit);
        Assert.That(exit, Is.Zero, $"{file} {string.Join(' ', args)} failed:\n{process.Output}");
    }
}
