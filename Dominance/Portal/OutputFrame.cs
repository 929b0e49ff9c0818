namespace Dominance.Portal;

/// <summary>What an entry in a session's outbox asks the connection to do.</summary>
internal enum FrameKind : byte
{
    /// <summary>Game text: UTF-8 lines ending in CRLF.</summary>
    Text,

    /// <summary>An out-of-band message in GMCP form, for clients that negotiated it.</summary>
    Data,

    /// <summary>Bytes the portal built for this connection only (telnet negotiation).</summary>
    Raw,

    /// <summary>Ask the client to stop echoing input (password prompt).</summary>
    EchoOff,

    /// <summary>Ask the client to echo input again.</summary>
    EchoOn,

    /// <summary>Write everything queued before this frame, then close the connection.</summary>
    Close,
}

/// <summary>One entry in a session's outbox. The payload, if any, carries one reference owned by the outbox.</summary>
internal readonly record struct OutputFrame(FrameKind Kind, OutputPayload? Payload);
