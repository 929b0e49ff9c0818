namespace Dominance.Core;

/// <summary>What a frame of output the core hands a session carries.</summary>
internal enum OutputKind : byte
{
    /// <summary>Game text: UTF-8 lines ending in CRLF.</summary>
    Text,

    /// <summary>An out-of-band message in GMCP form (<c>Package.Name json</c>), for clients that negotiated it.</summary>
    Data,

    /// <summary>A prompt: UTF-8 text with no line end, which the client shows as a prompt (telnet: ended by EOR or GA).</summary>
    Prompt,
}
