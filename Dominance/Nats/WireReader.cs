using System.Text;

namespace Dominance.Nats;

/// <summary>
/// Reads what <see cref="WireWriter"/> wrote. A message that ends early or holds a length past its end throws
/// <see cref="InvalidDataException"/>: the receiver logs it and drops the message.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    /// <summary>Whether everything has been read.</summary>
    public readonly bool AtEnd => _rest.IsEmpty;

    public byte Byte()
    {
        if (_rest.IsEmpty)
        {
            throw Truncated();
        }

        byte value = _rest[0];
        _rest = _rest[1..];
        return value;
    }

    public long Number()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = Byte();
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value <= long.MaxValue ? (long)value : throw new InvalidDataException("A number on the wire is out of range.");
            }
        }

        throw new InvalidDataException("A number on the wire is too long.");
    }

    public ReadOnlySpan<byte> Bytes()
    {
        long length = Number();
        if (length > _rest.Length)
        {
            throw Truncated();
        }

        ReadOnlySpan<byte> value = _rest[..(int)length];
        _rest = _rest[(int)length..];
        return value;
    }

    public string String() => Encoding.UTF8.GetString(Bytes());

    public string? OptionalString() => Byte() == 0 ? null : String();

    private static InvalidDataException Truncated() => new("A message on the wire ends before its content.");
}
