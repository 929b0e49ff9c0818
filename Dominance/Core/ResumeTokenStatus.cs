namespace Dominance.Core;

/// <summary>What a resume token turned out to be.</summary>
internal enum ResumeTokenStatus : byte
{
    /// <summary>Signed with this key and not expired.</summary>
    Valid,

    /// <summary>Not a token at all.</summary>
    Malformed,

    /// <summary>Well formed, but not signed with this key: made up, altered, or from another server.</summary>
    Forged,

    /// <summary>Signed with this key, but past its expiry.</summary>
    Expired,

    /// <summary>Signed with this key, but issued for another purpose (<see cref="ResumeTokenPurpose"/>): refused as if forged.</summary>
    OtherPurpose,
}
