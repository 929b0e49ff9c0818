namespace Dominance.Portal.Sending;

/// <summary>
/// One way a connection turns a broadcast's payload into the bytes on its wire (a WebSocket text frame, telnet text in
/// Latin-1 without colour, a GMCP message, ...). Connections that render a payload the same way share one copy of its
/// bytes (<see cref="DirectBroadcast"/>), so each rendering is one instance (a static one: a few in all), known by its <see cref="Id"/>.
/// </summary>
/// <remarks>The bytes must be exactly those the connection's own write loop would write for the same frame.</remarks>
internal abstract class FrameRendering
{
    private static int s_count;

    /// <summary>A new rendering, numbered after those made before.</summary>
    protected FrameRendering() => Id = Interlocked.Increment(ref s_count) - 1;

    /// <summary>This rendering's number, from 0: its place in <see cref="DirectBroadcast"/>'s frames.</summary>
    public int Id { get; }

    /// <summary>The most bytes <see cref="Write"/> may write for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public abstract int MaxLength(int payloadLength);

    /// <summary>Writes <paramref name="payload"/>'s bytes as this rendering sends them into <paramref name="destination"/>, and returns their length.</summary>
    public abstract int Write(ReadOnlySpan<byte> payload, Span<byte> destination);
}
