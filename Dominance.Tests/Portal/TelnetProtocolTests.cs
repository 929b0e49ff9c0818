using System.Text;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Portal;

/// <summary>Telnet negotiation and IAC handling over a real socket.</summary>
public sealed class TelnetProtocolTests
{
    [Test]
    public async Task OffersSgaAndGmcpAndAsksForNawsAndTtype()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.WaitForCommandAsync(Iac, Will, SuppressGoAhead);
        await client.WaitForCommandAsync(Iac, Will, Gmcp);
        await client.WaitForCommandAsync(Iac, Do, WindowSize);
        await client.WaitForCommandAsync(Iac, Do, TerminalType);
    }

    [Test]
    public async Task LearnsWindowSizeAndTerminalTypeFromTheClient()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendRawAsync([Iac, Will, WindowSize, Iac, Sb, WindowSize, 0, 120, 0, 40, Iac, Se, Iac, Will, TerminalType]);
        await client.WaitForCommandAsync(Iac, Sb, TerminalType, TerminalTypeSend, Iac, Se);
        // Negotiation results travel to the core through the same ordered pipe as input, so an input sent after
        // them is handled after them.
        await client.SendRawAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. "xterm-256color"u8, Iac, Se, .. "info\r\n"u8]);
        Assert.That(await client.Lines.WaitForAsync("info "), Is.EqualTo("info protocol=Telnet width=120 height=40 terminal=xterm-256color oob=False"));
    }

    [Test]
    public async Task RefusesUnknownOptionsOnceAndDoesNotLoop()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendRawAsync([Iac, Will, 99, Iac, Do, 98, Iac, Will, 99, Iac, Do, 98]);
        await client.SendAsync("echo marker");
        await client.Lines.WaitForAsync("marker");
        await client.WaitForCommandAsync(Iac, Dont, 99);
        await client.WaitForCommandAsync(Iac, Wont, 98);
        Assert.That(client.Commands.Count(c => c.SequenceEqual(new byte[] { Iac, Dont, 99 })), Is.EqualTo(1));
        Assert.That(client.Commands.Count(c => c.SequenceEqual(new byte[] { Iac, Wont, 98 })), Is.EqualTo(1));

        // Acknowledging what the server offered gets no reply (RFC 1143): no second WILL SGA.
        await client.SendRawAsync([Iac, Do, SuppressGoAhead]);
        await client.SendAsync("echo marker2");
        await client.Lines.WaitForAsync("marker2");
        Assert.That(client.Commands.Count(c => c.SequenceEqual(new byte[] { Iac, Will, SuppressGoAhead })), Is.EqualTo(1));
    }

    [Test]
    public async Task SwitchesEchoOffAndOnForPasswords()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.SendAsync("echooff");
        await client.WaitForCommandAsync(Iac, Will, Echo);
        await client.SendAsync("echoon");
        await client.WaitForCommandAsync(Iac, Wont, Echo);
    }

    [Test]
    public async Task SendsGmcpOnlyAfterTheClientAgrees()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendAsync("data");
        await client.Lines.WaitForAsync("data sent");
        Assert.That(client.Commands.Any(c => c.Length > 2 && c[1] == Sb && c[2] == Gmcp), Is.False, "no GMCP before DO GMCP");

        await client.SendRawAsync([Iac, Do, Gmcp, Iac, Sb, Gmcp, .. "Test.Hello {\"client\":\"test\"}"u8, Iac, Se]);
        Assert.That(await client.Lines.WaitForAsync("got data"), Is.EqualTo("got data Test.Hello {\"client\":\"test\"}"));
        await client.SendAsync("data");
        await client.WaitForCommandAsync([Iac, Sb, Gmcp, .. "Test.Data {\"n\":1}"u8, Iac, Se]);
    }

    [Test]
    public async Task IacSequencesSplitAcrossTcpWritesAreStripped()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        byte[][] pieces = [[.. "ec"u8, Iac], [Will], [99, .. "ho spl"u8, Iac], [Sb, WindowSize, 0], [80, 0, 24, Iac], [Se, .. "it\r"u8], ["\n"u8.ToArray()[0]]];
        foreach (byte[] piece in pieces)
        {
            await client.SendRawAsync(piece);
            await Task.Yield();
        }

        Assert.That(await client.Lines.WaitForAsync("split"), Is.EqualTo("split"));
    }

    [Test]
    public async Task GarbageDoesNotStopTheServer()
    {
        // No rate limit: random bytes hold about 2000 line ends, and the limiter would rightly drop what follows. And
        // a queue big enough for 2000 replies queued in one instant: otherwise the client is rightly cut off as slow.
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Portal.CommandRateLimit = 0;
            s.Portal.SendQueueCapacity = 10_000;
        });
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        var random = new Random(42);
        byte[] garbage = new byte[256 * 1024];
        random.NextBytes(garbage);
        await client.SendRawAsync(garbage);
        await client.SendRawAsync([Iac, Se, Iac, Iac, (byte)'\r', (byte)'\n']); // end whatever state garbage left behind
        await client.SendAsync("echo still alive");
        await client.Lines.WaitForAsync("still alive");

        await using TelnetTestClient other = await server.TelnetAsync();
        await other.SendAsync("echo others too");
        await other.Lines.WaitForAsync("others too");
    }
}
