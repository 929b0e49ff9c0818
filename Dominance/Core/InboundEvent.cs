using Dominance.Api;

namespace Dominance.Core;

/// <summary>What happened at the portal.</summary>
internal enum InboundKind : byte
{
    /// <summary>A client connected: <see cref="InboundEvent.Link"/> reaches it, <see cref="InboundEvent.Info"/> says what is known of it.</summary>
    Connected,

    /// <summary>One line of input (<see cref="InboundEvent.Text"/>).</summary>
    Input,

    /// <summary>An out-of-band message: <see cref="InboundEvent.Package"/> and its JSON in <see cref="InboundEvent.Text"/>.</summary>
    Data,

    /// <summary>The client renegotiated something (window size, terminal, GMCP): <see cref="InboundEvent.Info"/> is the new whole.</summary>
    InfoChanged,

    /// <summary>The connection has closed. Always the last event of a session.</summary>
    Disconnected,
}

/// <summary>
/// One entry of the inbound channel: a message about one session, named by its id. Per session, events arrive in the
/// order they happened: <c>Connected</c> first, <c>Disconnected</c> last.
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="Session">The session it happened to.</param>
/// <param name="Text">The input line, or the JSON of an out-of-band message.</param>
/// <param name="Package">The package name of an out-of-band message.</param>
/// <param name="Link">How the core reaches the session (<c>Connected</c> only).</param>
/// <param name="Info">What the portal knows of the session (<c>Connected</c> and <c>InfoChanged</c>).</param>
/// <param name="Received">When the portal read an input (<see cref="System.Diagnostics.Stopwatch"/> timestamp), for its reply time.</param>
internal readonly record struct InboundEvent(
    InboundKind Kind, SessionId Session, string? Text = null, string? Package = null, ISessionLink? Link = null, SessionInfo? Info = null, long Received = 0)
{
    /// <summary>A client connected.</summary>
    public static InboundEvent Connected(ISessionLink link, SessionInfo info) => new(InboundKind.Connected, info.Id, Link: link, Info: info);

    /// <summary>One line of input.</summary>
    public static InboundEvent Input(SessionId session, string line) =>
        new(InboundKind.Input, session, line, Received: System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>One out-of-band message.</summary>
    public static InboundEvent Data(SessionId session, string package, string json) => new(InboundKind.Data, session, json, package);

    /// <summary>The session's negotiated facts changed; <paramref name="info"/> replaces what the core had.</summary>
    public static InboundEvent InfoChanged(SessionInfo info) => new(InboundKind.InfoChanged, info.Id, Info: info);

    /// <summary>The connection has closed.</summary>
    public static InboundEvent Disconnected(SessionId session) => new(InboundKind.Disconnected, session);
}
