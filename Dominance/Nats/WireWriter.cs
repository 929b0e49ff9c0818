using System.Buffers;
using System.Text;

namespace Dominance.Nats;

/// <summary>
/// Writes the wire format of <see cref="Wire"/>: bytes, unsigned LEB128 integers, and length-prefixed UTF-8 strings and
/// byte strings, into a growable buffer.
/// </summary>
internal sealed class WireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer;

    public WireWriter(int capacity = 256) => _buffer = new ArrayBufferWriter<byte>(capacity);

    /// <summary>What has been written.</summary>
    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    /// <summary>Bytes written so far.</summary>
    public int Length => _buffer.WrittenCount;

    /// <summary>Starts again from empty, keeping the buffer.</summary>
    public void Clear() => _buffer.ResetWrittenCount();

    public void Byte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    /// <summary>A non-negative integer, 7 bits a byte (small numbers take one byte).</summary>
    public void Number(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        Span<byte> span = _buffer.GetSpan(10);
        int i = 0;
        ulong v = (ulong)value;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }

        span[i++] = (byte)v;
        _buffer.Advance(i);
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        Number(value.Length);
        _buffer.Write(value);
    }

    /// <summary>Bytes as they are, with no length (already encoded parts of a message).</summary>
    public void Raw(ReadOnlySpan<byte> value) => _buffer.Write(value);

    public void String(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        Number(length);
        Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
        _buffer.Advance(length);
    }

    /// <summary>A string that may be absent: a flag byte, then the string.</summary>
    public void OptionalString(string? value)
    {
        Byte(value is null ? (byte)0 : (byte)1);
        if (value is not null)
        {
            String(value);
        }
    }
}
