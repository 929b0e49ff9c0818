using System.Buffers;
using System.Text;
using System.Text.Json;
using Dominance.Api;

namespace Dominance.Tests.Api;

/// <summary>The state format: round trips, version tolerance, losses refused, old JSON state, and the dump.</summary>
public sealed class StateSerializerTests
{
    public enum Colour { Red, Green = 5 }

    public sealed class World
    {
        public long Tick { get; set; }
        public Dictionary<SessionId, string> Sessions { get; set; } = [];
        public Dictionary<string, Player> Players { get; set; } = [];
        public List<Point> Path { get; set; } = [];
        public int[] Numbers = [];
        public Colour Colour { get; set; }
        public long? Maybe { get; set; }
        public DateTimeOffset When { get; set; }
        public World? Child { get; set; }
    }

    public sealed class Player
    {
        public string Name { get; set; } = "";
        public int Resources { get; set; }
        public bool Admin { get; set; }
        public double Ratio { get; set; }
    }

    public struct Point
    {
        public int X;
        public int Y { get; set; }
    }

    /// <summary>Every kind of sequence the generated writer loops over itself rather than through a formatter.</summary>
    public sealed class Sequences
    {
        public bool[] Booleans = [true, false];
        public sbyte[] SBytes = [-1, sbyte.MaxValue];
        public short[] Shorts = [short.MinValue, 300];
        public ushort[] UShorts = [ushort.MaxValue];
        public int[]? Ints = [int.MinValue, -33, 0, 127, 128, 70_000, int.MaxValue];
        public uint[] UInts = [uint.MaxValue];
        public long[] Longs = [long.MinValue, 5_000_000_000];
        public ulong[] ULongs = [ulong.MaxValue];
        public float[] Singles = [1.5f, float.NaN];
        public double[] Doubles = [-0.25, double.PositiveInfinity];
        public char[] Chars = ['a', 'é', '€'];
        public string?[] Strings = ["", null, "Territory 1", "naïve €", new string('x', 300)];
        public byte[] Bytes = [1, 2, 3];
        public int[]? NoInts;
        public List<Player?> Players { get; set; } = [new Player { Name = "A", Resources = 1 }, null, new Player { Name = "B", Admin = true }];
        public Player?[] PlayerArray { get; set; } = [null, new Player { Name = "C", Ratio = 2 }];
        public List<Point> PointList { get; set; } = [new Point { X = 1, Y = 2 }];
        public Point[] PointArray { get; set; } = [new Point { X = 3, Y = 4 }, new Point { X = 5, Y = 6 }];
        public List<Player>? NoPlayers { get; set; }
        public Point[] NoPoints { get; set; } = [];
        public List<Sequences> Nested { get; set; } = [];
    }

    public sealed class RenamedPlayer
    {
        public string Name { get; set; } = "";

        [StateAlias("Resources")]
        public int Treasury { get; set; }
    }

    public sealed class ReorderedPlayer
    {
        public double Ratio { get; set; }
        public bool Admin { get; set; }
        public long Resources { get; set; }
        public string Name { get; set; } = "";
        public int Added { get; set; }
    }

    public sealed class ShrunkPlayer
    {
        public string Name { get; set; } = "";
    }

    public sealed class RetypedPlayer
    {
        public string Name { get; set; } = "";
        public string Resources { get; set; } = "";
    }

    [Test]
    public void EveryShapeOfStateRoundTrips()
    {
        var world = new World
        {
            Tick = 42,
            Sessions = { [new SessionId(7)] = "alice" },
            Players = { ["alice"] = new Player { Name = "Alice", Resources = 21, Admin = true, Ratio = 0.5 } },
            Path = [new Point { X = 1, Y = 2 }, new Point { X = 3, Y = 4 }],
            Numbers = [1, 2, 3],
            Colour = Colour.Green,
            Maybe = 9,
            When = new DateTimeOffset(2026, 12, 2, 7, 0, 0, TimeSpan.Zero),
            Child = new World { Tick = 1 },
        };

        World back = RoundTrip<World, World>(world, new StateSerializer())!;
        Assert.That(JsonSerializer.Serialize(back, new StateSerializer().Options), Is.EqualTo(JsonSerializer.Serialize(world, new StateSerializer().Options)));
    }

