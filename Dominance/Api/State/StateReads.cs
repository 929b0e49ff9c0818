using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using MessagePack;

namespace Dominance.Api.State;

/// <summary>
/// The reads that the generated code (<see cref="StateCode"/>) makes for the most common values, inlined into it,
/// straight from the bytes: the same values as <c>MessagePackReader</c>'s methods of the same name, without a call
/// per value. The code reads through a cursor of two parts: <c>rest</c>, the bytes the reader had not consumed when
/// the cursor was last in step with it, and <c>at</c>, how many of them have been read since. Before anything else
/// reads through the <c>MessagePackReader</c> (a formatter), <see cref="Sync"/> advances the reader to the cursor;
/// after it, <see cref="Unread"/> takes the cursor up again. A value these reads do not expect (another encoding, a
/// value out of range, the end of the data) is read by the reader's own method, which reads it or throws as it always has.
/// </summary>
internal static class StateReads
{
    /// <summary>The bytes <paramref name="reader"/> has not consumed yet. State is read from one block of memory.</summary>
    public static ReadOnlySpan<byte> Unread(scoped ref MessagePackReader reader)
    {
        ReadOnlySequence<byte> sequence = reader.Sequence;
        return sequence.IsSingleSegment
            ? sequence.FirstSpan[(int)reader.Consumed..]
            : throw new NotSupportedException("State is read from one contiguous block of memory.");
    }

    /// <summary>Advances <paramref name="reader"/> over what the cursor has read, and starts the cursor again from there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sync(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at)
    {
        if (at > 0)
        {
            reader.ReadRaw(at);
            rest = rest[at..];
            at = 0;
        }
    }

    /// <summary>Takes the cursor up where <paramref name="reader"/> is (after <see cref="Sync"/> and a read through it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Resume(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest) => rest = Unread(ref reader);

    /// <summary>As <c>MessagePackReader.ReadInt32</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Int32(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at)
    {
        int start = at;
        if (TryInteger(rest, ref at, out long value))
        {
            if (value == (int)value)
            {
                return (int)value;
            }

            at = start; // out of range: the reader's own read says so
        }

        return Slow(ref reader, ref rest, ref at, static (ref MessagePackReader r) => r.ReadInt32());
    }

    /// <summary>As <c>MessagePackReader.ReadInt64</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Int64(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at) =>
        TryInteger(rest, ref at, out long value) ? value : Slow(ref reader, ref rest, ref at, static (ref MessagePackReader r) => r.ReadInt64());

    /// <summary>As <c>MessagePackReader.ReadBoolean</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Boolean(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at)
    {
        if ((uint)at < (uint)rest.Length && rest[at] is MessagePackCode.True or MessagePackCode.False)
        {
            return rest[at++] == MessagePackCode.True;
        }

        return Slow(ref reader, ref rest, ref at, static (ref MessagePackReader r) => r.ReadBoolean());
    }

    /// <summary>As <c>MessagePackReader.ReadString</c>: a string of up to 255 bytes (or nil) from the bytes, any other through the reader.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static string? String(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at)
    {
        int i = at;
        if ((uint)i < (uint)rest.Length)
        {
            byte code = rest[i];
            int start = -1;
            int length = 0;
            if ((code & 0xE0) == MessagePackCode.MinFixStr)
            {
                start = i + 1;
                length = code & 0x1F;
            }
            else if (code == MessagePackCode.Str8 && (uint)(i + 1) < (uint)rest.Length)
            {
                start = i + 2;
                length = rest[i + 1];
            }
            else if (code == MessagePackCode.Nil)
            {
                at = i + 1;
                return null;
            }

            if (start >= 0 && start + length <= rest.Length)
            {
                at = start + length;
                return Encoding.UTF8.GetString(rest.Slice(start, length));
            }
        }

        return Slow(ref reader, ref rest, ref at, static (ref MessagePackReader r) => r.ReadString());
    }

