using Dominance.Portal;

namespace Dominance.Core;

/// <summary>What happened at the portal.</summary>
internal enum InboundKind : byte
{
    /// <summary>A client connected; the session can be sent to from now on.</summary>
    Connected,

    /// <summary>One line of input (<see cref="InboundEvent.Text"/>).</summary>
    Input,

    /// <summary>An out-of-band message: <see cref="InboundEvent.Package"/> and its JSON in <see cref="InboundEvent.Text"/>.</summary>
    Data,

    /// <summary>The client renegotiated something in <see cref="PortalSession.Info"/> (window size, terminal, GMCP).</summary>
    InfoChanged,

    /// <summary>The connection has closed. Always the last event of a session.</summary>
    Disconnected,
}

/// <summary>
/// One entry of the inbound channel. Per session, events arrive in the order they happened: <c>Connected</c> first,
/// <c>Disconnected</c> last.
/// </summary>
internal readonly record struct InboundEvent(InboundKind Kind, PortalSession Session, string? Text = null, string? Package = null);
