using System.Text;
using Dominance.Portal.Telnet;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Portal;

/// <summary>The telnet parser alone: IAC stripping, split reads, line endings, garbage and limits.</summary>
public sealed class TelnetParserTests
{
    private static readonly byte[] s_session =
    [
        Iac, Will, WindowSize, (byte)'l', (byte)'o', Iac, Sb, WindowSize, 0, 80, 0, 24, Iac, Se, (byte)'o', (byte)'k', (byte)'\r', (byte)'\n',
        Iac, Do, Gmcp, (byte)'x', Iac, Iac, (byte)'y', (byte)'\n',
        Iac, Sb, TerminalType, TerminalTypeIs, (byte)'x', (byte)'t', (byte)'e', (byte)'r', (byte)'m', Iac, Se,
        (byte)'l', (byte)'a', (byte)'s', (byte)'t', (byte)'\r', 0,
    ];

    [Test]
    public void StripsNegotiationFromLinesAndReportsIt()
    {
        List<string> events = ParseAll(new TelnetParser(100), [s_session]);
        Assert.That(events, Is.EqualTo(new[]
        {
            "cmd 251 31", "sb 31 0,80,0,24", "line look",
            "cmd 253 201", "line x\uFFFDy",
            "sb 24 0,120,116,101,114,109", "line last",
        }));
    }

    [Test]
    public void GivesTheSameResultWhateverTheReadsAreSplitAt()
    {
        List<string> whole = ParseAll(new TelnetParser(100), [s_session]);
        for (int split = 1; split < s_session.Length; split++)
        {
            List<string> parts = ParseAll(new TelnetParser(100), [s_session[..split], s_session[split..]]);
            Assert.That(parts, Is.EqualTo(whole), $"split at byte {split}");
        }

        // One byte per read: every sequence is split everywhere at once.
        List<string> bytes = ParseAll(new TelnetParser(100), s_session.Select(b => new[] { b }).ToArray());
        Assert.That(bytes, Is.EqualTo(whole));
    }

    [TestCase("a\r\nb\r\n", "a|b")]
    [TestCase("a\nb\n", "a|b")]
    [TestCase("a\rb\r", "a|b")]
    [TestCase("a\r\0b\r\0", "a|b")]
    [TestCase("\r\n\r\n", "|")]
    [TestCase("ab\bc\n", "ac")]
    [TestCase("ab\u007fc\n", "ac")]
    [TestCase("a\u001b[Ab\n", "a[Ab")]
    [TestCase("tab\there\n", "tab\there")]
    public void HandlesLineEndingsAndEditing(string input, string expected)
    {
        List<string> lines = ParseAll(new TelnetParser(100), [Encoding.UTF8.GetBytes(input)])
            .Select(e => e["line ".Length..]).ToList();
        Assert.That(string.Join("|", lines), Is.EqualTo(expected));
    }

    [Test]
    public void SkipsGarbageAfterIacAndRecoversFromAnUnterminatedSubnegotiation()
    {
        byte[] garbage =
        [
            Iac, 7, (byte)'a', Iac, 100, (byte)'b', (byte)'\n',        // IAC + non-command bytes: skipped
            Iac, Sb, WindowSize, 1, 2, Iac, Will, Echo, (byte)'c', (byte)'\n', // SB interrupted by IAC WILL: SB dropped
            Iac, Se, Iac, EraseLine, (byte)'d', Iac, EraseCharacter, (byte)'e', (byte)'\n',
        ];
        List<string> events = ParseAll(new TelnetParser(100), [garbage]);
        Assert.That(events, Is.EqualTo(new[] { "line ab", "cmd 251 1", "line c", "cmd 240 0", "line e" }));
    }

    [Test]
    public void ALineOverTheLimitIsDiscardedAsItArrivesAndReportedWithItsLength()
    {
        var parser = new TelnetParser(maxLineChars: 10);
        byte[] longLine = Encoding.UTF8.GetBytes(new string('é', 25) + "\nshort\n");
        List<string> events = ParseAll(parser, longLine.Chunk(7).ToArray());
        Assert.That(events, Is.EqualTo(new[] { "toolong 25", "line short" }));
    }

    [Test]
    public void AnEndlessLineNeverGrowsTheBuffer()
    {
        var parser = new TelnetParser(maxLineChars: 100);
        byte[] chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'z');
        for (int i = 0; i < 64; i++)
        {
            Assert.That(ParseAll(parser, [chunk]), Is.Empty);
        }

        // Stray continuation bytes are not characters, but they are still bounded.
        byte[] continuation = new byte[4096];
        Array.Fill(continuation, (byte)0x80);
        var other = new TelnetParser(maxLineChars: 100);
        Assert.That(ParseAll(other, [continuation, "\n"u8.ToArray()]), Is.EqualTo(new[] { "toolong 0" }));
    }

    [Test]
    public void AnOversizedSubnegotiationIsIgnored()
    {
        var parser = new TelnetParser(maxLineChars: 100, maxSubnegotiationBytes: 16);
        byte[] data = [Iac, Sb, Gmcp, .. new byte[100], Iac, Se, (byte)'o', (byte)'k', (byte)'\n'];
        Assert.That(ParseAll(parser, [data]), Is.EqualTo(new[] { "line ok" }));
    }

    [Test]
    public void ASubnegotiationUpToTheLimitIsReportedWholeThoughItsBufferGrowsOnDemand()
    {
        // The buffer starts empty and grows as bytes arrive (an idle connection holds none): a subnegotiation of
        // exactly the limit, arriving one byte per read, comes out whole; one byte more is too long.
        byte[] payload = Enumerable.Range(0, 4096).Select(i => (byte)(i % 251)).ToArray();
        var parser = new TelnetParser(maxLineChars: 100);
        byte[] data = [Iac, Sb, Gmcp, .. payload, Iac, Se];
        List<string> events = ParseAll(parser, data.Select(b => new[] { b }).ToArray());
        Assert.That(events, Is.EqualTo(new[] { $"sb {Gmcp} {string.Join(",", payload)}" }));

        byte[] over = [Iac, Sb, Gmcp, .. payload, 7, Iac, Se, (byte)'o', (byte)'k', (byte)'\n'];
        Assert.That(ParseAll(new TelnetParser(maxLineChars: 100), [over]), Is.EqualTo(new[] { "line ok" }));
    }

    private static List<string> ParseAll(TelnetParser parser, byte[][] reads)
    {
        var events = new List<string>();
        foreach (byte[] read in reads)
        {
            ReadOnlySpan<byte> rest = read;
            while (!rest.IsEmpty)
            {
                int consumed = parser.Parse(rest, out TelnetEvent found);
                rest = rest[consumed..];
                switch (found.Kind)
                {
                    case TelnetEventKind.Line:
                        events.Add("line " + Encoding.UTF8.GetString(parser.Line));
                        break;
                    case TelnetEventKind.LineTooLong:
                        events.Add("toolong " + found.Length);
                        break;
                    case TelnetEventKind.Command:
                        events.Add($"cmd {found.Command} {found.Option}");
                        break;
                    case TelnetEventKind.Subnegotiation:
                        events.Add($"sb {found.Option} {string.Join(",", parser.Subnegotiation.ToArray())}");
                        break;
                }
            }
        }

        return events;
    }
}
