using System.Net.WebSockets;
using System.Text;
using Dominance.Portal.Telnet;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>The portal's protections against floods, oversized and malformed input, over real sockets.</summary>
public sealed class InputProtectionTests
{
    [Test]
    public async Task OverTheCommandRateTheClientIsWarnedOnceAndTheExcessDroppedUntilTheNextWindow()
    {
        var clock = new ManualClock();
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.CommandRateLimit = 5, clock: clock);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendRawAsync(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(1, 8).Select(i => $"echo {i}\r\n"))));
        var lines = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            lines.Add(await client.Lines.NextAsync());
        }

        Assert.That(lines.Where(l => !l.Contains("too fast", StringComparison.Ordinal)), Is.EqualTo(new[] { "1", "2", "3", "4", "5" }));
        Assert.That(lines.Count(l => l.StartsWith("You are sending commands too fast", StringComparison.Ordinal)), Is.EqualTo(1));
        await Poll.UntilAsync(() => server.Log.Contains("exceeded 5 inputs per"), "the limit was logged");

        // Still the same window: dropped, and no second warning.
        await client.SendAsync("echo 9");
        await Poll.UntilAsync(() => server.Server.Portal.Counters.InputsRateLimited == 4, "echo 9 was dropped");
        clock.Advance(TimeSpan.FromSeconds(1));
        await client.SendAsync("echo 10");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("10"), "the next window accepts input again");
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Is.EqualTo(new[] { "echo 1", "echo 2", "echo 3", "echo 4", "echo 5", "echo 10" }));
    }

    [Test]
    public async Task AFloodOfTelnetNegotiationsIsCutAtItsOwnBudgetWithoutCostingCommands()
    {
        // 3,000 negotiations in six-byte messages: malformed CHARSET subnegotiations (each an answer and a log line),
        // window sizes (each an event for the game) and AYT (each an answer). The clock is frozen: one window.
        var clock = new ManualClock();
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.CommandRateLimit = 10, clock: clock);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        byte[] malformed = [TelnetCodes.Iac, TelnetCodes.Sb, TelnetCodes.Charset, 99, TelnetCodes.Iac, TelnetCodes.Se];
        IEnumerable<byte> WindowSize(int width) => [TelnetCodes.Iac, TelnetCodes.Sb, TelnetCodes.WindowSize, 0, (byte)width, 0, 24, TelnetCodes.Iac, TelnetCodes.Se];

        await client.SendRawAsync([
            .. Enumerable.Repeat(malformed, 1000).SelectMany(b => b),
            .. Enumerable.Range(1, 1000).SelectMany(i => WindowSize(100 + (i % 100))),
            .. Enumerable.Repeat<byte[]>([TelnetCodes.Iac, TelnetCodes.AreYouThere], 1000).SelectMany(b => b),
            .. "echo commands still pass\r\nsize\r\n"u8]);

        var lines = new List<string>();
        while (lines.Count == 0 || !lines[^1].StartsWith("size=", StringComparison.Ordinal))
        {
            lines.Add(await client.Lines.NextAsync());
        }

        Assert.That(lines.Count(l => l.StartsWith("CHARSET:", StringComparison.Ordinal)), Is.EqualTo(10), "the first 10 are answered, as the limit allows");
        Assert.That(lines, Has.None.Contains("[Yes]").And.None.Contains("too fast"), "the rest are ignored, and the client is not told about what it did not type");
        Assert.That(lines, Does.Contain("commands still pass"), "the commands' own limit is untouched");
        Assert.That(lines[^1], Does.StartWith("size=0x0"), "no window size reached the game: the budget was spent");
        Assert.That(server.Log.Lines.Count(l => l.Contains("sent malformed input", StringComparison.Ordinal)), Is.EqualTo(10));
        Assert.That(server.Log.Lines.Count(l => l.Contains("exceeded 10 telnet negotiations per", StringComparison.Ordinal)), Is.EqualTo(1), "logged once per window");
        Assert.That(server.Server.Portal.Counters.InputsRateLimited, Is.EqualTo(2990));

        clock.Advance(TimeSpan.FromSeconds(1));
        await client.SendRawAsync([.. WindowSize(132), .. "size\r\n"u8]);
        Assert.That(await client.Lines.NextAsync(), Does.StartWith("size=132x24"), "the next window takes negotiations again");
    }

    [Test]
    public async Task TwoInputsBackToBackDoNotTripTheLimiter()
    {
        await using TestServer server = await TestServer.StartAsync(); // the default limit: 80 per second
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        await client.SendRawAsync("echo first\r\necho second\r\n"u8.ToArray());
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("first"));
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("second"));
        Assert.That(server.Log.Contains("exceeded"), Is.False);
    }

    [Test]
    public async Task ATelnetLineOverTheLimitIsRefusedAndTheSessionGoesOn()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.MaxInputLength = 100);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendAsync("echo " + new string('a', 96)); // 101 characters
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("Input too long (101 characters; the limit is 100). It was dropped."));
        await client.SendAsync("echo " + new string('ü', 95)); // 100 characters, 195 bytes: allowed
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo(new string('ü', 95)));
        Assert.That(server.TestModule.Inputs, Has.Count.EqualTo(1));
        await Poll.UntilAsync(() => server.Log.Contains("over the limit of 100"), "the refusal was logged");
    }

    [Test]
    public async Task AnEndlessTelnetLineIsNeverBufferedAndIsRefusedWhenItEnds()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.MaxInputLength = 1000);
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        byte[] chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'z');
        for (int i = 0; i < 32; i++)
        {
            await client.SendRawAsync(chunk); // 2 MiB with no line end
        }

        await client.SendAsync("");
        Assert.That(await client.Lines.NextAsync(), Does.StartWith("Input too long (2097152 characters"));
        await client.SendAsync("echo fine");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("fine"));
    }

    [Test]
    public async Task AnOversizedWebSocketMessageIsRefusedEvenWhenFragmented()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.MaxInputLength = 100);
        await using WebSocketTestClient client = await server.WebSocketAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendAsync("echo " + new string('b', 200));
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("Input too long (205 characters; the limit is 100). It was dropped."));

        await client.SendFragmentedAsync(Enumerable.Repeat(new byte[30_000], 4).ToArray(), WebSocketMessageType.Text);
        Assert.That(await client.Lines.NextAsync(), Does.StartWith("Input too long"));
        await client.SendAsync("echo fine");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("fine"));
        Assert.That(server.TestModule.Inputs, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ABinaryWebSocketFrameGetsAClearError()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient client = await server.WebSocketAsync();
        await client.Lines.WaitForAsync("Welcome");
        await client.SendFrameAsync("echo hi"u8.ToArray(), WebSocketMessageType.Binary);
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("Binary WebSocket frames are not accepted: send each command as one text frame."));
        await client.SendAsync("echo text works");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("text works"));
    }

    [Test]
    public async Task InvalidUtf8InATextFrameClosesThatConnectionWithStatus1007()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient bad = await server.WebSocketAsync();
        await bad.Lines.WaitForAsync("Welcome");
        await bad.SendFrameAsync([0xC3, 0x28], WebSocketMessageType.Text);
        await bad.Lines.ClosedAsync();
        Assert.That(bad.CloseStatus, Is.EqualTo(WebSocketCloseStatus.InvalidPayloadData), () => $"client saw: {bad.ReadError}\n" + string.Join("\n", server.Log.Lines));

        await using WebSocketTestClient good = await server.WebSocketAsync();
        await good.SendAsync("echo others are fine");
        await good.Lines.WaitForAsync("others are fine");
    }

    [Test]
    public async Task TheGmcpSubprotocolCarriesTextInBinaryFramesAndGmcpInTextFrames()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient client = await server.WebSocketAsync(gmcp: true);
        await client.Lines.WaitForAsync("Welcome");

        await client.SendAsync("info");
        Assert.That(await client.Lines.NextAsync(), Does.EndWith("oob=True"));
        await client.SendFrameAsync("Test.Hello {\"client\":\"web\"}"u8.ToArray(), WebSocketMessageType.Text);
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("got data Test.Hello {\"client\":\"web\"}"));
        await client.SendAsync("data");
        Assert.That(await client.Data.NextAsync(), Is.EqualTo("Test.Data {\"n\":1}"));
        await client.SendAsync("echooff");
        Assert.That(await client.Data.NextAsync(), Is.EqualTo("Client.Echo {\"enabled\":false}"));
    }

    [Test]
    public async Task ControlCodesNeverReachTheCoreWhateverTheTransport()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient web = await server.WebSocketAsync();
        await using TelnetTestClient telnet = await server.TelnetAsync();
        await web.Lines.WaitForAsync("Welcome");
        await telnet.Lines.WaitForAsync("Welcome");

        // ESC (with a screen clear and a window title), BEL, NUL, BS, DEL, C1 CSI (U+009B), and a right-to-left override.
        await web.SendAsync("echo a\u001b[2J\u001b]0;title\u0007b\0c\bd\u007fe\u009b31mf\u202eg\th");
        Assert.That(await web.Lines.NextAsync(), Is.EqualTo("a[2J]0;titlebcde31mfg h"));

        // Telnet drops C0 bytes itself; C1 arrives as UTF-8 (C2 9B), or as a lone byte, which makes the line not UTF-8:
        // it is read as Latin-1 (what such a client sends), so C2 is Â and both 9B are the C1 CSI, removed.
        await telnet.SendRawAsync([.. "echo x"u8, 0xC2, 0x9B, .. "2Jy"u8, 0x9B, .. "z\r\n"u8]);
        Assert.That(await telnet.Lines.NextAsync(), Is.EqualTo("x\u00C22Jyz"));
        await telnet.SendRawAsync([.. "echo x"u8, 0xC2, 0x9B, .. "2Jy\r\n"u8]);
        Assert.That(await telnet.Lines.NextAsync(), Is.EqualTo("x2Jy"));

        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Is.EqualTo(new[] { "echo a[2J]0;titlebcde31mfg h", "echo x\u00C22Jyz", "echo x2Jy" }));
    }

    [Test]
    public async Task ALineBreakInsideAWebSocketMessageEndsALineAndEachLineIsCountedByTheRateLimit()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.CommandRateLimit = 4, clock: new ManualClock());
        await using WebSocketTestClient client = await server.WebSocketAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendAsync("echo 1\necho 2\r\necho 3\recho 4\r\0echo 5\n");
        var lines = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            lines.Add(await client.Lines.NextAsync()); // the portal's warning may come before the core's answers
        }

        Assert.That(lines.Where(l => !l.Contains("too fast", StringComparison.Ordinal)), Is.EqualTo(new[] { "1", "2", "3", "4" }));
        Assert.That(lines.Count(l => l.StartsWith("You are sending commands too fast", StringComparison.Ordinal)), Is.EqualTo(1), "the fifth line is the fifth input");
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Is.EqualTo(new[] { "echo 1", "echo 2", "echo 3", "echo 4" }));
    }
}
