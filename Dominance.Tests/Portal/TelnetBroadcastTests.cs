using System.Text;
using Dominance.Portal;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Portal;

/// <summary>
/// A broadcast reaches a telnet connection as bytes built once for every connection that renders them alike (its
/// charset, its colours, GMCP or not; compressed per connection by MCCP2): seen from a real telnet client on a loopback
/// socket, they are exactly the bytes the same output written to that session alone gives, in every rendering.
/// </summary>
public sealed class TelnetBroadcastTests
{
    [Flags]
    public enum Variant
    {
        Utf8Colour = 0,
        NoColour = 1,
        Latin1 = 2,
        Gmcp = 4,
        Compressed = 8,
        Narrow = 16,
    }

    [TestCase(Variant.Utf8Colour, TestName = "A broadcast's telnet bytes are the session's own: UTF-8 with colour")]
    [TestCase(Variant.NoColour, TestName = "A broadcast's telnet bytes are the session's own: no colour (MTTS)")]
    [TestCase(Variant.Latin1, TestName = "A broadcast's telnet bytes are the session's own: Latin-1, IAC doubled")]
    [TestCase(Variant.Latin1 | Variant.NoColour, TestName = "A broadcast's telnet bytes are the session's own: Latin-1 without colour")]
    [TestCase(Variant.Gmcp, TestName = "A broadcast's telnet bytes are the session's own: GMCP")]
    [TestCase(Variant.Compressed, TestName = "A broadcast's telnet bytes are the session's own: MCCP2, inflated")]
    [TestCase(Variant.Compressed | Variant.Gmcp | Variant.Latin1 | Variant.NoColour, TestName = "A broadcast's telnet bytes are the session's own: MCCP2, GMCP, Latin-1 without colour")]
    [TestCase(Variant.Narrow, TestName = "A broadcast's telnet bytes are the session's own: wrapped to a narrow window (its own path)")]
    public async Task ABroadcastGivesTheBytesOfTheSameOutputToTheSessionAlone(Variant variant)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawTelnetClient client = await RawTelnetClient.ConnectAsync(server.Telnet);
        bool compressed = variant.HasFlag(Variant.Compressed);
        await client.WaitForAsync("Welcome"u8.ToArray());
        if (compressed)
        {
            await client.SendAsync(Iac, Do, Mccp2);
            await client.WaitForAsync([Iac, Sb, Mccp2, Iac, Se]);
        }

        if (variant.HasFlag(Variant.Latin1))
        {
            await client.SendAsync([Iac, Do, Charset]);
            await client.SendAsync([Iac, Sb, Charset, CharsetAccepted, .. "ISO-8859-1"u8, Iac, Se]);
        }

