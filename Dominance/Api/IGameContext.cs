using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Api;

/// <summary>
/// What the server offers a game module: sessions, groups, output, timers and logging. Use it only on the game thread
/// (inside module callbacks, timer callbacks and the continuations of their <c>await</c>s).
/// </summary>
/// <remarks>
/// Output is never blocking and never delayed: each send encodes the text once and hands it to every recipient's
/// send queue at once. Sending to a session that has gone is not an error; the message is dropped.
/// </remarks>
public interface IGameContext
{
    /// <summary>
    /// The group of administrators. The game decides who is one and joins them to it; the server sends them what
    /// admins need to see, such as reload results and compile errors.
    /// </summary>
    const string AdminGroup = "admins";

    /// <summary>The sessions connected now, in no particular order.</summary>
    IReadOnlyCollection<SessionId> Sessions { get; }

    /// <summary>What the portal negotiated with a session, or <see langword="null"/> if it has gone.</summary>
    SessionInfo? GetInfo(SessionId session);

    /// <summary>
    /// Sends one line of text to a session. ANSI colour codes pass through; <c>\n</c> becomes CRLF. Lines longer than
    /// the client's window (<see cref="SessionInfo.Width"/>) are wrapped at spaces for it, here and in group sends.
    /// </summary>
    void Send(SessionId session, string text);

    /// <summary>Sends an interpolated line (<c>$"..."</c>) to a session, formatted straight into the output buffer.</summary>
    void Send(SessionId session, ref OutputText text);

    /// <summary>Sends one line of text to every member of a group, except <paramref name="except"/> if given.</summary>
    void SendToGroup(string group, string text, SessionId? except = null);

    /// <summary>Sends an interpolated line (<c>$"..."</c>) to a group, formatted once, straight into the output buffer.</summary>
    void SendToGroup(string group, ref OutputText text, SessionId? except = null);

    /// <summary>Sends one line of text to every connected session.</summary>
    void SendToAll(string text);

    /// <summary>Sends an interpolated line (<c>$"..."</c>) to every connected session.</summary>
    void SendToAll(ref OutputText text);

    /// <summary>
    /// Sends a prompt to a session: a line the player answers on, sent without a line end. Telnet clients get it ended
    /// by IAC EOR if they agreed to EOR, otherwise by IAC GA unless they suppressed go-ahead; WebSocket clients get it as
    /// a message of its own. <see cref="SessionInfo.MarksPrompts"/> says whether the client shows it as a prompt.
    /// </summary>
    void SendPrompt(SessionId session, string text);

    /// <summary>
    /// Sends an out-of-band message (GMCP form: a package name and a JSON payload) to a session, if it asked for
    /// out-of-band data and, for a standard GMCP package such as <c>Room.Info</c>, for that package's module
    /// (<see cref="SessionInfo.Wants"/>). Skipped otherwise.
    /// </summary>
    void SendData(SessionId session, string package, string json);

    /// <summary>Sends an out-of-band message to every member of a group that wants it (<see cref="SessionInfo.Wants"/>).</summary>
    void SendDataToGroup(string group, string package, string json);

    /// <summary>
    /// Whether any member of a group wants <paramref name="package"/> (<see cref="SessionInfo.Wants"/>): ask before
    /// building the JSON for <see cref="SendDataToGroup"/>, so that a group of plain clients costs no serializing.
    /// </summary>
    bool GroupWants(string group, string package);

    /// <summary>
    /// Asks the client to stop (<see langword="false"/>) or resume (<see langword="true"/>) echoing what the player
    /// types, for password prompts. Telnet clients get ECHO negotiation; the browser client masks its input line.
    /// </summary>
    void SetEcho(SessionId session, bool enabled);

    /// <summary>
    /// Disconnects a session after sending <paramref name="message"/> (if any) and everything queued before it.
    /// <see cref="IGameModule.OnDisconnect"/> follows once the connection has closed.
    /// </summary>
    void Disconnect(SessionId session, string? message = null);

    /// <summary>
    /// Tells the server that <paramref name="session"/> now plays <paramref name="account"/> (after a login). If the
    /// game core restarts while the player's portal keeps the connection, the new core hands the session back through
    /// <see cref="IGameModule.OnRestored"/> (where sessions cannot outlive the core, there is nothing to hand back). The
    /// session counts as a player online (<see cref="MarkPlaying"/>) until it disconnects.
    /// </summary>
    void SetAccount(SessionId session, string account);

