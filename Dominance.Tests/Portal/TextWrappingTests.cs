using System.Buffers;
using System.Text;
using Dominance.Api;
using Dominance.Portal;

namespace Dominance.Tests.Portal;

/// <summary>Text wrapped to a client's window by the portal (<see cref="TextWrapping"/>), on the encoded bytes.</summary>
public sealed class TextWrappingTests
{
    private const string Cyan = "\u001b[36m";
    private const string Reset = "\u001b[0m";

    private static string Wrap(string text, int width)
    {
        var output = new ArrayBufferWriter<byte>();
        TextWrapping.Wrap(Encoding.UTF8.GetBytes(text), width, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string Visible(string text) => System.Text.RegularExpressions.Regex.Replace(text, "\u001b\\[[0-9;]*m", "");

    [Test]
    public void LongLinesBreakAtSpacesAndContinueFurtherIn()
    {
        string wrapped = Wrap("  The north wind brings snow to Highkeep and the rivers freeze over.\r\nshort\r\n", 24);
        Assert.That(wrapped, Is.EqualTo(
            "  The north wind brings\r\n    snow to Highkeep and\r\n    the rivers freeze\r\n    over.\r\nshort\r\n"));
    }

    [Test]
    public void LinesThatFitAreCopiedAsTheyAreColourCodesTakingNoColumns()
    {
        string text = $"{Cyan}twenty columns of it{Reset}  and  more  \r\n";
        Assert.That(Wrap(text, 34), Is.EqualTo(text));
    }

    [Test]
    public void AColouredStretchMovesToTheNextRowWholeWhenItFitsThere()
    {
        string wrapped = Wrap($"Type {Cyan}connect <name> <password>{Reset} to come in.", 28);
        Assert.That(wrapped, Is.EqualTo($"Type\r\n  {Cyan}connect <name> <password>{Reset}\r\n  to come in."));
    }

    [Test]
    public void AColouredStretchLongerThanTheWindowIsBrokenWithItsCodesIntact()
    {
        string stretch = $"{Cyan}one two three four five six seven eight nine ten{Reset}";
        string wrapped = Wrap($"Say {stretch} now.", 20);
        string[] rows = wrapped.Split("\r\n");
        Assert.That(rows.Select(r => Visible(r).Length), Has.All.LessThanOrEqualTo(20), wrapped);
        Assert.That(rows, Has.Length.GreaterThan(2));
        Assert.That(wrapped.Replace("\r\n  ", " "), Is.EqualTo($"Say {stretch} now."), "only spaces became row breaks; every code is whole and in place");
    }

    [Test]
    public void AWordLongerThanTheWindowStaysWholeOnItsOwnRow()
    {
        string url = "https://example.org/" + new string('x', 40);
        Assert.That(Wrap($"See {url} for more.", 30), Is.EqualTo($"See\r\n  {url}\r\n  for more."));
    }

    [Test]
    public void ColumnsCountCharactersNotBytes()
    {
        string line = "Café crème brûlée à la française, très épaisse";
        Assert.That(TextWrapping.Columns(Encoding.UTF8.GetBytes(line)), Is.EqualTo(line.Length));
        Assert.That(Wrap(line, line.Length), Is.EqualTo(line), "exactly the width in characters, more in bytes: fits");
        Assert.That(Wrap(line, 30).Split("\r\n").Select(r => r.Length), Has.All.LessThanOrEqualTo(30));
    }

    [Test]
    public void ThePayloadMeasuresItsLongestLineOnceForEveryRecipient()
    {
        OutputPayload payload = OutputPayload.ForLine("short\nsomewhat longer line\nmid");
        Assert.That(payload.LongestLine, Is.EqualTo("somewhat longer line".Length));
        Assert.That(TextWrapping.Needed(payload, 0), Is.False, "no width known");
        Assert.That(TextWrapping.Needed(payload, 80), Is.False);
        Assert.That(TextWrapping.Needed(OutputPayload.ForLine(new string('x', 30)), 10), Is.False, "too narrow a window to wrap for");
        Assert.That(TextWrapping.Needed(OutputPayload.ForLine(new string('x', 30)), 20), Is.True);
        payload.Release();
    }
}
