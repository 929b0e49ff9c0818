using Dominance.Core;
using NetArchTest.Rules;

namespace Dominance.Tests.Architecture;

/// <summary>
/// The server's parts depend on each other one way only: Api ← Core ← Portal ← Hosting, with Reload, Persistence and
/// Accounts beside the portal (they use Core and Api; Accounts also Persistence), Nats (the session boundary over NATS) above the portal it carries, the web client on its own, and
/// Hosting free to use everything. A part is a namespace (with its sub-namespaces); a dependency is any type a part's
/// code names: in signatures, fields, attributes and method bodies, compiler-generated code included.
/// </summary>
public sealed class DependencyTests
{
    private static readonly string[] s_parts =
        ["Dominance.Api", "Dominance.Core", "Dominance.Portal", "Dominance.Reload", "Dominance.Persistence", "Dominance.Accounts", "Dominance.WebClient", "Dominance.Nats", "Dominance.Hosting"];

    /// <summary>Each part, and the parts it may use.</summary>
    private static readonly Dictionary<string, string[]> s_allowed = new()
    {
        ["Dominance.Api"] = [],
        ["Dominance.Core"] = ["Dominance.Api"],
        ["Dominance.Portal"] = ["Dominance.Api", "Dominance.Core"],
        ["Dominance.Reload"] = ["Dominance.Api", "Dominance.Core"],
        ["Dominance.Persistence"] = ["Dominance.Api", "Dominance.Core"],
        ["Dominance.Accounts"] = ["Dominance.Api", "Dominance.Core", "Dominance.Persistence"],
        ["Dominance.WebClient"] = [],
        ["Dominance.Nats"] = ["Dominance.Api", "Dominance.Core", "Dominance.Portal"],
        ["Dominance.Hosting"] = [.. s_parts],
    };

    [TestCaseSource(nameof(Parts))]
    public void APartUsesOnlyThePartsBelowIt(string part)
    {
        string[] forbidden = [.. s_parts.Where(other => other != part && !s_allowed[part].Contains(other))];
        if (forbidden.Length == 0)
        {
            return;
        }

        TestResult result = Types.InAssembly(typeof(GameLoop).Assembly)
            .That().ResideInNamespace(part)
            .ShouldNot().HaveDependencyOnAny(forbidden)
            .GetResult();
        Assert.That(result.FailingTypeNames ?? [], Is.Empty, $"{part} may use only {string.Join(", ", s_allowed[part].DefaultIfEmpty("nothing of the server"))}");
    }

    [Test]
    public void EveryTypeOfTheServerBelongsToAPart()
    {
        TestResult result = Types.InAssembly(typeof(GameLoop).Assembly)
            .That().ResideInNamespace("Dominance")
            .Should().ResideInNamespaceMatching($"^({string.Join("|", s_parts.Select(p => p.Replace(".", "\\.", StringComparison.Ordinal)))})(\\..*)?$")
            .GetResult();
        Assert.That(result.FailingTypeNames ?? [], Is.Empty, "a new folder needs a place in the dependency rules");
    }

    private static IEnumerable<string> Parts() => s_parts;
}
