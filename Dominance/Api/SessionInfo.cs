using System.Net;

namespace Dominance.Api;

/// <summary>How a client reached the server.</summary>
public enum ClientProtocol
{
    /// <summary>A telnet connection (the classic MUD client).</summary>
    Telnet,

    /// <summary>A WebSocket connection at <c>/ws</c> (the browser client, or any WebSocket client).</summary>
    WebSocket,

    /// <summary>An in-process connection with no socket (benchmarks and embedding).</summary>
    InMemory,
}

/// <summary>
/// What the core knows about one connected session: protocol facts the portal negotiated, never game state.
/// A snapshot: the core replaces it when the client renegotiates (for example, resizes its window).
/// </summary>
public sealed record SessionInfo
{
    /// <summary>The session this describes.</summary>
    public required SessionId Id { get; init; }

    /// <summary>The transport the client used.</summary>
    public required ClientProtocol Protocol { get; init; }

    /// <summary>The client's address as seen by the server.</summary>
    public required IPAddress RemoteAddress { get; init; }

    /// <summary>When the connection was accepted.</summary>
    public required DateTimeOffset ConnectedAt { get; init; }

    /// <summary>The terminal type the client reported (telnet TTYPE), or <see langword="null"/> if it did not say.</summary>
    public string? TerminalType { get; init; }

    /// <summary>The client's window width in columns (telnet NAWS), or 0 if unknown.</summary>
    public int Width { get; init; }

    /// <summary>The client's window height in rows (telnet NAWS), or 0 if unknown.</summary>
    public int Height { get; init; }

    /// <summary>
    /// Whether the client asked for out-of-band data (GMCP over telnet, or the <c>gmcp.mudstandards.org</c>
    /// WebSocket subprotocol). Out-of-band sends to sessions without it are skipped.
    /// </summary>
    public bool SupportsOutOfBand { get; init; }
}
