using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Dominance.Api;

namespace Dominance.Bench;

/// <summary>
/// What writing the save benchmark's state costs on this machine: the game's own serializer
/// (<see cref="StateSerializer"/>, binary, as every save and reload does since issue 14), and as JSON: by reflection
/// with the serializer's JSON options (as every save and reload did before), System.Text.Json's source generator on its
/// fast path, and <see cref="Utf8JsonWriter"/> driven by hand with pre-encoded property names, the least any JSON
/// serializer in .NET can do. The same territories as <see cref="BenchGames.World"/>, here as host types. The setup
/// prints the size of the state in both formats.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 100, iterationCount: 30)]
public class SaveFormatBenchmarks
{
    private static readonly JsonEncodedText s_tick = JsonEncodedText.Encode("Tick");
    private static readonly JsonEncodedText s_territories = JsonEncodedText.Encode("Territories");
    private static readonly JsonEncodedText s_id = JsonEncodedText.Encode("Id");
    private static readonly JsonEncodedText s_name = JsonEncodedText.Encode("Name");
    private static readonly JsonEncodedText s_owner = JsonEncodedText.Encode("Owner");
    private static readonly JsonEncodedText s_soldiers = JsonEncodedText.Encode("Soldiers");
    private static readonly JsonEncodedText s_resources = JsonEncodedText.Encode("Resources");
    private static readonly JsonEncodedText s_exits = JsonEncodedText.Encode("Exits");

    private readonly ArrayBufferWriter<byte> _buffer = new();
    private readonly StateSerializer _serializer = new();
    private WorldState _state = null!;

    [Params(10_000, 100_000)]
    public int Entities { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _state = new WorldState
        {
            Territories = [.. Enumerable.Range(0, Entities).Select(i => new Territory
            {
                Id = i, Name = "Territory " + i, Owner = i % 100, Soldiers = i % 50, Resources = i % 1000, Exits = [i + 1, i + 2],
            })],
        };
        Console.WriteLine($"// State of {Entities:N0} territories: binary {StateSerializerBinary():N0} bytes, JSON {StateSerializerJson():N0} bytes");
    }

    /// <summary>The game's serializer, as a save runs it: MessagePack, each object a map from member name to value.</summary>
    [Benchmark]
    public int StateSerializerBinary()
    {
        _buffer.ResetWrittenCount();
        _serializer.Write(_buffer, _state);
        return _buffer.WrittenCount;
    }

    /// <summary>JSON by reflection with the serializer's options, as every save ran before issue 14 (named floating-point literals allowed).</summary>
    [Benchmark(Baseline = true)]
    public int StateSerializerJson()
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        JsonSerializer.Serialize(writer, _state, _serializer.Options);
        return _buffer.WrittenCount;
    }

    /// <summary>The JSON source generator's fast path (its options must match the generated ones: no custom number handling).</summary>
    [Benchmark]
    public int SourceGenerated()
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        JsonSerializer.Serialize(writer, _state, SaveFormatJson.Default.WorldState);
        return _buffer.WrittenCount;
    }

    /// <summary>The floor: the writer alone, by hand, names pre-encoded, no validation.</summary>
    [Benchmark]
    public int Utf8JsonWriterByHand()
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
        writer.WriteStartObject();
        writer.WriteNumber(s_tick, _state.Tick);
        writer.WriteStartArray(s_territories);
        foreach (Territory territory in _state.Territories)
        {
            writer.WriteStartObject();
            writer.WriteNumber(s_id, territory.Id);
            writer.WriteString(s_name, territory.Name);
            writer.WriteNumber(s_owner, territory.Owner);
            writer.WriteNumber(s_soldiers, territory.Soldiers);
            writer.WriteNumber(s_resources, territory.Resources);
            writer.WriteStartArray(s_exits);
            foreach (int exit in territory.Exits)
            {
                writer.WriteNumberValue(exit);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        return _buffer.WrittenCount;
    }

    /// <summary>One territory, as in the benchmark game.</summary>
    public sealed class Territory
    {
        /// <summary>Its number.</summary>
        public int Id { get; set; }

        /// <summary>Its name.</summary>
        public string Name { get; set; } = "";

        /// <summary>The owning player.</summary>
        public long Owner { get; set; }

        /// <summary>Soldiers stationed.</summary>
        public int Soldiers { get; set; }

        /// <summary>Resources stored.</summary>
        public int Resources { get; set; }

        /// <summary>Neighbouring territories.</summary>
        public int[] Exits { get; set; } = [];
    }

    /// <summary>The whole state, as in the benchmark game.</summary>
    public sealed class WorldState
    {
        /// <summary>The tick count.</summary>
        public long Tick { get; set; }

        /// <summary>Every territory.</summary>
        public List<Territory> Territories { get; set; } = [];
    }
}

/// <summary>The source-generated contract for <see cref="SaveFormatBenchmarks.WorldState"/>.</summary>
[JsonSourceGenerationOptions(IncludeFields = true)]
[JsonSerializable(typeof(SaveFormatBenchmarks.WorldState))]
internal sealed partial class SaveFormatJson : JsonSerializerContext;
