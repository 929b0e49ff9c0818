namespace Dominance.Api;

/// <summary>
/// Something that went wrong in the game's code, as the server keeps it for admins (<see cref="IGameContext.RecentFailures"/>):
/// an exception thrown by a command, a timer or a continuation, or a reload that did not compile or did not start.
/// </summary>
/// <param name="Time">When it happened, by the server's clock.</param>
/// <param name="Summary">One line: what failed and why, e.g. <c>InvalidOperationException: ... (handling 'roll' from session 7)</c>.</param>
/// <param name="Location">Where in the game's source, as <c>File.cs:line</c>, if known.</param>
/// <param name="Details">The compiler's errors (<c>file:line:column: error ...</c>), or the exception's stack trace lines.</param>
public sealed record GameFailure(DateTimeOffset Time, string Summary, string? Location, IReadOnlyList<string> Details);
