using Dominance.Api.State;
using MessagePack;

namespace Dominance.Tests.Api;

/// <summary>The generated code's own writes of integers and strings: the very bytes MessagePack's writer writes.</summary>
public sealed class StateWritesTests
{
    private static readonly long[] s_numbers =
    [
        0, 1, 31, 32, 127, 128, 255, 256, 65_535, 65_536, 100_000, int.MaxValue, (long)int.MaxValue + 1, uint.MaxValue, (long)uint.MaxValue + 1, long.MaxValue,
        -1, -31, -32, -33, -127, -128, -129, -32_768, -32_769, int.MinValue, (long)int.MinValue - 1, long.MinValue,
    ];

    private static readonly string?[] s_strings =
    [
        null, "", "a", "Territory 99999", new string('x', 31), new string('x', 32), new string('x', 255), new string('x', 256), new string('x', 70_000),
        "naïve", "€", new string('é', 20), new string('é', 200), new string('€', 255), new string('é', 40_000), "\uD800 lone", "Territory \u0000",
        "abcdefg", "abcdefgé", "abcdefgh", "abcdefghé", "éabcdefgh", "Territory 1234é", "Territory 12345\u007F", new string('x', 30) + "\u0080",
    ];

    [Test]
    public void IntegersAreWrittenAsMessagePackWritesThem()
    {
        foreach (long number in s_numbers)
        {
            Assert.That(MessagePackBytes.Of((ref MessagePackWriter w) => StateWrites.Int64(ref w, number)), Is.EqualTo(MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(number))), $"{number}");
            if (number is >= int.MinValue and <= int.MaxValue)
            {
                int small = (int)number;
                Assert.That(MessagePackBytes.Of((ref MessagePackWriter w) => StateWrites.Int32(ref w, small)), Is.EqualTo(MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(small))), $"{small}");
            }
        }
    }

    [Test]
    public void StringsAreWrittenAsMessagePackWritesThem()
    {
        foreach (string? text in s_strings)
        {
            Assert.That(MessagePackBytes.Of((ref MessagePackWriter w) => StateWrites.String(ref w, text)), Is.EqualTo(MessagePackBytes.Of((ref MessagePackWriter w) => w.Write(text))), text?[..Math.Min(text.Length, 20)] ?? "null");
        }
    }
}