        if (variant.HasFlag(Variant.NoColour))
        {
            await client.SendAsync([Iac, Will, TerminalType, Iac, Sb, TerminalType, TerminalTypeIs, .. "MUDLET"u8, Iac, Se]);
            await client.SendAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. "ANSI"u8, Iac, Se]);
            await client.SendAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. "MTTS 4"u8, Iac, Se]);
        }

        if (variant.HasFlag(Variant.Gmcp))
        {
            await client.SendAsync(Iac, Do, Gmcp);
        }

        if (variant.HasFlag(Variant.Narrow))
        {
            await client.SendAsync(Iac, Will, WindowSize, Iac, Sb, WindowSize, 0, 20, 0, 24, Iac, Se);
        }

        // Negotiation is over once the session says so (its input is handled after what came before it).
        if (variant.HasFlag(Variant.Narrow))
        {
            await client.SendLineAsync("size");
            await WaitForAsync(client, compressed, "size=20x24;"); // one word: no window wraps it
        }
        else
        {
            await client.SendLineAsync("client");
            await WaitForAsync(client, compressed, $"charset={(variant.HasFlag(Variant.Latin1) ? "ISO-8859-1" : "UTF-8")} " +
                $"colors={(variant.HasFlag(Variant.NoColour) ? "None" : "Ansi")}");
            await client.SendLineAsync("info");
            await WaitForAsync(client, compressed, $"oob={variant.HasFlag(Variant.Gmcp)}");
        }

        // The sample to this session alone, then as a broadcast, each between two marks.
        PortalService portal = server.Server.Portal;
        await MarkAsync(client, compressed, "<<A>>");
        (long Frames, long Bytes) beforeAlone = (portal.FramesDelivered, portal.BytesSent);
        await client.SendLineAsync("sample self");
        await MarkAsync(client, compressed, "<<B>>");
        (long Frames, long Bytes) beforeBroadcast = (portal.FramesDelivered, portal.BytesSent);
        long taken = portal.Broadcasts.Taken;
        await client.SendLineAsync("sample all");
        await MarkAsync(client, compressed, "<<C>>");
        (long Frames, long Bytes) after = (portal.FramesDelivered, portal.BytesSent);
        byte[] output = compressed ? client.Inflated : client.Received;
        byte[] alone = Between(output, "<<A>>\r\n", "<<B>>\r\n");
        byte[] broadcast = Between(output, "<<B>>\r\n", "<<C>>\r\n");

        Assert.That(Convert.ToHexString(broadcast), Is.EqualTo(Convert.ToHexString(alone)), "the broadcast's bytes, against the session's own");
        int expectedTaken = (variant.HasFlag(Variant.Narrow) ? 0 : 1) + (variant.HasFlag(Variant.Gmcp) ? 1 : 0);
        Assert.That(portal.Broadcasts.Taken - taken, Is.EqualTo(expectedTaken), "recipients taken as a shared broadcast");
        Assert.That(
            (after.Frames - beforeBroadcast.Frames, after.Bytes - beforeBroadcast.Bytes),
            Is.EqualTo((beforeBroadcast.Frames - beforeAlone.Frames, beforeBroadcast.Bytes - beforeAlone.Bytes)),
            "the portal's delivered messages and bytes count a shared broadcast as the session's own output");

        // And the rendering is the variant's.
        Assert.That(alone.AsSpan().IndexOf((byte)0x1B) >= 0, Is.EqualTo(!variant.HasFlag(Variant.NoColour)), "colour codes");
        byte[] iacs = variant.HasFlag(Variant.Latin1) ? [(byte)'<', Iac, Iac, Iac, Iac, (byte)'>'] : [(byte)'<', .. "\u00ff\u00ff"u8, (byte)'>'];
        Assert.That(alone.AsSpan().IndexOf(iacs) >= 0, Is.True, "ÿÿ in the connection's charset (Latin-1: each doubled)");
        Assert.That(alone.AsSpan().IndexOf([Iac, Sb, Gmcp, .. "Test.Sample {\"s\":\"caf\u00e9\"}"u8, Iac, Se]) >= 0, Is.EqualTo(variant.HasFlag(Variant.Gmcp)), "GMCP");
        Assert.That(alone.AsSpan().IndexOf("\r\n  "u8) >= 0, Is.EqualTo(variant.HasFlag(Variant.Narrow)), "wrapped");
        if (compressed)
        {
            Assert.That(client.InflateError, Is.Null);
        }
    }

    [Test]
    public async Task ACompressedClientThatFallsBehindGetsEveryBroadcastInOrderAndTheEndOfItsStream()
    {
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Portal.SendQueueCapacity = 100_000;
            s.Portal.TelnetBacklogBytes = int.MaxValue; // it stops reading on purpose: not to be cut off as slow
            s.Portal.CommandRateLimit = 0;
        });
        await using RawTelnetClient behind = await RawTelnetClient.ConnectAsync(server.Telnet);
        await behind.WaitForAsync("Welcome"u8.ToArray());
        await behind.SendAsync(Iac, Do, Mccp2);
        await behind.WaitForAsync([Iac, Sb, Mccp2, Iac, Se]);
        await behind.SendLineAsync("echo compressing");
        await behind.WaitForInflatedAsync("compressing\r\n");
        await using TelnetTestClient active = await server.TelnetAsync();
        await active.Lines.WaitForAsync("Welcome");

        // Incompressible text, about 1 MB, while the compressed client reads nothing: most of it waits on the server's side.
        behind.PauseReading();
        var random = new Random(20);
        string[] fillers = [.. Enumerable.Range(0, 200).Select(_ => new string([.. Enumerable.Range(0, 5000).Select(_ => (char)random.Next('a', 'z' + 1))]))];
        for (int i = 0; i < fillers.Length; i++)
        {
            await active.SendAsync($"say {i} {fillers[i]}");
        }

        await active.Lines.WaitForAsync($"You say: {fillers.Length - 1} ");
        await behind.SendLineAsync("quit");
        behind.ResumeReading();

        string speaker = $"{server.TestModule.Connected.Last()} says: ";
        string expected = string.Concat(fillers.Select((filler, i) => $"{speaker}{i} {filler}\r\n")) + "Goodbye.\r\n";
        await Poll.UntilAsync(() => behind.Closed, "the server closed the connection after the goodbye");
        string inflated = Encoding.UTF8.GetString(behind.Inflated);
        Assert.That(inflated[(inflated.IndexOf("compressing\r\n", StringComparison.Ordinal) + "compressing\r\n".Length)..], Is.EqualTo(expected));
        Assert.That(behind.InflateError, Is.Null);

        // A zlib stream ends with the Adler-32 of all it held: the stream was ended before the connection.
        byte[] whole = behind.Inflated;
        uint a = 1, b = 0;
        foreach (byte x in whole)
        {
            a = (a + x) % 65521;
            b = (b + a) % 65521;
        }

        byte[] received = behind.Received;
        Assert.That(Convert.ToHexString(received[^4..]), Is.EqualTo(((b << 16) | a).ToString("X8")), "the compressed stream's end, then nothing");
    }

    private static async Task MarkAsync(RawTelnetClient client, bool compressed, string mark)
    {
        await client.SendLineAsync($"echo {mark}");
        await WaitForAsync(client, compressed, mark + "\r\n");
    }

    private static Task WaitForAsync(RawTelnetClient client, bool compressed, string text) => compressed
        ? client.WaitForInflatedAsync(text)
        : Poll.UntilAsync(() => Encoding.Latin1.GetString(client.Received).Contains(text, StringComparison.Ordinal),
            $"'{text}' from the server (so far: '{Encoding.Latin1.GetString(client.Received)}')");

    private static byte[] Between(byte[] bytes, string start, string end)
    {
        int from = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(start)) + start.Length;
        int to = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(end));
        Assert.That(from, Is.GreaterThanOrEqualTo(start.Length), $"{start} arrived");
        Assert.That(to, Is.GreaterThan(from), $"{end} arrived after {start}");
        return bytes[from..to];
    }
}