    /// <summary>
    /// Tells the server that <paramref name="session"/> is now in the game as a player, with no account to give back
    /// after a core restart (a guest, say). It counts as a player online for MUD listing crawlers (MSSP <c>PLAYERS</c>)
    /// until it disconnects; marking it again is harmless. <see cref="SetAccount"/> does this too.
    /// </summary>
    void MarkPlaying(SessionId session);

    /// <summary>Adds a session to a group (a "room"), creating the group if needed. Joining twice is harmless.</summary>
    void Join(SessionId session, string group);

    /// <summary>Removes a session from a group. Empty groups are removed.</summary>
    void Leave(SessionId session, string group);

    /// <summary>A snapshot of the members of a group (empty if the group does not exist).</summary>
    IReadOnlyCollection<SessionId> GroupMembers(string group);

    /// <summary>Runs <paramref name="callback"/> once on the game thread after <paramref name="delay"/>.</summary>
    GameTimer Schedule(TimeSpan delay, Action callback);

    /// <summary>Runs <paramref name="callback"/> on the game thread every <paramref name="period"/>, until cancelled.</summary>
    GameTimer ScheduleRepeating(TimeSpan period, Action callback);

    /// <summary>The current time, as the server's clock reads it.</summary>
    DateTimeOffset Now { get; }

    /// <summary>The game's log. Writes never block the game thread (lines are dropped if the console falls behind).</summary>
    ILogger Log { get; }

    /// <summary>
    /// The audit log (category <c>Dominance.Audit</c>), beside the server's own lines about connects, logins, accounts
    /// and reloads: for what an operator must be able to trace later, such as an admin's commands. Never write a
    /// password to it.
    /// </summary>
    ILogger Audit { get; }

    /// <summary>The <c>Game</c> section of the server's settings (appsettings.json, <c>DOMINANCE__Game__*</c>, command line).</summary>
    IConfiguration Settings { get; }

    /// <summary>Writes and reads this generation's state (reload handoff and save files share this format).</summary>
    StateSerializer State { get; }

    /// <summary>Player accounts, kept by the server.</summary>
    IAccounts Accounts { get; }

    /// <summary>
    /// Asks the server to recompile the game code and swap it in. Returns at once; the result goes to the log and to
    /// the <see cref="AdminGroup"/>. Does nothing for a game that was not loaded from source. A reload whose new code
    /// would drop game state (see <see cref="StateSerializer"/>) is refused unless <paramref name="force"/> is set.
    /// </summary>
    void RequestReload(bool force = false);

    /// <summary>
    /// The last ten failures of the game's code, oldest first: exceptions thrown by commands, timers and continuations,
    /// and reloads that did not compile or did not start. For an admin <c>errors</c> command; each one also reached the
    /// admins (<see cref="AdminGroup"/>) when it happened.
    /// </summary>
    IReadOnlyList<GameFailure> RecentFailures { get; }

    /// <summary>
    /// Runs a C# expression or statements against the running game, for an admin <c>eval</c> command, and answers with
    /// the value (or the compiler's errors, or the exception). In the code, <c>game</c> is <paramref name="globals"/>,
    /// typed as its own class; its private members are reachable, and so are the game's implicit usings.
    /// </summary>
    /// <remarks>
    /// The code is compiled off the game thread; it runs on the game thread, when the task completes, like any
    /// continuation of the caller's. Only ask for it on behalf of an admin: it runs with the server's rights. Every use
    /// is logged with <paramref name="requestedBy"/>. A server with <c>Reload:Eval</c> off answers that eval is off.
    /// </remarks>
    Task<string> EvaluateAsync(SessionId requestedBy, string code, object globals);

    /// <summary>
    /// Saves the world now. After the current callback, the module's <see cref="IGameModule.ExportState"/> runs on the
    /// game thread (the only part of a save that does), and a background writer stores the result. Completes, on the
    /// game thread, once the save is stored or has failed; a failed save is retried in the background, and admins are
    /// told. The server also saves periodically and on shutdown.
    /// </summary>
    Task<SaveResult> SaveAsync();

    /// <summary>
    /// Shuts the server down gracefully, as Ctrl-C does: players are told, output is flushed, connections close.
    /// Returns at once. <paramref name="reason"/> goes to the log.
    /// </summary>
    void RequestShutdown(string reason);
}
