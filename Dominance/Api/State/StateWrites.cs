using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using MessagePack;

namespace Dominance.Api.State;

/// <summary>
/// The writes that the generated code (<see cref="StateCode"/>) makes for the most common values, inlined into it:
/// the same bytes as <c>MessagePackWriter</c>'s methods of the same name, without a call that the runtime
/// compiles unoptimized first (MessagePack's out-of-line writes of larger numbers start unoptimized, and are only
/// promoted after a save or two has run them: these run optimized from the first save on). Each write has a form that
/// writes into a span the code took from the writer for several values at once (one <c>GetSpan</c> and one
/// <c>Advance</c> for a run of them, not one per value), sized by the most bytes each value takes.
/// </summary>
internal static class StateWrites
{
    /// <summary>As <c>MessagePackWriter.Write(int)</c>: the shortest form, unsigned for values ≥ 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Int32(ref MessagePackWriter writer, int value) => writer.Advance(Int32(writer.GetSpan(MaxInt32), 0, value));

    /// <summary>As <c>MessagePackWriter.Write(long)</c>: the shortest form, unsigned for values ≥ 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Int64(ref MessagePackWriter writer, long value) => writer.Advance(Int64(writer.GetSpan(MaxInt64), 0, value));

    /// <summary>The most bytes <see cref="Int32(Span{byte}, int, int)"/> writes.</summary>
    public const int MaxInt32 = 5;

    /// <summary>The most bytes <see cref="Int64(Span{byte}, int, long)"/> writes.</summary>
    public const int MaxInt64 = 9;

    /// <summary>As <c>MessagePackWriter.Write(int)</c>, into <paramref name="span"/> at <paramref name="at"/>; returns where it ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Int32(Span<byte> span, int at, int value)
    {
        // One bounds check: the writes below are at constant places of a span of known length.
        span = span.Slice(at, MaxInt32);
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
            else
            {
                span[0] = MessagePackCode.UInt32;
                BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
                written = 5;
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
        else
        {
            span[0] = MessagePackCode.Int32;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], value);
            written = 5;
        }

