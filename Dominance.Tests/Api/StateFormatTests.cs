using System.Buffers;
using System.Text.Json;
using Dominance.Api;
using Dominance.Api.State;
using MessagePack;

namespace Dominance.Tests.Api;

/// <summary>
/// The state format's bytes and the generated code's reads and writes of edge values: every integer size at its
/// limits, empty, long and non-ASCII strings, nulls, nested objects, an object with a long prefix, and formatters
/// between values read from the bytes.
/// </summary>
public sealed class StateFormatTests
{
    public sealed class Edges
    {
        public int MinInt { get; set; } = int.MinValue;
        public int MaxInt { get; set; } = int.MaxValue;
        public int Negative { get; set; } = -33;
        public long MinLong { get; set; } = long.MinValue;
        public long MaxLong { get; set; } = long.MaxValue;
        public long BigNegative = -5_000_000_000;
        public bool Yes = true;
        public bool No;
        public string Empty { get; set; } = "";
        public string? None { get; set; }
        public string Medium = new('m', 200);
        public string Long { get; set; } = new('x', 300);
        public string NonAscii { get; set; } = "naïve € 日本";
        public Dictionary<string, int> Between { get; set; } = new() { ["a"] = 1 };
        public int AfterFormatter { get; set; } = 70_000;
        public Edges? Child { get; set; }
        public Wide? Wide { get; set; } = new();
        public List<Edges?> Children { get; set; } = [];
        public Wide[]? Wides { get; set; }
        public int[]? Numbers = [int.MinValue, -129, -33, -1, 0, 1, 127, 128, 255, 256, 65_535, 65_536, int.MaxValue];
        public int[]? NoNumbers;
    }

    /// <summary>More members than a 4-byte prefix holds (its array header takes 3 bytes).</summary>
    public sealed class Wide
    {
        public int A = 1, B = -2, C = 300, D = -300, E = 70_000, F = -70_000, G, H = 7, I = 8, J = 9, K = 10, L = 11, M = 12, N = 13, O = 14;
        public long P = long.MinValue;
    }

    /// <summary>What <see cref="Golden"/> was written as before the generated code read and wrote from spans (main at ef665eb).</summary>
    private const string GoldenHex = """
        C14453029293D92A446F6D696E616E63652E54657374732E4170692E5374617465466F726D617454657374732B4564676573DC0015A64D69
        6E496E74A64D6178496E74A84E65676174697665A74D696E4C6F6E67A74D61784C6F6E67A5456D707479A44E6F6E65A44C6F6E67A84E6F6E
        4173636969A74265747765656EAE4166746572466F726D6174746572A54368696C64A457696465A84368696C6472656EA55769646573AB42
        69674E65676174697665A3596573A24E6FA64D656469756DA74E756D62657273A94E6F4E756D62657273DC0015AC53797374656D2E496E74
        3332AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743634AC53797374656D2E496E743634AD53
        797374656D2E537472696E67AD53797374656D2E537472696E67AD53797374656D2E537472696E67AD53797374656D2E537472696E67D943
        53797374656D2E436F6C6C656374696F6E732E47656E657269632E44696374696F6E61727960325B53797374656D2E537472696E672C5379
        7374656D2E496E7433325DAC53797374656D2E496E743332D92A446F6D696E616E63652E54657374732E4170692E5374617465466F726D61
        7454657374732B4564676573D929446F6D696E616E63652E54657374732E4170692E5374617465466F726D617454657374732B57696465D9
        4D53797374656D2E436F6C6C656374696F6E732E47656E657269632E4C69737460315B446F6D696E616E63652E54657374732E4170692E53
        74617465466F726D617454657374732B45646765735DD92B446F6D696E616E63652E54657374732E4170692E5374617465466F726D617454
        657374732B576964655B5DAC53797374656D2E496E743634AE53797374656D2E426F6F6C65616EAE53797374656D2E426F6F6C65616EAD53
        797374656D2E537472696E67AE53797374656D2E496E7433325B5DAE53797374656D2E496E7433325B5D93D929446F6D696E616E63652E54
        657374732E4170692E5374617465466F726D617454657374732B57696465DC0010A141A142A143A144A145A146A147A148A149A14AA14BA1
        4CA14DA14EA14FA150DC0010AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374
        656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E49
        6E743332AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743332
        AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743332AC53797374656D2E496E743634DC0016D4
        4400D280000000CE7FFFFFFFD0DFD38000000000000000CF7FFFFFFFFFFFFFFFA0C0DA012C78787878787878787878787878787878787878
        7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878
        7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878
        7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878
        7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878
        7878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878
        78B16E61C3AF766520E282AC20E697A5E69CAC81A16101CE00011170DC0016D44400D280000000CE7FFFFFFFD0DFD38000000000000000CF
        7FFFFFFFFFFFFFFFA0C0A0A2C3A981A16101CE00011170C0C090C0D3FFFFFFFED5FA0E00C3C2A16DC0C0DC0011D4440101FECD012CD1FED4
        CE00011170D2FFFEEE90000708090A0B0C0D0ED3800000000000000091C091DC0011D4440101FECD012CD1FED4CE00011170D2FFFEEE9000
        0708090A0B0C0D0ED38000000000000000D3FFFFFFFED5FA0E00C3C2D9C86D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D
        6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D
        6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D
        6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D6D
        6D6D6D6D6D6D9DD280000000D1FF7FD0DFFF00017FCC80CCFFCD0100CDFFFFCE00010000CE7FFFFFFFC0
        """;

