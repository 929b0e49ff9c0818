namespace Dominance.Portal.Sending;

/// <summary>
/// One way a connection turns a broadcast's payload into the bytes on its wire (a WebSocket text frame, telnet text in
/// Latin-1 without colour, a telnet prompt ended by <c>IAC EOR</c>, ...). Connections that render a payload the same
/// way share one copy of its bytes (<see cref="DirectBroadcast"/>), so each rendering is one instance, compared by reference.
/// </summary>
/// <remarks>The bytes must be exactly those the connection's own write loop would write for the same frame.</remarks>
internal abstract class FrameRendering
{
    /// <summary>The most bytes <see cref="Write"/> may write for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public abstract int MaxLength(int payloadLength);

    /// <summary>Writes <paramref name="payload"/>'s bytes as this rendering sends them into <paramref name="destination"/>, and returns their length.</summary>
    public abstract int Write(ReadOnlySpan<byte> payload, Span<byte> destination);
}