        return at + written;
    }

    /// <summary>As <c>MessagePackWriter.Write(long)</c>, into <paramref name="span"/> at <paramref name="at"/>; returns where it ends.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Int64(Span<byte> span, int at, long value)
    {
        // One bounds check: the writes below are at constant places of a span of known length.
        span = span.Slice(at, MaxInt64);
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
    /// The most bytes <see cref="String(Span{byte}, int, string?)"/> writes: nil, or a string's header and the most
    /// bytes its UTF-8 takes (the room <c>MessagePackWriter.Write(string)</c> takes too).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int StringSize(string? value) => value is null ? 1 : ((value.Length + 1) * 3) + 5;

    /// <summary>
    /// As <c>MessagePackWriter.Write(string)</c>, into <paramref name="span"/> at <paramref name="at"/>, which has
    /// <see cref="StringSize"/> bytes of room; returns where it ends. An ASCII string of up to 255 characters (names,
    /// keys: most strings of game state) is copied straight after its header (<see cref="TryAscii"/>); any other is encoded by <see cref="Utf8"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int String(Span<byte> span, int at, string? value)
    {
        if (value is null)
        {
            span[at] = MessagePackCode.Nil;
            return at + 1;
        }

        if (value.Length <= byte.MaxValue)
        {
            int header = value.Length <= 31 ? 1 : 2;
            if (TryAscii(value, span.Slice(at + header, value.Length)))
            {
                if (header == 1)
                {
                    span[at] = (byte)(MessagePackCode.MinFixStr | value.Length);
                }
                else
                {
                    span[at] = MessagePackCode.Str8;
                    span[at + 1] = (byte)value.Length;
                }

                return at + header + value.Length;
            }
        }

        return Utf8(span, at, value);
    }

    /// <summary>
    /// Copies <paramref name="value"/> into <paramref name="destination"/> (of its length), one byte a character,
    /// if it is ASCII (else <see langword="false"/>, with part of it copied): 8 characters at a time, the last 8
    /// overlapping the ones before; inlined, where <c>Ascii.FromUtf16</c> is a call (for short strings, mostly
    /// its own set-up).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryAscii(string value, Span<byte> destination)
    {
        int length = value.Length;
        if (destination.Length != length)
        {
            throw new ArgumentException("The destination must have the string's length.", nameof(destination));
        }

        ref ushort source = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(value.AsSpan()));
        ref byte target = ref MemoryMarshal.GetReference(destination);
        if (length >= 8 && Vector128.IsHardwareAccelerated)
        {
            Vector128<ushort> nonAscii = Vector128.Create((ushort)0xFF80);
            for (int i = 0; ; i += 8)
            {
                // The last 8 overlap the ones before; all loads and stores are within the string and the destination.
                int from = Math.Min(i, length - 8);
                Vector128<ushort> chars = Vector128.LoadUnsafe(ref source, (nuint)from);
                if ((chars & nonAscii) != Vector128<ushort>.Zero)
                {
                    return false;
                }

                Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, from), Vector128.Narrow(chars, chars).AsUInt64().ToScalar());
                if (from == length - 8)
                {
                    return true;
                }
            }
        }

        for (int i = 0; i < length; i++)
        {
            char c = value[i];
            if (c > 0x7F)
            {
                return false;
            }

            destination[i] = (byte)c;
        }

        return true;
    }

    /// <summary>
    /// As <c>MessagePackWriter.Write(string)</c> for any string: its UTF-8 after the shortest header for their count
    /// (fixstr, str8, str16 or str32), into <paramref name="span"/> at <paramref name="at"/>; returns where it ends.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Utf8(Span<byte> span, int at, string value)
    {
        int count = Encoding.UTF8.GetBytes(value, span[(at + 5)..]);
        int header;
        if (count <= 31)
        {
            span[at] = (byte)(MessagePackCode.MinFixStr | count);
            header = 1;
        }
        else if (count <= byte.MaxValue)
        {
            span[at] = MessagePackCode.Str8;
            span[at + 1] = (byte)count;
            header = 2;
        }
        else if (count <= ushort.MaxValue)
        {
            span[at] = MessagePackCode.Str16;
            BinaryPrimitives.WriteUInt16BigEndian(span[(at + 1)..], (ushort)count);
            header = 3;
        }
        else
        {
            span[at] = MessagePackCode.Str32;
            BinaryPrimitives.WriteUInt32BigEndian(span[(at + 1)..], (uint)count);
            header = 5;
        }

        span.Slice(at + 5, count).CopyTo(span[(at + header)..]);
        return at + header + count;
    }

    /// <summary>The most bytes <see cref="Int32Array(Span{byte}, int, int[])"/> writes: nil, or the array's header and its values at their longest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Int32ArraySize(int[]? values) => values is null ? 1 : 5 + (values.Length * MaxInt32);

    /// <summary>
    /// As MessagePack's formatter of <c>int[]</c> (nil, or the array header and each value), into
    /// <paramref name="span"/> at <paramref name="at"/>, which has <see cref="Int32ArraySize"/> bytes of room; returns
    /// where it ends.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Int32Array(Span<byte> span, int at, int[]? values)
    {
        if (values is null)
        {
            span[at] = MessagePackCode.Nil;
            return at + 1;
        }

        if (values.Length <= 15)
        {
            span[at++] = (byte)(MessagePackCode.MinFixArray | values.Length);
        }
        else if (values.Length <= ushort.MaxValue)
        {
            span[at] = MessagePackCode.Array16;
            BinaryPrimitives.WriteUInt16BigEndian(span[(at + 1)..], (ushort)values.Length);
            at += 3;
        }
        else
        {
            span[at] = MessagePackCode.Array32;
            BinaryPrimitives.WriteUInt32BigEndian(span[(at + 1)..], (uint)values.Length);
            at += 5;
        }

        foreach (int value in values)
        {
            at = Int32(span, at, value);
        }

        return at;
    }

    /// <summary>As MessagePack's formatter of <c>int[]</c>: nil, or the array header and each value, in one span of the writer.</summary>
    public static void Int32Array(ref MessagePackWriter writer, int[]? values) =>
        writer.Advance(Int32Array(writer.GetSpan(Int32ArraySize(values)), 0, values));

    /// <summary>As <c>MessagePackWriter.Write(string)</c>, in one span of the writer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void String(ref MessagePackWriter writer, string? value) =>
        writer.Advance(String(writer.GetSpan(StringSize(value)), 0, value));
}
