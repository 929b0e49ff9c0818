using Dominance.Api;
using Dominance.Portal;

namespace Dominance.Core;

/// <summary>The core's record of one connected session. Game thread only.</summary>
internal sealed class CoreSession(PortalSession portal, long connectedAt)
{
    /// <summary>The session's id.</summary>
    public SessionId Id { get; } = portal.Id;

    /// <summary>The portal's side of the session: where its output goes.</summary>
    public PortalSession Portal { get; } = portal;

    /// <summary>The latest negotiated facts, copied when the portal reports a change.</summary>
    public SessionInfo Info { get; set; } = portal.Info;

    /// <summary>Timestamp of the last input (or of the connect), for idle logoff.</summary>
    public long LastInput { get; set; } = connectedAt;

    /// <summary>
    /// Set once the core has asked the portal to close the session. A closing session gets no more output and no
    /// more input is dispatched for it; it leaves the table when the portal reports the disconnect.
    /// </summary>
    public bool Closing { get; set; }

    /// <summary>The groups this session belongs to.</summary>
    public List<string> Groups { get; } = [];

    /// <summary>The pending idle check, if idle logoff is on.</summary>
    public GameTimer? IdleTimer { get; set; }
}