    public static Edges Golden() => new()
    {
        Child = new Edges { Wide = null, Numbers = null, Medium = "m", Long = "", NonAscii = "é" },
        Children = [null],
        Wides = [new Wide()],
    };

    [Test]
    public void TheBytesOfStateAreThoseEarlierVersionsWroteAndRead()
    {
        byte[] earlier = Convert.FromHexString(string.Concat(GoldenHex.Where(char.IsAsciiHexDigit)));
        var buffer = new ArrayBufferWriter<byte>();
        new StateSerializer().Write(buffer, Golden());
        Assert.That(buffer.WrittenSpan.ToArray(), Is.EqualTo(earlier), "the same bytes");
        Assert.That(Json(new StateSerializer().Read<Edges>(earlier)), Is.EqualTo(Json(Golden())), "a save of an earlier version reads back whole");
    }

    [Test]
    public void EdgeValuesNestedObjectsAndNullsRoundTrip()
    {
        var edges = new Edges
        {
            Child = new Edges { Child = new Edges { Wide = null, Numbers = null, Between = null! }, Children = [null, new Edges()] },
            Children = [new Edges { NonAscii = new string('é', 200) }, null],
            Wides = [new Wide(), new Wide { G = int.MaxValue }],
        };
        var buffer = new ArrayBufferWriter<byte>();
        var serializer = new StateSerializer();
        serializer.Write(buffer, edges);
        Assert.That(Json(serializer.Read<Edges>(buffer.WrittenMemory)), Is.EqualTo(Json(edges)));
        Assert.That(Json(new StateSerializer().Read<Edges>(buffer.WrittenMemory)), Is.EqualTo(Json(edges)), "by another generation");
    }

    [Test]
    public void IntegersAreReadAsMessagePackReadsThem()
    {
        foreach (byte[] encoded in Integers())
        {
            string name = Convert.ToHexString(encoded);
            Assert.That(ThroughCursor(encoded, StateReads.Int32), Is.EqualTo(ThroughReader(encoded, (ref MessagePackReader r) => r.ReadInt32())), name);
            Assert.That(ThroughCursor(encoded, StateReads.Int64), Is.EqualTo(ThroughReader(encoded, (ref MessagePackReader r) => r.ReadInt64())), name);
            byte[] cut = encoded[..^1];
            Assert.That(ThroughCursor(cut, StateReads.Int64), Is.EqualTo(ThroughReader(cut, (ref MessagePackReader r) => r.ReadInt64())), name + " cut short");
        }
    }

    [Test]
    public void StringsBooleansAndArraysAreReadAsMessagePackReadsThem()
    {
        string?[] strings = [null, "", "a", new string('x', 31), new string('x', 32), new string('x', 255), new string('x', 256), new string('x', 70_000), "naïve", "€", new string('é', 100), new string('é', 200)];
        foreach (string? text in strings)
        {
            byte[] encoded = MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(text));
            Assert.That(ThroughCursor(encoded, StateReads.String), Is.EqualTo(ThroughReader(encoded, (ref MessagePackReader r) => r.ReadString())), text?.Length.ToString() ?? "null");
            Assert.That(ThroughCursor(encoded[..^1], StateReads.String), Is.EqualTo(ThroughReader(encoded[..^1], (ref MessagePackReader r) => r.ReadString())), "cut short");
        }