    /// <summary>
    /// As <c>MessagePackReader.TryReadNil</c> then <c>ReadArrayHeader</c>: -1 for nil, else the count (never more
    /// than the bytes left, as the reader checks too).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ArrayHeader(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at)
    {
        int i = at;
        if ((uint)i < (uint)rest.Length)
        {
            byte code = rest[i];
            if ((code & 0xF0) == MessagePackCode.MinFixArray && (code & 0x0F) <= rest.Length - i - 1)
            {
                at = i + 1;
                return code & 0x0F;
            }

            if (code == MessagePackCode.Nil)
            {
                at = i + 1;
                return -1;
            }

            if (code == MessagePackCode.Array16 && rest.Length - i >= 3)
            {
                int count = BinaryPrimitives.ReadUInt16BigEndian(rest[(i + 1)..]);
                if (count <= rest.Length - i - 3)
                {
                    at = i + 3;
                    return count;
                }
            }
        }

        return Slow(ref reader, ref rest, ref at, static (ref MessagePackReader r) => r.TryReadNil() ? -1 : r.ReadArrayHeader());
    }

    /// <summary>As MessagePack's formatter of <c>int[]</c>: nil, or the count and the values (an empty array for none).</summary>
    public static int[]? Int32Array(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at)
    {
        int count = ArrayHeader(ref reader, ref rest, ref at);
        if (count <= 0)
        {
            return count < 0 ? null : [];
        }

        int[] values = new int[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Int32(ref reader, ref rest, ref at);
        }

        return values;
    }

    /// <summary>Reads an integer of any MessagePack encoding that fits a <see langword="long"/>; advances only when it does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryInteger(ReadOnlySpan<byte> rest, ref int at, out long value)
    {
        int i = at;
        if ((uint)i < (uint)rest.Length)
        {
            byte code = rest[i];
            if (code <= MessagePackCode.MaxFixInt)
            {
                value = code;
                at = i + 1;
                return true;
            }

            if (code >= MessagePackCode.MinNegativeFixInt)
            {
                value = (sbyte)code;
                at = i + 1;
                return true;
            }

            ReadOnlySpan<byte> data = rest[(i + 1)..];
            switch (code)
            {
                case MessagePackCode.UInt8 when data.Length >= 1:
                    value = data[0];
                    at = i + 2;
                    return true;
                case MessagePackCode.UInt16 when data.Length >= 2:
                    value = BinaryPrimitives.ReadUInt16BigEndian(data);
                    at = i + 3;
                    return true;
                case MessagePackCode.UInt32 when data.Length >= 4:
                    value = BinaryPrimitives.ReadUInt32BigEndian(data);
                    at = i + 5;
                    return true;
                case MessagePackCode.UInt64 when data.Length >= 8 && BinaryPrimitives.ReadUInt64BigEndian(data) <= long.MaxValue:
                    value = (long)BinaryPrimitives.ReadUInt64BigEndian(data);
                    at = i + 9;
                    return true;
                case MessagePackCode.Int8 when data.Length >= 1:
                    value = (sbyte)data[0];
                    at = i + 2;
                    return true;
                case MessagePackCode.Int16 when data.Length >= 2:
                    value = BinaryPrimitives.ReadInt16BigEndian(data);
                    at = i + 3;
                    return true;
                case MessagePackCode.Int32 when data.Length >= 4:
                    value = BinaryPrimitives.ReadInt32BigEndian(data);
                    at = i + 5;
                    return true;
                case MessagePackCode.Int64 when data.Length >= 8:
                    value = BinaryPrimitives.ReadInt64BigEndian(data);
                    at = i + 9;
                    return true;
            }
        }

        value = 0;
        return false;
    }

    /// <summary>One read by MessagePack's own reader (<see cref="Slow"/>).</summary>
    private delegate T ReaderRead<T>(ref MessagePackReader reader);

    /// <summary>
    /// What the direct reads do not decode (an encoding they do not expect, or bytes cut short): MessagePack's reader
    /// reads it, at the cursor's place, and the cursor goes on after it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static T Slow<T>(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at, ReaderRead<T> read)
    {
        Sync(ref reader, ref rest, ref at);
        T value = read(ref reader);
        Resume(ref reader, ref rest);
        return value;
    }
}
