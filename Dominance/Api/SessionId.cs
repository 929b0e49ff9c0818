namespace Dominance.Api;

/// <summary>
/// Identifies one client connection for its whole life. The portal assigns ids in increasing order and never reuses one
/// within a process, so a stale id can only ever name a session that has gone (and output to it is dropped).
/// </summary>
/// <param name="Value">The numeric id, unique within this server process.</param>
public readonly record struct SessionId(long Value)
{
    /// <summary>Formats the id as <c>#42</c>, the form used in logs.</summary>
    public override string ToString() => "#" + Value;
}