    [Test]
    public void ListsAndArraysWrittenByTheGeneratedLoopsRoundTrip()
    {
        var sequences = new Sequences { Nested = [new Sequences { Ints = null, Players = [] }] };
        Sequences back = RoundTrip<Sequences, Sequences>(sequences, new StateSerializer())!;
        Assert.That(JsonSerializer.Serialize(back, new StateSerializer().Options), Is.EqualTo(JsonSerializer.Serialize(sequences, new StateSerializer().Options)));
    }

    [Test]
    public void ARenamedMemberIsReadUnderItsAlias()
    {
        RenamedPlayer back = RoundTrip<Player, RenamedPlayer>(new Player { Name = "A", Resources = 21 }, new StateSerializer())!;
        Assert.That((back.Name, back.Treasury), Is.EqualTo(("A", 21)));
    }

    [Test]
    public void AMemberThatIsGoneIsNoLossWhileItHoldsItsDefault()
    {
        var reader = new StateSerializer();
        Assert.That(RoundTrip<Player, ShrunkPlayer>(new Player { Name = "A" }, reader)!.Name, Is.EqualTo("A"));
        Assert.That(reader.LastLosses, Is.Empty);
    }

    [Test]
    public void DroppingValuesIsRefusedNamingTheMemberAndHowManyValues()
    {
        var players = new Dictionary<string, Player> { ["a"] = new() { Resources = 1, Admin = true }, ["b"] = new() { Resources = 2 }, ["c"] = new() };
        StateLossException refused = Assert.Throws<StateLossException>(() => RoundTrip<Dictionary<string, Player>, Dictionary<string, ShrunkPlayer>>(players, new StateSerializer()))!;
        Assert.That(refused.Losses, Is.EqualTo(new[] { new StateLoss("ShrunkPlayer.Admin", 1, false), new StateLoss("ShrunkPlayer.Resources", 2, false) }));

        var forced = new StateSerializer(allowLoss: true);
        Assert.That(RoundTrip<Dictionary<string, Player>, Dictionary<string, ShrunkPlayer>>(players, forced)!.Keys, Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(forced.LastLosses, Has.Count.EqualTo(2));
    }

    [Test]
    public void AValueThatCannotBeReadAsTheNewTypeIsRefused()
    {
        StateLossException refused = Assert.Throws<StateLossException>(() => RoundTrip<Player, RetypedPlayer>(new Player { Name = "A", Resources = 3 }, new StateSerializer()))!;
        Assert.That(refused.Losses.Single(), Is.EqualTo(new StateLoss("RetypedPlayer.Resources", 1, true)));
        Assert.That(RoundTrip<Player, RetypedPlayer>(new Player { Name = "A", Resources = 3 }, new StateSerializer(allowLoss: true))!.Name, Is.EqualTo("A"), "forced: the rest is read");
    }

    [Test]
    public void StateSavedAsJsonByAnEarlierVersionIsStillRead()
    {
        byte[] json = Encoding.UTF8.GetBytes("""{"Tick":5,"Sessions":{"7":"alice"},"Players":{"alice":{"Name":"Alice","Resources":21}},"Numbers":[1]}""");
        World world = new StateSerializer().Read<World>(json)!;
        Assert.That((world.Tick, world.Sessions[new SessionId(7)], world.Players["alice"].Resources, world.Numbers.Single()), Is.EqualTo((5L, "alice", 21, 1)));
    }

    [Test]
    public void MemberNamesAreWrittenOncePerSaveNotOncePerObject()
    {
        var buffer = new ArrayBufferWriter<byte>();
        new StateSerializer().Write(buffer, Enumerable.Range(0, 50).Select(i => new Player { Name = "p" + i, Resources = i }).ToList());
        Assert.That(Occurrences(buffer.WrittenSpan, "Resources"u8), Is.EqualTo(1), "in the header only");
        Assert.That(new StateSerializer().Read<List<Player>>(buffer.WrittenMemory)!.Select(p => p.Resources), Is.EqualTo(Enumerable.Range(0, 50)));
    }

    [Test]
    public void MembersInAnotherOrderOrOfAWiderTypeAreMatchedByName()
    {
        var reader = new StateSerializer();
        ReorderedPlayer back = RoundTrip<Player, ReorderedPlayer>(new Player { Name = "A", Resources = 21, Admin = true, Ratio = 0.25 }, reader)!;
        Assert.That((back.Name, back.Resources, back.Admin, back.Ratio, back.Added), Is.EqualTo(("A", 21L, true, 0.25, 0)));
        Assert.That(reader.LastLosses, Is.Empty);
    }

    [Test]
    public void StateOfTheFirstBinaryVersionWithMembersByNameIsStillRead()
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write<byte>([0xC1, (byte)'D', (byte)'S', 1]);
        var writer = new MessagePack.MessagePackWriter(buffer);
        writer.WriteMapHeader(2);
        writer.Write("Tick");
        writer.Write(5);
        writer.Write("Players");
        writer.WriteMapHeader(1);
        writer.Write("alice");
        writer.WriteMapHeader(2);
        writer.Write("Name");
        writer.Write("Alice");
        writer.Write("Resources");
        writer.Write(21);
        writer.Flush();

        World world = new StateSerializer().Read<World>(buffer.WrittenMemory)!;
        Assert.That((world.Tick, world.Players["alice"].Name, world.Players["alice"].Resources), Is.EqualTo((5L, "Alice", 21)));
        Assert.That(JsonDocument.Parse(StateSerializer.ToJson(buffer.WrittenMemory)).RootElement.GetProperty("Tick").GetInt64(), Is.EqualTo(5));
    }

