namespace Dominance.Core;

/// <summary>
/// What a <see cref="ResumeTokens"/> token was issued for. It is signed into the token, and a token is accepted only for
/// the purpose it was issued for, so that one kind cannot be replayed as the other.
/// </summary>
internal enum ResumeTokenPurpose : byte
{
    /// <summary>The web client's session resume: sent to the browser, presented by it to take back a parked session.</summary>
    Resume = 1,

    /// <summary>
    /// A restore token: kept by the portal for a connection (never sent to a client) and presented by it when the
    /// connection attaches to a restarted core, to get the player's account back.
    /// </summary>
    Restore = 2,
}
