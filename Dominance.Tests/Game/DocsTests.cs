using System.Text.RegularExpressions;
using Dominance.Reload;
using Dominance.Tests.Support;

namespace Dominance.Tests.Game;

/// <summary>Every C# example in docs/writing-a-game.md compiles as a game file, as the server compiles a game folder.</summary>
public sealed partial class DocsTests
{
    private static readonly string s_guide = File.ReadAllText(Path.Combine(Repository.Root, "docs", "writing-a-game.md"));

    private static IEnumerable<TestCaseData> Examples() =>
        ExamplePattern().Matches(s_guide).Select(m => new TestCaseData(m.Groups["code"].Value).SetName($"TheGuidesExample_{m.Groups["name"].Value.Replace('-', '_')}_Compiles"));

    [Test]
    public void EveryCSharpBlockInTheGuideIsATestedExample() =>
        Assert.That(ExamplePattern().Matches(s_guide).Count, Is.EqualTo(Regex.Matches(s_guide, "```csharp").Count).And.GreaterThanOrEqualTo(6));

    [TestCaseSource(nameof(Examples))]
    public async Task Example(string code)
    {
        CompileResult result = await new GameCompiler().CompileAsync([new SourceFile("Example.cs", code)], generation: 1);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Warnings, Is.Empty);
        Assert.That(result.Succeeded, Is.True);
    }

    [GeneratedRegex(@"<!-- doc-test: (?<name>[\w-]+) -->\s*```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ExamplePattern();
}
