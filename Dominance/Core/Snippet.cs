namespace Dominance.Core;

/// <summary>
/// A snippet of C# compiled against the running game (an admin's <c>eval</c>): its entry point, which takes the
/// globals object and returns the value of the expression (or <see langword="null"/>), or why it cannot run.
/// </summary>
/// <remarks>Invariant: exactly one of <see cref="Run"/> and a non-empty <see cref="Errors"/> is set.</remarks>
internal sealed record Snippet(Func<object, object?>? Run, IReadOnlyList<string> Errors)
{
    /// <summary>A snippet that cannot run, and why.</summary>
    public static Snippet Failed(params string[] errors) => new(null, errors);
}
