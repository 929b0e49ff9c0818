using System.Buffers;
using MessagePack;

namespace Dominance.Api.State;

/// <summary>
/// How an object written positionally names its schema: its array's first element is a MessagePack extension value of
/// type <see cref="ExtensionType"/> holding the schema's index in the save's header. No other state value is an
/// extension of this type, so a person's dump (or a reader) can tell an object from an array of values.
/// </summary>
internal static class SchemaReference
{
    /// <summary>The extension type code ('D'); MessagePack reserves only the negative codes.</summary>
    public const sbyte ExtensionType = 68;

    /// <summary>The bytes that start an object of <paramref name="members"/> values laid out by schema <paramref name="schema"/>.</summary>
    public static byte[] ObjectPrefix(int schema, int members)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(members + 1);
        byte[] index = schema <= byte.MaxValue ? [(byte)schema] : new byte[4];
        if (index.Length == 4)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(index, schema);
        }

        writer.WriteExtensionFormatHeader(new ExtensionHeader(ExtensionType, index.Length));
        writer.WriteRaw(index);

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Whether the next value (the first element of an array) is a schema reference.</summary>
    public static bool IsNext(ref MessagePackReader reader)
    {
        if (reader.NextMessagePackType != MessagePackType.Extension)
        {
            return false;
        }

        MessagePackReader peek = reader.CreatePeekReader();
        return peek.ReadExtensionFormatHeader().TypeCode == ExtensionType;
    }

    /// <summary>Reads a schema reference (after <see cref="IsNext"/>).</summary>
    public static int Read(ref MessagePackReader reader)
    {
        ExtensionHeader header = reader.ReadExtensionFormatHeader();
        if (header.Length is not (1 or 4))
        {
            throw new MessagePackSerializationException($"A schema reference of {header.Length} bytes; expected 1 or 4.");
        }

        ReadOnlySequence<byte> data = reader.ReadRaw(header.Length);
        if (header.Length == 1)
        {
            return data.FirstSpan[0];
        }

        Span<byte> bytes = stackalloc byte[4];
        data.CopyTo(bytes);
        return System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes);
    }
}
