using Dominance.Api;

namespace Dominance.Core;

/// <summary>The core's record of one connected session. Game thread only.</summary>
internal sealed class CoreSession(ISessionLink link, SessionInfo info, long connectedAt)
{
    /// <summary>The session's id.</summary>
    public SessionId Id { get; } = info.Id;

    /// <summary>Where the session's output goes: the portal's side of it.</summary>
    public ISessionLink Link { get; } = link;

    /// <summary>The latest negotiated facts, as the portal last reported them.</summary>
    public SessionInfo Info { get; set; } = info;

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

    /// <summary>
    /// The number of this session's input in flight (its <see cref="IGameModule.OnInput"/> returned a task that has not
    /// completed), or 0 if none is. While one is, the session's later inputs wait in <see cref="Waiting"/>.
    /// </summary>
    public int InFlight { get; set; }

    /// <summary>Numbers the session's inputs that went in flight, so that a late completion can tell it was let go.</summary>
    public int InputsStarted { get; set; }

    /// <summary>Inputs and out-of-band messages that arrived while an input was in flight, in arrival order. Created when first needed.</summary>
    public Queue<InboundEvent>? Waiting { get; set; }

    /// <summary>Whether the client has been told, since its queue last emptied, that its inputs are being dropped.</summary>
    public bool ToldQueueFull { get; set; }
}
