using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Dominance.Api.State;
using MessagePack;

namespace Dominance.Api;

/// <summary>
/// Writes and reads game state in a compact binary format. The same format carries state from one generation of the
/// game code to the next on a reload, and into world saves. It is MessagePack: a header with the schema of each state
/// type (its members' names and types: public read-write properties and public fields), then each object as an array
/// of its values in schema order, written and read by code generated per type; readers map the stored schema onto
/// their own types by name, so the format tolerates code changes. A member the new code adds
/// keeps its default; one it renamed is found under its old name through <see cref="StateAliasAttribute"/>; and data
/// the new code would drop (a member it no longer has, holding values other than the default, or values it cannot
/// read as the member's new type) is refused on a reload: <see cref="Read{T}"/> throws <see cref="StateLossException"/>,
/// and the old code keeps running. State written as JSON by earlier versions of the server is still read.
/// </summary>
/// <remarks>
/// <para>Each module generation gets its own instance, prepared off the game thread before the swap (its formatters
/// made, their member accessors compiled), and nothing of it is cached process-wide, so that the generation's code
/// unloads with it. Use <see cref="Options"/> rather than <see cref="JsonSerializerOptions.Default"/> for any other
/// JSON in game code, for the same reason (System.Text.Json's caches, dotnet/runtime#65323).</para>
/// <para>Why this format: MessagePack-CSharp's reader, writer and framework formatters are fast and well kept, and the
/// schemas in the header name each member once per save, so that a reload can tell which data it would lose and a save
/// can be read without the game's code (<c>dominance dump</c>), while each object costs only its values. MemoryPack
/// and protobuf-net identify members by position or number alone, so a removed or reordered member is silently read
/// as another one; and MemoryPack's static formatter cache keeps collectible types loaded (Cysharp/MemoryPack#453).</para>
/// </remarks>
public sealed class StateSerializer
{
    /// <summary>
    /// The first bytes of binary state: 0xC1 is never used by MessagePack and never starts JSON; then the version. Version
    /// 1 wrote every object as a map from member name to value; version 2 starts with a header of schemas (see
    /// <see cref="StateSchema"/>) and writes each object as an array of values in its schema's order.
    /// </summary>
    private static ReadOnlySpan<byte> Magic => [0xC1, (byte)'D', (byte)'S', Version];

    private const byte Version = 2;

    private readonly StateResolver _resolver = new();
    private readonly MessagePackSerializerOptions _binary;

    internal StateSerializer(bool allowLoss = false)
    {
        AllowLoss = allowLoss;
        _binary = MessagePackSerializerOptions.Standard.WithResolver(_resolver);
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

    /// <summary>JSON options for game code's own JSON, and for reading state saved as JSON by earlier versions.</summary>
    public JsonSerializerOptions Options { get; }

    /// <summary>Whether <see cref="Read{T}"/> may drop data the reading code does not keep (<c>reload force</c>, a start from a save).</summary>
    internal bool AllowLoss { get; }

    /// <summary>What the last <see cref="Read{T}"/> dropped (empty if nothing).</summary>
    internal IReadOnlyList<StateLoss> LastLosses { get; private set; } = [];

    /// <summary>Writes <paramref name="state"/> to <paramref name="output"/>.</summary>
    public void Write<T>(IBufferWriter<byte> output, T state)
    {
        Magic.CopyTo(output.GetSpan(Magic.Length));
        output.Advance(Magic.Length);
        var writer = new MessagePackWriter(output);
        _resolver.PrepareReachable(typeof(T));
        _resolver.WriteHeader(ref writer);
        _resolver.GetFormatterWithVerify<T>().Serialize(ref writer, state, _binary);
        writer.Flush();
    }

    /// <summary>
    /// Reads state written by <see cref="Write{T}"/> (or as JSON by an earlier version of the server); returns
    /// <see langword="default"/> for empty state (a fresh start).
    /// </summary>
    /// <exception cref="StateLossException">The state holds data that <typeparamref name="T"/> would drop, and this reload may not drop it.</exception>
    public T? Read<T>(ReadOnlyMemory<byte> state)
    {
        LastLosses = [];
        if (state.IsEmpty)
        {
            return default;
        }

        if (!IsBinary(state.Span))
        {
            return JsonSerializer.Deserialize<T>(state.Span, Options);
        }

        var losses = new LossCounter();
        T value = ReadBinary<T>(state, losses);

        if (losses.Any)
        {
            LastLosses = losses.ToList();
            if (!AllowLoss)
            {
                throw new StateLossException(LastLosses);
            }
        }

        return value;
    }

    /// <summary>Reads binary state of either version, counting what it cannot keep in <paramref name="losses"/>.</summary>
    private T ReadBinary<T>(ReadOnlyMemory<byte> state, LossCounter? losses)
    {
        _resolver.Losses = losses;
        try
        {
            var reader = new MessagePackReader(state[Magic.Length..]);
            _resolver.StoredSchemas = state.Span[Magic.Length - 1] >= 2 ? StateResolver.ReadHeader(ref reader) : null;
            return _resolver.GetFormatterWithVerify<T>().Deserialize(ref reader, _binary);
        }
        finally
        {
            _resolver.Losses = null;
            _resolver.StoredSchemas = null;
        }
    }

    /// <summary>
    /// Makes this generation's formatter for <paramref name="type"/> and runs it once on a default instance, so that
    /// its accessors are compiled before the swap. Returns <see langword="false"/> for a type that is not state.
    /// </summary>
    internal bool Prepare(Type type)
    {
        try
        {
            // Through a generic type made for it, not a generic method of this type: reflection caches an instantiated
            // method on its declaring type, which would keep the game's type loaded.
            object? instance = Activator.CreateInstance(type);
            ((IRoundTrip)Activator.CreateInstance(typeof(RoundTrip<>).MakeGenericType(type))!).Run(this, instance);
            return true;
        }
        catch (Exception e) when (e is MessagePackSerializationException or System.Reflection.TargetInvocationException or MissingMethodException or ArgumentException or NotSupportedException or MemberAccessException or InvalidOperationException or InvalidCastException or TypeLoadException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="state"/> is in the binary format (otherwise it is JSON from an earlier version).</summary>
    internal static bool IsBinary(ReadOnlySpan<byte> state) => state.Length >= Magic.Length && state.StartsWith(Magic[..^1]) && state[Magic.Length - 1] is >= 1 and <= Version;

    /// <summary>State as indented JSON, for people (<c>dominance dump</c>); JSON state is indented as it is.</summary>
    internal static string ToJson(ReadOnlyMemory<byte> state)
    {
        string json = state.IsEmpty ? "null"
            : IsBinary(state.Span) ? StateJson.Convert(state[Magic.Length..], withHeader: state.Span[Magic.Length - 1] >= 2)
            : System.Text.Encoding.UTF8.GetString(state.Span);
        using JsonDocument document = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(document.RootElement, s_indented);
    }

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    private interface IRoundTrip
    {
        void Run(StateSerializer serializer, object? value);
    }

    /// <summary>Writes and reads a value of <typeparamref name="T"/> once.</summary>
    private sealed class RoundTrip<T> : IRoundTrip
    {
        public void Run(StateSerializer serializer, object? value)
        {
            var buffer = new ArrayBufferWriter<byte>();
            serializer.Write(buffer, (T)value!);
            serializer.ReadBinary<T>(buffer.WrittenMemory, losses: null);
        }
    }

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
