using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using MessagePack;

namespace Dominance.Api.State;

/// <summary>
/// The writes that the generated code (<see cref="StateCode"/>) makes for the most common values, inlined into it:
/// the same bytes as <c>MessagePackWriter</c>'s methods of the same name, without a call that the runtime
/// compiles unoptimized first (MessagePack's out-of-line writes of larger numbers start unoptimized, and are only
/// promoted after a save or two has run them: these run optimized from the first save on). The writes of numbers,
/// booleans and prefixes also come in a form that writes into a span the code took from the writer for several
/// values at once (one <c>GetSpan</c> and one <c>Advance</c> for a run of them, not one per value).
/// </summary>
internal static class StateWrites
{
    /// <summary>As <c>MessagePackWriter.Write(int)</c>: the shortest form, unsigned for values ≥ 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Int32(ref MessagePackWriter writer, int value) => Int64(ref writer, value);

    /// <summary>As <c>MessagePackWriter.Write(long)</c>: the shortest form, unsigned for values ≥ 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Int64(ref MessagePackWriter writer, long value) => writer.Advance(Int64(writer.GetSpan(MaxInt64), 0, value));

    /// <summary>The most bytes <see cref="Int32(Span{byte}, int, int)"/> writes.</summary>
    public const int MaxInt32 = 5;

    /// <summary>The most bytes <see cref="Int64(Span{byte}, int, long)"/> writes.</summary>
    public const int MaxInt64 = 9;

    /// <summary>As <c>MessagePackWriter.Write(int)</c>, into <paramref name="span"/> at <paramref name="at"/>; returns where it ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Int32(Span<byte> span, int at, int value) => Int64(span, at, value);

    /// <summary>As <c>MessagePackWriter.Write(long)</c>, into <paramref name="span"/> at <paramref name="at"/>; returns where it ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Int64(Span<byte> span, int at, long value)
    {
        span = span[at..];
        int written;
        if (value >= 0)
        {
            if (value <= 0x7f)
            {
                span[0] = (byte)value;
                written = 1;
            }
            else if (value <= byte.MaxValue)
            {
                span[0] = MessagePackCode.UInt8;
                span[1] = (byte)value;
                written = 2;
            }
            else if (value <= ushort.MaxValue)
            {
                span[0] = MessagePackCode.UInt16;
                BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
                written = 3;
            }
            else if (value <= uint.MaxValue)
            {
                span[0] = MessagePackCode.UInt32;
                BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
                written = 5;
            }
            else
            {
                span[0] = MessagePackCode.UInt64;
                BinaryPrimitives.WriteUInt64BigEndian(span[1..], (ulong)value);
                written = 9;
            }
        }
        else if (value >= -32)
        {
            span[0] = (byte)(sbyte)value;
            written = 1;
        }
        else if (value >= sbyte.MinValue)
        {
            span[0] = MessagePackCode.Int8;
            span[1] = (byte)(sbyte)value;
            written = 2;
        }
        else if (value >= short.MinValue)
        {
            span[0] = MessagePackCode.Int16;
            BinaryPrimitives.WriteInt16BigEndian(span[1..], (short)value);
            written = 3;
        }
        else if (value >= int.MinValue)
        {
            span[0] = MessagePackCode.Int32;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], (int)value);
            written = 5;
        }
        else
        {
            span[0] = MessagePackCode.Int64;
            BinaryPrimitives.WriteInt64BigEndian(span[1..], value);
            written = 9;
        }

        return at + written;
    }

    /// <summary>As <c>MessagePackWriter.Write(bool)</c>, into <paramref name="span"/> at <paramref name="at"/>; returns where it ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Boolean(Span<byte> span, int at, bool value)
    {
        span[at] = value ? MessagePackCode.True : MessagePackCode.False;
        return at + 1;
    }

    /// <summary>Writes the 4 bytes of <paramref name="bigEndian"/>, most significant first (an object's prefix), into <paramref name="span"/> at <paramref name="at"/>; returns where it ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Raw4(Span<byte> span, int at, uint bigEndian)
    {
        BinaryPrimitives.WriteUInt32BigEndian(span[at..], bigEndian);
        return at + 4;
    }

    /// <summary>
    /// As MessagePack's formatter of <c>int[]</c>: nil, or the array header and each value, with one span of the
    /// writer per 1024 values rather than one per value.
    /// </summary>
    public static void Int32Array(ref MessagePackWriter writer, int[]? values)
    {
        if (values is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(values.Length);
        for (int start = 0; start < values.Length; start += 1024)
        {
            int end = Math.Min(values.Length, start + 1024);
            Span<byte> span = writer.GetSpan((end - start) * MaxInt32);
            int at = 0;
            for (int i = start; i < end; i++)
            {
                at = Int32(span, at, values[i]);
            }

            writer.Advance(at);
        }
    }

    /// <summary>
    /// As <c>MessagePackWriter.Write(string)</c>. An ASCII string of up to 255 characters (names, keys: most
    /// strings of game state) is encoded straight into the buffer after its header; any other through MessagePack.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void String(ref MessagePackWriter writer, string? value)
    {
        if (value is not null && value.Length <= byte.MaxValue)
        {
            int header = value.Length <= 31 ? 1 : 2;
            Span<byte> span = writer.GetSpan(value.Length + header);
            if (Ascii.FromUtf16(value, span[header..], out _) == OperationStatus.Done)
            {
                if (header == 1)
                {
                    span[0] = (byte)(MessagePackCode.MinFixStr | value.Length);
                }
                else
                {
                    span[0] = MessagePackCode.Str8;
                    span[1] = (byte)value.Length;
                }

                writer.Advance(value.Length + header);
                return;
            }
        }

        writer.Write(value);
    }
}
