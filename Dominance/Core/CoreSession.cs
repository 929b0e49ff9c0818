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

    /// <summary>Whether the game turned the client's echo off (a password prompt): its next lines are never logged.</summary>
    public bool EchoOff { get; set; }

    /// <summary>The groups this session belongs to.</summary>
    public List<string> Groups { get; } = [];

    /// <summary>The pending idle check, if idle logoff is on.</summary>
    public GameTimer? IdleTimer { get; set; }

    /// <summary>
    /// The session's input in flight (its <see cref="IGameModule.OnInput"/> returned a task that has not completed) and
    /// the inputs waiting behind it; <see langword="null"/> until one of its inputs first awaits.
    /// </summary>
    public SessionInputs? Inputs { get; set; }
}
