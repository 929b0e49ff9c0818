using Dominance.Portal.Sending;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// A broadcast's payload as one unmasked WebSocket frame of one opcode: a server's frames are not masked, so the frame
/// is the same bytes for every recipient that takes it with the same opcode (<see cref="WebSocketFrames.WriteFrame"/>).
/// </summary>
internal sealed class WebSocketFrameRendering : FrameRendering
{
    private readonly byte _opcode;

    private WebSocketFrameRendering(byte opcode) => _opcode = opcode;

    /// <summary>A text frame (plain clients' game text, GMCP clients' out-of-band messages).</summary>
    public static WebSocketFrameRendering Text { get; } = new(WebSocketFrames.Text);

    /// <summary>A binary frame (GMCP clients' game text).</summary>
    public static WebSocketFrameRendering Binary { get; } = new(WebSocketFrames.Binary);

    /// <inheritdoc/>
    public override int MaxLength(int payloadLength) => payloadLength + 10; // the longest header: 2 bytes and a 64-bit length

    /// <inheritdoc/>
    public override int Write(ReadOnlySpan<byte> payload, Span<byte> destination) => WebSocketFrames.WriteFrame(destination, _opcode, payload);
}
