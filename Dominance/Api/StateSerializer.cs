using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Dominance.Api;

/// <summary>
/// Writes and reads game state as UTF-8 JSON. The same format carries state from one generation of the game code to
/// the next on a reload, and into save files. It tolerates code changes: a property or field that the new code adds
/// keeps its default, and one it removed is ignored.
/// </summary>
/// <remarks>
/// Each module generation gets its own instance, with its own <see cref="JsonSerializerOptions"/>, so that the
/// serializer's metadata caches die with the generation's code instead of keeping it loaded
/// (dotnet/runtime#65323). Use <see cref="Options"/> rather than <see cref="JsonSerializerOptions.Default"/> for any
/// other JSON in game code, for the same reason.
/// </remarks>
public sealed class StateSerializer
{
    internal StateSerializer()
    {
        var options = new JsonSerializerOptions
        {
            // A resolver instance of its own: no two generations' options are "equal", so they never share a cache.
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
            IncludeFields = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Converters = { new SessionIdConverter() },
        };
        options.MakeReadOnly();
        Options = options;
    }

    /// <summary>The options this generation serializes with.</summary>
    public JsonSerializerOptions Options { get; }

    /// <summary>Writes <paramref name="state"/> to <paramref name="output"/> as UTF-8 JSON.</summary>
    public void Write<T>(IBufferWriter<byte> output, T state)
    {
        using var writer = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(writer, state, Options);
    }

    /// <summary>Reads state written by <see cref="Write{T}"/>; returns <see langword="default"/> for empty state (a fresh start).</summary>
    public T? Read<T>(ReadOnlyMemory<byte> state) => state.IsEmpty ? default : JsonSerializer.Deserialize<T>(state.Span, Options);

    /// <summary>Session ids as JSON numbers, including as dictionary keys.</summary>
    private sealed class SessionIdConverter : JsonConverter<SessionId>
    {
        public override SessionId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetInt64());

        public override void Write(Utf8JsonWriter writer, SessionId value, JsonSerializerOptions options) => writer.WriteNumberValue(value.Value);

        public override SessionId ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(long.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture));

        public override void WriteAsPropertyName(Utf8JsonWriter writer, SessionId value, JsonSerializerOptions options) =>
            writer.WritePropertyName(value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
