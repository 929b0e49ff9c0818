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

    /// <summary>
    /// The terminal type the client reported (telnet TTYPE, the second round of an MTTS cycle), or
    /// <see langword="null"/> if it did not say. MTTS names carry capabilities: <c>XTERM-256COLOR</c>, <c>XTERM-TRUECOLOR</c>.
    /// </summary>
    public string? TerminalType { get; init; }

    /// <summary>
    /// The client program's name (the first TTYPE round, such as <c>MUDLET</c> or <c>TINTIN++</c>, or GMCP
    /// <c>Core.Hello</c>), or <see langword="null"/> if it did not say.
    /// </summary>
    public string? ClientName { get; init; }

    /// <summary>The client program's version (GMCP <c>Core.Hello</c>), or <see langword="null"/>.</summary>
    public string? ClientVersion { get; init; }

    /// <summary>What the client reported in MTTS (the third TTYPE round), or <see langword="null"/> if it did not.</summary>
    public MttsFlags? Mtts { get; init; }

    /// <summary>
    /// The character set of the connection: <c>UTF-8</c>, or <c>ISO-8859-1</c> for a client that cannot do UTF-8 (telnet
    /// CHARSET, or MTTS without the UTF-8 flag). The portal converts both ways; game text is always .NET strings.
    /// </summary>
    public string Charset { get; init; } = "UTF-8";

    /// <summary>
    /// Whether the client shows a prompt (<see cref="IGameContext.SendPrompt"/>) as a prompt: a telnet client that
    /// agreed to EOR (end of record) marks it, and so do clients of the telnet WebSocket subprotocol that did.
    /// </summary>
    public bool MarksPrompts { get; init; }

    /// <summary>
    /// The GMCP modules the client asked for with <c>Core.Supports.Set</c> / <c>.Add</c> (such as <c>Char</c>,
    /// <c>Room</c>, <c>Comm.Channel</c>), without versions. Standard packages (<c>Char.*</c>, <c>Room.*</c>,
    /// <c>Comm.*</c>, ...) are sent only to clients that asked for their module; a game's own packages go to every client
    /// with <see cref="SupportsOutOfBand"/>.
    /// </summary>
    public IReadOnlySet<string> GmcpModules { get; init; } = EmptyModules;

    /// <summary>
    /// How much colour the client renders, from what it reported: MTTS flags if it sent them (no colour without ANSI or
    /// with a screen reader), otherwise its terminal type (<c>-256COLOR</c>, <c>-TRUECOLOR</c>, <c>DUMB</c>); 16 colours
    /// when it said nothing. For <see cref="ColorSupport.None"/> the portal removes colour codes from the output.
    /// </summary>
    public ColorSupport Colors
    {
        get
        {
            if (Mtts is { } flags)
            {
                return (flags & MttsFlags.ScreenReader) != 0 || (flags & MttsFlags.Ansi) == 0 ? ColorSupport.None
                    : (flags & MttsFlags.TrueColor) != 0 ? ColorSupport.TrueColor
                    : (flags & MttsFlags.Colors256) != 0 ? ColorSupport.Ansi256
                    : ColorSupport.Ansi16;
            }

            string terminal = TerminalType ?? "";
            return terminal.Contains("TRUECOLOR", StringComparison.OrdinalIgnoreCase) ? ColorSupport.TrueColor
                : terminal.Contains("256COLOR", StringComparison.OrdinalIgnoreCase) ? ColorSupport.Ansi256
                : terminal.Equals("DUMB", StringComparison.OrdinalIgnoreCase) ? ColorSupport.None
                : ColorSupport.Ansi16;
        }
    }

    /// <summary>
    /// Whether an out-of-band message of <paramref name="package"/> may go to this client: it asked for out-of-band data,
    /// and for a standard GMCP package (one of <see cref="GmcpStandard.Modules"/>), it asked for that package's module
    /// or a module above it (<c>Comm</c> or <c>Comm.Channel</c> for <c>Comm.Channel.Text</c>).
    /// </summary>
    public bool Wants(string package) => SupportsOutOfBand && (!GmcpStandard.IsStandard(package) || GmcpStandard.Covers(GmcpModules, package));

    private static readonly IReadOnlySet<string> EmptyModules = new HashSet<string>();

    /// <summary>
    /// The client's window width in columns (telnet NAWS, or the web client's report), or 0 if unknown. The portal wraps
    /// text lines longer than this at spaces (20 columns or more), whether sent to one session or to a group.
    /// </summary>
    public int Width { get; init; }

    /// <summary>The client's window height in rows (telnet NAWS), or 0 if unknown.</summary>
    public int Height { get; init; }

    /// <summary>
    /// Whether the client asked for out-of-band data (GMCP over telnet, or the <c>gmcp.mudstandards.org</c>
    /// WebSocket subprotocol). Out-of-band sends to sessions without it are skipped.
    /// </summary>
    public bool SupportsOutOfBand { get; init; }

    /// <summary>
    /// Whether this connection comes back from before a core restart (its portal kept it): <see cref="IGameModule.OnRestored"/>
    /// follows <see cref="IGameModule.OnConnect"/>, so a game may skip what it says to a newcomer.
    /// </summary>
    public bool Restoring { get; init; }
}
