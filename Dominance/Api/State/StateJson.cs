using System.Buffers;
using System.Globalization;
using System.Text.Json;
using MessagePack;

namespace Dominance.Api.State;

/// <summary>
/// Binary state as JSON, for people (<c>dominance dump</c>), without the game's code: a positional object becomes a
/// JSON object again with its member names from the save's header, a map becomes an object (its keys as text), and
/// everything else its plain JSON value.
/// </summary>
internal static class StateJson
{
    /// <summary>The JSON text of <paramref name="state"/> (after the magic bytes); <paramref name="withHeader"/>: it starts with schemas (version 2).</summary>
    public static string Convert(ReadOnlyMemory<byte> state, bool withHeader)
    {
        var reader = new MessagePackReader(state);
        StateSchema[] schemas = withHeader ? StateResolver.ReadHeader(ref reader) : [];
        var output = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(output))
        {
            WriteValue(ref reader, json, schemas);
        }

        return System.Text.Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static void WriteValue(ref MessagePackReader reader, Utf8JsonWriter json, StateSchema[] schemas)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    json.WriteNumberValue(reader.ReadUInt64());
                }
                else
                {
                    json.WriteNumberValue(reader.ReadInt64());
                }

                break;
            case MessagePackType.Float:
                double number = reader.ReadDouble();
                if (double.IsFinite(number))
                {
                    json.WriteNumberValue(number);
                }
                else
                {
                    json.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                }

                break;
            case MessagePackType.String:
                json.WriteStringValue(reader.ReadString());
                break;
            case MessagePackType.Binary:
                json.WriteBase64StringValue(reader.ReadBytes()!.Value.ToArray());
                break;
            case MessagePackType.Extension when reader.CreatePeekReader().ReadExtensionFormatHeader().TypeCode == ReservedMessagePackExtensionTypeCode.DateTime:
                json.WriteStringValue(reader.ReadDateTime());
                break;
            case MessagePackType.Extension:
                ExtensionResult extension = reader.ReadExtensionFormat();
                json.WriteBase64StringValue(extension.Data.ToArray());
                break;
            case MessagePackType.Map:
                int entries = reader.ReadMapHeader();
                json.WriteStartObject();
                for (int i = 0; i < entries; i++)
                {
                    json.WritePropertyName(KeyText(ref reader));
                    WriteValue(ref reader, json, schemas);
                }

                json.WriteEndObject();
                break;
            case MessagePackType.Array:
                int count = reader.ReadArrayHeader();
                if (count > 0 && SchemaReference.IsNext(ref reader))
                {
                    WriteObject(ref reader, json, schemas, count - 1);
                    break;
                }

                json.WriteStartArray();
                for (int i = 0; i < count; i++)
                {
                    WriteValue(ref reader, json, schemas);
                }

                json.WriteEndArray();
                break;
            default:
                throw new MessagePackSerializationException($"Unexpected MessagePack code {reader.NextCode}.");
        }
    }

    private static void WriteObject(ref MessagePackReader reader, Utf8JsonWriter json, StateSchema[] schemas, int values)
    {
        int index = SchemaReference.Read(ref reader);
        if ((uint)index >= (uint)schemas.Length)
        {
            throw new MessagePackSerializationException($"An object refers to schema {index}; the state has {schemas.Length}.");
        }

        string[] names = schemas[index].Names;
        json.WriteStartObject();
        for (int i = 0; i < values; i++)
        {
            json.WritePropertyName(i < names.Length ? names[i] : "#" + i.ToString(CultureInfo.InvariantCulture));
            WriteValue(ref reader, json, schemas);
        }

        json.WriteEndObject();
    }

    /// <summary>A map key as the text of a JSON property name.</summary>
    private static string KeyText(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.String:
                return reader.ReadString() ?? "";
            case MessagePackType.Integer:
                return reader.NextCode == MessagePackCode.UInt64
                    ? reader.ReadUInt64().ToString(CultureInfo.InvariantCulture)
                    : reader.ReadInt64().ToString(CultureInfo.InvariantCulture);
            case MessagePackType.Boolean:
                return reader.ReadBoolean() ? "true" : "false";
            case MessagePackType.Float:
                return reader.ReadDouble().ToString(CultureInfo.InvariantCulture);
            default:
                var output = new ArrayBufferWriter<byte>();
                using (var json = new Utf8JsonWriter(output))
                {
                    WriteValue(ref reader, json, []);
                }

                return System.Text.Encoding.UTF8.GetString(output.WrittenSpan);
        }
    }
}
