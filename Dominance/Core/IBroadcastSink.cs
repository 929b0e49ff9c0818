using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// A portal's taker of whole broadcasts: while the core hands one payload to many sessions, the sessions whose portal
/// can send a frame built once to many connections are added here, and the broadcast is handed over as one item when
/// the core ends it (<see cref="End"/>), instead of one frame per session.
/// </summary>
/// <remarks>
/// Game thread only, as <see cref="ISessionLink"/>. The core ends a broadcast before it hands anything else to any
/// session, and before the fan-out returns, even when it throws, so that a session's frames from the game thread keep
/// their order whichever way each went. Output from other threads (a WebSocket's close frame) can come between a
/// session's adding and the end; the portal's sender sends nothing after a connection's close frame.
/// </remarks>
internal interface IBroadcastSink
{
    /// <summary>
    /// Adds <paramref name="link"/>'s session to the broadcast of <paramref name="payload"/>. Copies what it needs at
    /// once and takes no reference on the payload. Returns <see langword="false"/> if this session's frame must go
    /// through <see cref="ISessionLink.TrySend"/> instead (for example, something of its own is still queued).
    /// </summary>
    bool TryAdd(ISessionLink link, OutputKind kind, OutputPayload payload);

    /// <summary>Hands everything added since the last call to the portal's sender. Never blocks.</summary>
    void End();
}
