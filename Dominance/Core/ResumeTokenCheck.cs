using Dominance.Api;

namespace Dominance.Core;

/// <summary>The result of <see cref="ResumeTokens.Check"/>: the status and, for a signed token, what it says.</summary>
/// <param name="Status">What the token is.</param>
/// <param name="Account">The account it was issued to (signed tokens only, expired ones included).</param>
/// <param name="Session">The core session it was issued for (signed tokens only).</param>
/// <param name="Expires">When it stops being valid (signed tokens only).</param>
internal readonly record struct ResumeTokenCheck(ResumeTokenStatus Status, string? Account, SessionId Session, DateTimeOffset Expires)
{
    /// <summary>A token that says nothing that can be trusted.</summary>
    public static ResumeTokenCheck Fail(ResumeTokenStatus status) => new(status, null, default, default);
}
