using Dominance.Api;
using Dominance.Core;

namespace Dominance.Portal;

/// <summary>What an entry in a session's outbox asks the connection to do.</summary>
/// <remarks>The first values are the core's <see cref="OutputKind"/>s, with the same numbers, so a core frame converts by a cast.</remarks>
internal enum FrameKind : byte
{
    /// <summary>Game text: UTF-8 lines ending in CRLF (<see cref="OutputKind.Text"/>).</summary>
    Text = OutputKind.Text,

    /// <summary>An out-of-band message in GMCP form, for clients that negotiated it (<see cref="OutputKind.Data"/>).</summary>
    Data = OutputKind.Data,

    /// <summary>A prompt: text without a line end, marked as a prompt as the client agreed (<see cref="OutputKind.Prompt"/>).</summary>
    Prompt = OutputKind.Prompt,

    /// <summary>Bytes the portal built for this connection only (telnet negotiation).</summary>
    Raw,

    /// <summary>Ask the client to stop echoing input (password prompt).</summary>
    EchoOff,

    /// <summary>Ask the client to echo input again.</summary>
    EchoOn,

    /// <summary>Start compressing everything after this frame (telnet MCCP2, once the client agreed).</summary>
    CompressOn,

    /// <summary>End the compressed stream; what follows is sent as it is (the client turned MCCP2 off).</summary>
    CompressOff,

    /// <summary>Write everything queued before this frame, then close the connection.</summary>
    Close,
}

/// <summary>One entry in a session's outbox. The payload, if any, carries one reference owned by the outbox.</summary>
internal readonly record struct OutputFrame(FrameKind Kind, OutputPayload? Payload);
