using Dominance.Api;

namespace Dominance.Core;

/// <summary>The core's record of one session. Game thread only.</summary>
/// <remarks>
/// A session outlives its first connection when it resumes (<see cref="SessionResume"/>): <see cref="Id"/>, the id
/// game code knows, stays; <see cref="Transport"/> and <see cref="Link"/> follow the connection that has it now.
/// </remarks>
internal sealed class CoreSession(ISessionLink link, SessionInfo info, long connectedAt)
{
    /// <summary>The session's id, as game code knows it: the portal's id of its first connection.</summary>
    public SessionId Id { get; } = info.Id;

    /// <summary>
    /// Where the session's output goes: the portal's side of its connection, or a <see cref="ParkedLink"/> that keeps
    /// it while the session has no connection.
    /// </summary>
    public ISessionLink Link { get; set; } = link;

    /// <summary>The portal's id of the connection that has the session now, or <see langword="null"/> while it is parked.</summary>
    public SessionId? Transport { get; set; } = info.Id;

    /// <summary>The account logged in on this session, if any: only such sessions are parked and resumed.</summary>
    public string? Account { get; set; }

    /// <summary>
    /// The account the game named in <see cref="Dominance.Api.IGameContext.SetAccount"/>, if it did: a connection that
    /// takes this session over (a resume) gets a restore token for it too, so that it comes back after a core restart.
    /// </summary>
    public string? RestoreAccount { get; set; }

    /// <summary>Whether the game said that this session plays (<see cref="IGameContext.MarkPlaying"/>, <see cref="IGameContext.SetAccount"/>): counted in <see cref="SessionTable.Playing"/>.</summary>
    public bool Playing { get; set; }

    /// <summary>The session's output while it has no connection, or <see langword="null"/> while it has one.</summary>
    public ParkedLink? Parked => Link as ParkedLink;

    /// <summary>Renews the session's resume token before it expires (logged-in sessions only).</summary>
    public GameTimer? TokenTimer { get; set; }

    /// <summary>Ends a parked session when its grace period is over.</summary>
    public GameTimer? GraceTimer { get; set; }

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