        foreach (byte[] encoded in new[] { MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(true)), MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(false)), MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(1)), MessagePackBytes.Of((ref MessagePackWriter w) => w.WriteNil()) })
        {
            Assert.That(ThroughCursor(encoded, StateReads.Boolean), Is.EqualTo(ThroughReader(encoded, (ref MessagePackReader r) => r.ReadBoolean())), Convert.ToHexString(encoded));
        }

        int[]?[] arrays = [null, [], [1], [.. Enumerable.Range(-7, 15)], [.. Enumerable.Range(0, 16)], [.. Enumerable.Range(int.MaxValue - 70_000, 70_000)], [int.MinValue, int.MaxValue]];
        foreach (int[]? array in arrays)
        {
            byte[] encoded = MessagePackSerializer.Serialize(array);
            Assert.That(ThroughCursor(encoded, StateReads.Int32Array), Is.EqualTo(ThroughReader(encoded, (ref MessagePackReader r) => MessagePackSerializer.Deserialize<int[]?>(ref r))), array?.Length.ToString() ?? "null");
            Assert.That(MessagePackBytes.Of((ref MessagePackWriter w) => StateWrites.Int32Array(ref w, array)), Is.EqualTo(encoded), "written as MessagePack writes it");
        }

        byte[] notAnArray = MessagePackSerializer.Serialize("text");
        Assert.That(ThroughCursor(notAnArray, StateReads.Int32Array), Is.EqualTo(ThroughReader(notAnArray, (ref MessagePackReader r) => MessagePackSerializer.Deserialize<int[]?>(ref r))));
    }

    /// <summary>Integers at every size's limits, in the shortest form and in each wider one MessagePack can write them in.</summary>
    private static IEnumerable<byte[]> Integers()
    {
        long[] numbers =
        [
            0, 1, 31, 32, 127, 128, 255, 256, 65_535, 65_536, int.MaxValue, (long)int.MaxValue + 1, uint.MaxValue, (long)uint.MaxValue + 1, long.MaxValue,
            -1, -32, -33, -128, -129, -32_768, -32_769, int.MinValue, (long)int.MinValue - 1, long.MinValue,
        ];
        foreach (long number in numbers)
        {
            yield return MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(number));
            yield return MessagePackBytes.Of((ref MessagePackWriter w) => w.WriteInt64(number));
            if (number is >= int.MinValue and <= int.MaxValue)
            {
                yield return MessagePackBytes.Of((ref MessagePackWriter w) => w.WriteInt32((int)number));
            }

            if (number >= 0)
            {
                yield return MessagePackBytes.Of((ref MessagePackWriter w) => w.WriteUInt64((ulong)number));
            }
        }

        yield return MessagePackBytes.Of((ref MessagePackWriter w) => w.WriteUInt64(ulong.MaxValue));
        yield return MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(1.5));
        yield return MessagePackBytes.Of((ref MessagePackWriter w) => w.WriteNil());
    }

    private delegate T CursorRead<T>(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at);

    private delegate T ReaderRead<T>(ref MessagePackReader reader);

    /// <summary>The value (or the exception's type) and the bytes consumed, reading through the generated code's cursor.</summary>
    private static string ThroughCursor<T>(byte[] encoded, CursorRead<T> read)
    {
        var reader = new MessagePackReader(encoded);
        ReadOnlySpan<byte> rest = StateReads.Unread(ref reader);
        int at = 0;
        try
        {
            T value = read(ref reader, ref rest, ref at);
            StateReads.Sync(ref reader, ref rest, ref at);
            return Describe(value) + " after " + reader.Consumed;
        }
        catch (Exception e)
        {
            return e.GetType().Name;
        }
    }

    /// <summary>The same through MessagePack's reader.</summary>
    private static string ThroughReader<T>(byte[] encoded, ReaderRead<T> read)
    {
        var reader = new MessagePackReader(encoded);
        try
        {
            T value = read(ref reader);
            return Describe(value) + " after " + reader.Consumed;
        }
        catch (Exception e)
        {
            return (e is MessagePackSerializationException { InnerException: { } inner } ? inner : e).GetType().Name;
        }
    }

    private static string Describe<T>(T value) => value is null ? "null" : value is int[] array ? "[" + string.Join(",", array) + "]" : value.ToString()!;


    private static string Json<T>(T value) => JsonSerializer.Serialize(value, new StateSerializer().Options);
}