    [Test]
    public void ASaveIsPrintedAsJsonWithoutTheGameCode()
    {
        var buffer = new ArrayBufferWriter<byte>();
        new StateSerializer().Write(buffer, new World
        {
            Tick = 3, Sessions = { [new SessionId(7)] = "alice" }, Players = { ["alice"] = new Player { Name = "Alice", Resources = 21 } },
            Path = [new Point { X = 1, Y = 2 }], Numbers = [4, 5],
        });
        Assert.That(StateSerializer.IsBinary(buffer.WrittenSpan), Is.True);
        using JsonDocument dump = JsonDocument.Parse(StateSerializer.ToJson(buffer.WrittenMemory));
        Assert.That(dump.RootElement.GetProperty("Tick").GetInt64(), Is.EqualTo(3));
        Assert.That(dump.RootElement.GetProperty("Players").GetProperty("alice").GetProperty("Resources").GetInt32(), Is.EqualTo(21));
        Assert.That(dump.RootElement.GetProperty("Sessions").GetProperty("7").GetString(), Is.EqualTo("alice"));
        Assert.That(dump.RootElement.GetProperty("Path")[0].GetProperty("Y").GetInt32(), Is.EqualTo(2));
        Assert.That(dump.RootElement.GetProperty("Numbers").EnumerateArray().Select(n => n.GetInt32()), Is.EqualTo(new[] { 4, 5 }));
        Assert.That(dump.RootElement.GetProperty("Child").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    private static int Occurrences(ReadOnlySpan<byte> data, ReadOnlySpan<byte> text)
    {
        int count = 0;
        for (int at = data.IndexOf(text); at >= 0; at = data.IndexOf(text))
        {
            count++;
            data = data[(at + text.Length)..];
        }

        return count;
    }

    private static TOut? RoundTrip<TIn, TOut>(TIn value, StateSerializer reader)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new StateSerializer().Write(buffer, value);
        return reader.Read<TOut>(buffer.WrittenMemory);
    }
}
