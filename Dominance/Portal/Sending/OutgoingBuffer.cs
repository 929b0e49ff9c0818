using System.Buffers;

namespace Dominance.Portal.Sending;

/// <summary>
/// A write loop's bytes for a connection sent on directly (<see cref="DirectSocket"/>), in an array rented from the
/// shared pool that is handed over whole to the sender when the loop flushes (no copy), so that an idle connection holds no buffer.
/// </summary>
/// <remarks>One writer at a time (the session's write loop).</remarks>
internal sealed class OutgoingBuffer : IBufferWriter<byte>
{
    private const int FirstSize = 512;

    private byte[]? _buffer;
    private int _length;

    /// <inheritdoc/>
    public void Advance(int count) => _length += count;

    /// <inheritdoc/>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_length);
    }

    /// <inheritdoc/>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_length);
    }

    /// <summary>Hands what was written so far to <paramref name="socket"/>, followed by <paramref name="then"/>, and starts empty.</summary>
    public void SendTo(DirectSocket socket, DirectSocket.WriteEnd then = DirectSocket.WriteEnd.None)
    {
        if (_length == 0)
        {
            Discard();
            if (then != DirectSocket.WriteEnd.None)
            {
                socket.WriteOwned(null, 0, then);
            }

            return;
        }

        socket.WriteOwned(_buffer, _length, then);
        _buffer = null;
        _length = 0;
    }

    /// <summary>Drops what was written, and gives the buffer back.</summary>
    public void Discard()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _length = 0;
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, FirstSize));
            return;
        }

        if (_buffer.Length - _length >= sizeHint)
        {
            return;
        }

        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + sizeHint, _buffer.Length * 2));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
