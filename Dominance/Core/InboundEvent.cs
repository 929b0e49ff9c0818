using Dominance.Api;

namespace Dominance.Core;

/// <summary>What happened at the portal.</summary>
internal enum InboundKind : byte
{
    /// <summary>
    /// A client connected: <see cref="InboundEvent.Link"/> reaches it, <see cref="InboundEvent.Info"/> says what is known
    /// of it, <see cref="InboundEvent.Text"/> is the resume token it presented, if any (<see cref="SessionResume"/>), and
    /// <see cref="InboundEvent.Account"/> the account it played before, if its portal kept it from an earlier core or
    /// from before the core dropped that portal (a verified restore token).
    /// </summary>
    Connected,

    /// <summary>One line of input (<see cref="InboundEvent.Text"/>).</summary>
    Input,

    /// <summary>An out-of-band message: <see cref="InboundEvent.Package"/> and its JSON in <see cref="InboundEvent.Text"/>.</summary>
    Data,

    /// <summary>The client renegotiated something (window size, terminal, GMCP): <see cref="InboundEvent.Info"/> is the new whole.</summary>
    InfoChanged,

    /// <summary>The connection has closed. Always the last event of a session.</summary>
    Disconnected,

    /// <summary>
    /// A session that played an account before the core restarted is back (its resume token was verified):
    /// <see cref="InboundEvent.Text"/> is the account's name. Handed to the module's <see cref="IGameModule.OnRestored"/>
    /// as an input is, in its turn. Not sent by portals: the dispatcher makes it of a <see cref="Connected"/> that names
    /// an <see cref="InboundEvent.Account"/>.
    /// </summary>
    Restored,
}

/// <summary>
/// One entry of the inbound channel: a message about one session, named by its id. Per session, events arrive in the
/// order they happened: <c>Connected</c> first, <c>Disconnected</c> last.
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="Session">The session it happened to.</param>
/// <param name="Text">The input line, the JSON of an out-of-band message, or the resume token of a connect.</param>
/// <param name="Package">The package name of an out-of-band message.</param>
/// <param name="Link">How the core reaches the session (<c>Connected</c> only).</param>
/// <param name="Info">What the portal knows of the session (<c>Connected</c> and <c>InfoChanged</c>).</param>
/// <param name="Received">When the portal read an input (<see cref="System.Diagnostics.Stopwatch"/> timestamp), for its reply time.</param>
/// <param name="Account">
/// The account that a connect's verified restore token names (<c>Connected</c> only): the session played it in this core
/// or in an earlier one, and its portal kept the connection.
/// </param>
internal readonly record struct InboundEvent(
    InboundKind Kind, SessionId Session, string? Text = null, string? Package = null, ISessionLink? Link = null, SessionInfo? Info = null, long Received = 0,
    string? Account = null)
{
    /// <summary>
    /// A client connected, presenting <paramref name="resumeToken"/> if it wants a session back, and coming back to
    /// <paramref name="account"/> if its portal kept it and vouches for that with a verified restore token.
    /// </summary>
    public static InboundEvent Connected(ISessionLink link, SessionInfo info, string? resumeToken = null, string? account = null) =>
        new(InboundKind.Connected, info.Id, resumeToken, Link: link, Info: info, Account: account);

    /// <summary>One line of input.</summary>
    public static InboundEvent Input(SessionId session, string line) =>
        new(InboundKind.Input, session, line, Received: System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>One out-of-band message.</summary>
    public static InboundEvent Data(SessionId session, string package, string json) => new(InboundKind.Data, session, json, package);

    /// <summary>The session's negotiated facts changed; <paramref name="info"/> replaces what the core had.</summary>
    public static InboundEvent InfoChanged(SessionInfo info) => new(InboundKind.InfoChanged, info.Id, Info: info);

    /// <summary>A session gets <paramref name="account"/> back after a core restart (its resume token was verified).</summary>
    public static InboundEvent Restored(SessionId session, string account) => new(InboundKind.Restored, session, account);

    /// <summary>The connection has closed.</summary>
    public static InboundEvent Disconnected(SessionId session) => new(InboundKind.Disconnected, session);
}
