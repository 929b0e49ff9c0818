using Dominance.Tests.Support;

namespace Dominance.Tests.Reload;

/// <summary>The <c>dominance</c> verbs that deal with game folders, as users run them.</summary>
public sealed class CommandLineTests
{
    [Test]
    public async Task HelpDescribesTheVerbsAndOptions()
    {
        await using ServerProcess help = ServerProcess.Start(["--help"], ephemeralPorts: false);
        Assert.That(await help.ExitCodeAsync(), Is.Zero);
        Assert.That(help.Output, Does.Contain("run <game-folder>").And.Contain("init <folder>").And.Contain("--telnet-port").And.Contain("--http-port"));
        Assert.That(help.Output, Does.Not.Contain("compile-worker"), "the compiler process's verb is the server's business, not the user's");
    }

    [Test]
    public async Task InitWritesAGameFolderThatRunsAndNeverOverwrites()
    {
        string parent = Directory.CreateTempSubdirectory("dominance-init-").FullName;
        string game = Path.Combine(parent, "mygame");
        try
        {
            await using (ServerProcess init = ServerProcess.Start(["init", game], ephemeralPorts: false))
            {
                Assert.That(await init.ExitCodeAsync(), Is.Zero, init.Output);
                Assert.That(init.Output, Does.Contain($"dominance run {game}"));
            }

            Assert.That(File.Exists(Path.Combine(game, "appsettings.json")), Is.True);
            Assert.That(Directory.GetFiles(game, "*.cs", SearchOption.AllDirectories), Is.Not.Empty);

            await using (ServerProcess again = ServerProcess.Start(["init", game], ephemeralPorts: false))
            {
                Assert.That(await again.ExitCodeAsync(), Is.EqualTo(2));
                Assert.That(again.Output, Does.Contain("is not empty"));
            }

            await using ServerProcess server = ServerProcess.Start(["run", game]);
            await server.WaitUntilRunningAsync();
            await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(server.Telnet);
            await player.Lines.WaitForAsync("D O M I N A N C E");
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Test]
    public async Task InitWritesAProjectThatTheSdkBuildsAndThatReportsTypeErrorsWithFileAndLine()
    {
        string parent = Directory.CreateTempSubdirectory("dominance-init-").FullName;
        string game = Path.Combine(parent, "mygame");
        try
        {
            await using (ServerProcess init = ServerProcess.Start(["init", game], ephemeralPorts: false))
            {
                Assert.That(await init.ExitCodeAsync(), Is.Zero, init.Output);
            }

            string project = Path.Combine(game, "mygame.csproj");
            Assert.That(File.ReadAllText(project), Does.Contain("lib/Dominance.Api.dll").And.Contain("<Using Include=\"Dominance.Api\" />"));
            Assert.That(File.ReadAllText(Path.Combine(game, ".gitignore")), Does.Contain("obj/").And.Contain("*.db"));
            Assert.That(File.Exists(Path.Combine(game, "README.md")), Is.True);
            Assert.That(File.ReadAllText(Path.Combine(game, "lib", "Dominance.Api.xml")), Does.Contain("IGameModule"), "the API's docs, for the editor");

            (int built, string output) = await ChildProcess.RunAsync("dotnet", "build", project, "-nologo", "-v", "q");
            Assert.That(built, Is.Zero, output);

            string commands = Path.Combine(game, "Commands.cs");
            string[] lines = File.ReadAllLines(commands);
            int line = Array.IndexOf(lines, "{") + 1; // just inside the class
            Assert.That(line, Is.Positive);
            File.WriteAllLines(commands, [.. lines.Take(line), "    private readonly int _broken = \"not a number\";", .. lines.Skip(line)]);
            (int failed, string errors) = await ChildProcess.RunAsync("dotnet", "build", project, "-nologo", "-v", "q");
            Assert.That(failed, Is.Not.Zero);
            Assert.That(errors, Does.Contain($"Commands.cs({line + 1},").And.Contain("error CS0029"));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Test]
    public async Task AGameFolderThatDoesNotCompileStopsStartupWithItsErrors()
    {
        using var folder = new GameFolder("namespace Broken;\npublic sealed class Game : IGameModule\n{\n    int x = ;\n}\n");
        await using ServerProcess server = ServerProcess.Start([folder.Path]);
        Assert.That(await server.ExitCodeAsync(), Is.EqualTo(1), server.Output);
        Assert.That(server.Output, Does.Contain("did not compile").And.Match(@"Game\.cs:4:\d+: error CS"));
        Assert.That(server.Output, Does.Not.Contain("   at "));
    }

    [Test]
    public async Task ASettingWithoutItsValueIsExplained()
    {
        // The value must follow an equals sign: a separate word would be taken for the game folder.
        await using ServerProcess server = ServerProcess.Start(["--Core:IdleTimeout", "00:10:00"], ephemeralPorts: false);
        Assert.That(await server.ExitCodeAsync(), Is.Not.Zero);
        Assert.That(server.Output, Does.Contain("--Core:IdleTimeout=value"));
    }

    [Test]
    public async Task AMissingGameFolderIsExplained()
    {
        await using ServerProcess server = ServerProcess.Start([Path.Combine(Path.GetTempPath(), "no-such-game-" + Guid.NewGuid())]);
        Assert.That(await server.ExitCodeAsync(), Is.EqualTo(2));
        Assert.That(server.Output, Does.Contain("there is no game folder").And.Contain("dominance init"));
    }
}
