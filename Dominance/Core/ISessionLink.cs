using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// The core's side of the boundary with a portal: what the core can do to one session's connection. A portal implements
/// it, one link per session, and hands it to the core in the session's <see cref="InboundKind.Connected"/> event.
/// </summary>
/// <remarks>
/// <para>The boundary is messages and ids, so that a portal in another process can implement it: each call is one
/// message about one session (a frame of encoded bytes, a close with its goodbye, an echo switch). The core never reads
/// anything back from a link; what the portal learns about a session (<see cref="SessionInfo"/>) travels in the inbound
/// events.</para>
/// <para>Called on the game thread only. No call may block: a link queues, and a full queue is the portal's business
/// (the in-process portal disconnects that one slow client).</para>
/// </remarks>
internal interface ISessionLink
{
    /// <summary>
    /// Hands one frame to the session's connection. Takes over one reference on <paramref name="payload"/> that the
    /// caller took for it. Returns <see langword="false"/> if the frame was dropped (the session is closing or gone, or
    /// its queue is full); the reference is then still the caller's to release.
    /// </summary>
    bool TrySend(OutputKind kind, OutputPayload payload);

    /// <summary>
    /// Closes the session once everything handed to it before has been written, after <paramref name="goodbye"/> (a
    /// text frame) if there is one. Takes over the caller's reference on <paramref name="goodbye"/>. Further frames are
    /// dropped.
    /// </summary>
    void Close(OutputPayload? goodbye);

    /// <summary>Asks the client to stop (<see langword="false"/>) or resume echoing what its player types.</summary>
    void SetEcho(bool enabled);

    /// <summary>
    /// Hands the session's portal a restore token (a <see cref="ResumeTokens"/> token for this session, from
    /// <see cref="IGameContext.SetAccount"/>): proof that the session plays an account, which the portal presents back
    /// if it must connect the session to a core again (a core that restarted; <see cref="IGameModule.OnRestored"/>).
    /// Opaque to the portal. A portal whose sessions cannot outlive the core ignores it. Not the token of
    /// <see cref="SessionResume"/>, which the core sends the client itself.
    /// </summary>
    void SetRestoreToken(string token);

    /// <summary>
    /// The portal's taker of whole broadcasts for this session (<see cref="IBroadcastSink"/>), or <see langword="null"/>:
    /// then every frame of a broadcast goes through <see cref="TrySend"/>.
    /// </summary>
    IBroadcastSink? Broadcasts => null;
}
