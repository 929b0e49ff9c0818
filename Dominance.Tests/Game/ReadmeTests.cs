using System.Text.RegularExpressions;
using Dominance.Reload;
using Dominance.Tests.Support;

namespace Dominance.Tests.Game;

/// <summary>The README's "write your own command" walkthrough, done for real with the README's own code.</summary>
public sealed partial class ReadmeTests
{
    [Test]
    public async Task TheReadmesNewCommandGoesLiveWithAReload()
    {
        string readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        string tableLine = Snippet(readme, "command-table");
        string method = Snippet(readme, "command-method");

        string folder = Directory.CreateTempSubdirectory("dominance-readme-").FullName;
        try
        {
            GameSources.WriteEmbedded(folder);
            await using TestServer server = await TestServer.StartFromSourceAsync(folder);
            await using TelnetTestClient alice = await server.CreateAsync("Alice");
            Assert.That(await alice.DoAsync("roll 20", "Unknown"), Does.StartWith("Unknown command 'roll'."));

            string commands = Path.Combine(folder, "Commands.cs");
            string source = File.ReadAllText(commands);
            source = source.Replace("        var table = new Dictionary<string, Command>();", "        commands = [.. commands, " + tableLine.TrimEnd(',') + "];\n        var table = new Dictionary<string, Command>();");
            source = source[..source.LastIndexOf('}')] + method + "\n}\n";
            File.WriteAllText(commands, source);

            await Poll.UntilAsync(() => server.Log.Contains("to generation 2 (Commands.cs changed)"), "the edit was reloaded");
            Assert.That(await alice.DoAsync("roll 20", "rolls"), Does.Match(@"^Alice rolls a d20: \d+\.$"));
            await alice.SendAsync("help roll");
            Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("roll [sides]"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string Snippet(string readme, string name) =>
        SnippetPattern().Matches(readme).Single(m => m.Groups["name"].Value == name).Groups["code"].Value.Trim();

    [GeneratedRegex(@"<!-- readme-test: (?<name>[\w-]+) -->\s*```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SnippetPattern();
}
