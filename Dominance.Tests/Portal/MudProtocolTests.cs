using System.Text;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Portal;

/// <summary>
/// The telnet options MUD clients rely on, over a real socket: the MTTS cycle, prompts with EOR and GA, ECHO refusal,
/// MSSP, CHARSET, MCCP2, and the GMCP Core package; each with its refusals and with negotiation split across reads.
/// </summary>
public sealed class MudProtocolTests
{
    [Test]
    public async Task TheTerminalTypeCycleLearnsClientNameTerminalAndMttsFlagsEvenSplitAcrossReads()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        byte[] send = [Iac, Sb, TerminalType, TerminalTypeSend, Iac, Se];

        await client.SendRawAsync([Iac, Will, TerminalType]);
        await Poll.UntilAsync(() => Count(client, send) == 1, "the first TTYPE SEND");
        await client.SendRawAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. "TINTIN"u8]); // split mid-answer
        await client.SendRawAsync([.. "++"u8, Iac, Se]);
        await Poll.UntilAsync(() => Count(client, send) == 2, "the second TTYPE SEND");
        await client.SendRawAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. "XTERM-256COLOR"u8, Iac]);
        await client.SendRawAsync([Se]); // split between IAC and SE
        await Poll.UntilAsync(() => Count(client, send) == 3, "the third TTYPE SEND");
        await client.SendRawAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. "MTTS 2317"u8, Iac, Se, .. "client\r\n"u8]);

        // 2317 = ANSI | UTF-8 | 256 colours | TRUECOLOR | SSL; the third round is the last.
        Assert.That(await client.Lines.WaitForAsync("client "),
            Is.EqualTo("client name=TINTIN++ version= terminal=XTERM-256COLOR mtts=2317 charset=UTF-8 colors=TrueColor prompts=False gmcp="));
        await client.SendAsync("echo marker");
        await client.Lines.WaitForAsync("marker");
        Assert.That(Count(client, send), Is.EqualTo(3));
    }

    [Test]
    public async Task AClientThatRepeatsItsTerminalTypeIsAskedNoMore()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        byte[] send = [Iac, Sb, TerminalType, TerminalTypeSend, Iac, Se];
        byte[] answer = [Iac, Sb, TerminalType, TerminalTypeIs, .. "XTERM"u8, Iac, Se];

        await client.SendRawAsync([Iac, Will, TerminalType]);
        await Poll.UntilAsync(() => Count(client, send) == 1, "the first TTYPE SEND");
        await client.SendRawAsync(answer);
        await Poll.UntilAsync(() => Count(client, send) == 2, "the second TTYPE SEND");
        await client.SendRawAsync([.. answer, .. answer, .. "client\r\n"u8]); // a repeat ends the cycle; the extra is ignored
        Assert.That(await client.Lines.WaitForAsync("client "), Does.StartWith("client name=XTERM version= terminal=XTERM mtts= charset=UTF-8 colors=Ansi16"));
        Assert.That(Count(client, send), Is.EqualTo(2));
    }

    [TestCase("MTTS 69", TestName = "A screen reader gets no colour (MTTS 69: ANSI, UTF-8, screen reader)")]
    [TestCase("MTTS 4", TestName = "A client without ANSI gets no colour (MTTS 4: UTF-8 only)")]
    public async Task ClientsWithoutColourGetTextWithoutColourCodes(string mtts)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        await client.SendAsync("ansi");
        await client.Lines.WaitForAsync("end");
        Assert.That(client.Lines.Raw[^1], Does.Contain("\u001b["), "colour before MTTS");

        await client.SendRawAsync([Iac, Will, TerminalType, Iac, Sb, TerminalType, TerminalTypeIs, .. "MUDLET"u8, Iac, Se]);
        await client.SendRawAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. "ANSI"u8, Iac, Se]);
        await client.SendRawAsync([Iac, Sb, TerminalType, TerminalTypeIs, .. Encoding.ASCII.GetBytes(mtts), Iac, Se]);
        await client.SendAsync("client");
        Assert.That(await client.Lines.WaitForAsync("client "), Does.Contain("colors=None"));
        await client.SendAsync("ansi");
        Assert.That(await client.Lines.WaitForAsync("end"), Is.EqualTo("red256 bg256 true truebg under reverse greendefault end"));
        Assert.That(client.Lines.Raw[^1], Is.EqualTo("red256 bg256 true truebg under reverse greendefault end"));
    }

    [Test]
    public async Task AnUnaskedDoEchoIsRefusedOnceAndThePasswordSwitchStillWorks()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendRawAsync([Iac, Do, Echo, Iac, Do, Echo, .. "echo marker\r\n"u8]);
        await client.Lines.WaitForAsync("marker");
        Assert.That(Count(client, [Iac, Wont, Echo]), Is.EqualTo(1));

        await client.SendAsync("echooff");
        await client.WaitForCommandAsync(Iac, Will, Echo);
        await client.SendRawAsync([Iac, Do, Echo, .. "echo marker2\r\n"u8]); // the acknowledgement: no answer
        await client.Lines.WaitForAsync("marker2");
        Assert.That(Count(client, [Iac, Wont, Echo]), Is.EqualTo(1));
    }

    [Test]
    public async Task APromptHasNoLineEndAndEndsWithEorIfAgreedElseGaUnlessSuppressed()
    {
        await using TestServer server = await TestServer.StartAsync();

        // No EOR, no SGA (the dumb client agrees to nothing): IAC GA.
        await using TelnetTestClient dumb = await server.TelnetAsync();
        await dumb.Lines.WaitForAsync("Welcome");
        await dumb.SendAsync("prompt HP 10> ");
        await dumb.WaitForCommandAsync(Iac, GoAhead);
        await dumb.SendAsync("echo typed");
        Assert.That(await dumb.Lines.NextAsync(), Is.EqualTo("HP 10> typed"), "the prompt has no line end");

        // SGA agreed, no EOR: nothing marks it.
        await using TelnetTestClient sga = await server.TelnetAsync();
        await sga.Lines.WaitForAsync("Welcome");
        await sga.SendRawAsync([Iac, Do, SuppressGoAhead, .. "prompt > \r\n"u8, .. "echo typed\r\n"u8]);
        Assert.That(await sga.Lines.NextAsync(), Is.EqualTo("> typed"));
        Assert.That(Count(sga, [Iac, GoAhead]), Is.Zero);

        // EOR agreed (the DO split from its option): IAC EOR, and the game is told the client marks prompts.
        await using TelnetTestClient eor = await server.TelnetAsync();
        await eor.Lines.WaitForAsync("Welcome");
        await eor.SendRawAsync([Iac, Do, SuppressGoAhead, Iac, Do]);
        await eor.SendRawAsync([Eor, .. "prompt > \r\n"u8]);
        await eor.WaitForCommandAsync(Iac, EndOfRecord);
        await eor.SendAsync("client");
        Assert.That(await eor.Lines.NextAsync(), Does.StartWith("> client ").And.Contain("prompts=True"));
        Assert.That(Count(eor, [Iac, GoAhead]), Is.Zero);
    }

    [Test]
    public async Task MsspAnswersACrawlerWithTheServersVariables()
    {
        await using TestServer server = await TestServer.StartAsync(settings =>
        {
            settings.Portal.Mssp["NAME"] = "Test Realm";
            settings.Portal.Mssp["CONTACT"] = "admin@example.org";
        });
        await using TelnetTestClient other = await server.TelnetAsync();
        await other.Lines.WaitForAsync("Welcome");
        await using RawTelnetClient crawler = await RawTelnetClient.ConnectAsync(server.Telnet);
        await crawler.WaitForAsync([Iac, Will, Mssp]);
        await crawler.SendAsync(Iac, Do, Mssp);
        await crawler.WaitForAsync([Iac, Sb, Mssp]);
        await Poll.UntilAsync(() => Subnegotiation(crawler.Received, Mssp) is not null, "the whole MSSP answer");

        Dictionary<string, string> variables = ParseMssp(Subnegotiation(crawler.Received, Mssp)!);
        Assert.That(variables["NAME"], Is.EqualTo("Test Realm"));
        Assert.That(variables["CONTACT"], Is.EqualTo("admin@example.org"));
        Assert.That(variables["CODEBASE"], Is.EqualTo("Dominance"));
        Assert.That(variables["PLAYERS"], Is.EqualTo("0"), "two connections, but nobody logged in to play");
        Assert.That(variables["PORT"], Is.EqualTo(server.Telnet.Port.ToString()));
        Assert.That(long.Parse(variables["UPTIME"]), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(120));
        Assert.That(variables["MCCP"], Is.EqualTo("1"));
        Assert.That(variables["GMCP"], Is.EqualTo("1"));
    }

    [Test]
    public async Task CharsetNegotiatesUtf8AndALatin1ClientGetsLatin1BothWays()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawTelnetClient client = await RawTelnetClient.ConnectAsync(server.Telnet);
        await client.WaitForAsync("Welcome"u8.ToArray());
        await client.SendAsync(Iac, Do, Charset);
        await client.WaitForAsync([Iac, Sb, Charset, CharsetRequest, .. ";UTF-8;ISO-8859-1"u8, Iac, Se]);

        // The answer split across two reads.
        await client.SendAsync([Iac, Sb, Charset, CharsetAccepted, .. "ISO-88"u8]);
        await client.SendAsync([.. "59-1"u8, Iac, Se]);
        await client.SendAsync([.. "echo caf"u8, 0xE9, (byte)'\r', (byte)'\n']);
        await client.WaitForAsync([.. "caf"u8, 0xE9, (byte)'\r', (byte)'\n']);
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Does.Contain("echo caf\u00E9"));

        // ÿ is 0xFF in Latin-1, which telnet sends doubled (IAC IAC) both ways.
        await client.SendAsync([.. "echo <"u8, 0xFF, 0xFF, 0xE9, .. ">\r\n"u8]);
        await client.WaitForAsync([(byte)'<', 0xFF, 0xFF, 0xE9, .. ">\r\n"u8]);
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Does.Contain("echo <\u00FF\u00E9>"));
    }

    [Test]
    public async Task InputThatIsNotUtf8IsReadAsLatin1WithoutNegotiation()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        await client.SendRawAsync([.. "echo caf"u8, 0xE9, (byte)'\r', (byte)'\n']);
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("café"));
    }

    [Test]
    public async Task CharsetRefusalsAndMalformedAnswersGetAClearAnswerAndChangeNothing()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        await client.SendRawAsync([Iac, Do, Charset]);
        await client.WaitForCommandAsync([Iac, Sb, Charset, CharsetRequest, .. ";UTF-8;ISO-8859-1"u8, Iac, Se]);

        await client.SendRawAsync([Iac, Sb, Charset, CharsetAccepted, .. "KOI8-R"u8, Iac, Se]);
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("CHARSET: the server offered UTF-8 or ISO-8859-1, not 'KOI8-R'. The connection stays in UTF-8."));
        await client.SendRawAsync([Iac, Sb, Charset, 9, Iac, Se]);
        Assert.That(await client.Lines.NextAsync(), Does.StartWith("CHARSET: a subnegotiation must be REQUEST, ACCEPTED or REJECTED"));
        await client.SendRawAsync([Iac, Sb, Charset, CharsetRejected, Iac, Se]);

        // A client's own REQUEST: UTF-8 is not on its list, Latin-1 is; then one with neither is rejected.
        await client.SendRawAsync([Iac, Will, Charset, Iac, Sb, Charset, CharsetRequest, .. " KOI8-R LATIN1"u8, Iac, Se]);
        await client.WaitForCommandAsync([Iac, Sb, Charset, CharsetAccepted, .. "ISO-8859-1"u8, Iac, Se]);
        await client.SendRawAsync([Iac, Sb, Charset, CharsetRequest, .. ";KOI8-R"u8, Iac, Se]);
        await client.WaitForCommandAsync(Iac, Sb, Charset, CharsetRejected, Iac, Se);
        await client.SendAsync("client");
        Assert.That(await client.Lines.NextAsync(), Does.Contain("charset=ISO-8859-1"));
    }

    [Test]
    public async Task Mccp2CompressesForClientsThatAgreeAndBothKindsOfClientSeeTheSameText()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient plain = await server.TelnetAsync();
        await plain.Lines.WaitForAsync("Welcome");
        await using RawTelnetClient compressed = await RawTelnetClient.ConnectAsync(server.Telnet);
        await compressed.WaitForAsync([Iac, Will, Mccp2]);
        await compressed.WaitForAsync("Welcome"u8.ToArray());
        await compressed.SendAsync(Iac, Do, Mccp2);
        await compressed.WaitForAsync([Iac, Sb, Mccp2, Iac, Se]);

        // Each write is flushed: a message arrives whole without waiting for more.
        await compressed.SendLineAsync("say hello from the compressed side");
        await compressed.WaitForInflatedAsync("You say: hello from the compressed side\r\n");
        Assert.That(await plain.Lines.WaitForAsync("hello from"), Does.EndWith("says: hello from the compressed side"));
        await plain.SendAsync("say caf\u00E9 for everyone, " + new string('x', 3000));
        string seen = await plain.Lines.WaitForAsync("You say: ");
        await compressed.WaitForInflatedAsync("says: " + seen["You say: ".Length..] + "\r\n");
        Assert.That(compressed.Received.Length, Is.LessThan(compressed.Inflated.Length), "the stream is compressed");
        Assert.That(Encoding.UTF8.GetString(compressed.Inflated), Does.Contain("says: caf\u00E9 for everyone, xxx"));

        // A client's MCCP2 subnegotiation is malformed (only the server sends one): a clear answer, compression goes on.
        await compressed.SendAsync(Iac, Sb, Mccp2, 1, 2, 3, Iac, Se);
        await compressed.WaitForInflatedAsync("a client does not subnegotiate it");
        await compressed.SendLineAsync("echo still compressed");
        await compressed.WaitForInflatedAsync("still compressed");
        Assert.That(compressed.InflateError, Is.Null);
    }

    [Test]
    public async Task Mccp2EndsCleanlyWhenTheClientTurnsItOffAndIsOfferedOnlyOnce()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawTelnetClient client = await RawTelnetClient.ConnectAsync(server.Telnet);
        await client.WaitForAsync("Welcome"u8.ToArray());
        await client.SendAsync(Iac, Do, Mccp2, Iac, Do, Mccp2); // the second DO is an acknowledgement: no second start
        await client.SendLineAsync("echo compressed");
        await client.WaitForInflatedAsync("compressed\r\n");
        await client.SendAsync(Iac, Dont, Mccp2);
        await client.SendLineAsync("echo plain again");
        await client.WaitForAsync([Iac, Wont, Mccp2, .. "plain again\r\n"u8]); // the stream ended, then the answer came as it is
        byte[] received = client.Received;
        Assert.That(Occurrences(received, [Iac, Sb, Mccp2, Iac, Se]), Is.EqualTo(1));
        await Poll.UntilAsync(() => client.InflateError is null && Encoding.UTF8.GetString(client.Inflated).EndsWith("compressed\r\n"),
            $"the compressed stream's clean end ({client.InflateError?.Message}: '{Encoding.UTF8.GetString(client.Inflated)}')");
    }

    [Test]
    public async Task AnEndlessSubnegotiationIsReportedOnceAndTheSessionRecovers()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient other = await server.TelnetAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        await other.Lines.WaitForAsync("Welcome");

        await client.SendRawAsync([Iac, Do, Gmcp, Iac, Sb, Gmcp, .. Enumerable.Repeat((byte)'x', 3000)]);
        await client.SendRawAsync([.. Enumerable.Repeat((byte)'y', 3000)]); // past the 4096-byte cap, across reads
        Assert.That(await client.Lines.NextAsync(), Does.StartWith("A telnet subnegotiation (option 201) passed 4096 bytes without ending"));
        await client.SendRawAsync([.. Enumerable.Repeat((byte)'z', 100_000)]);
        await other.SendAsync("echo others are served");
        await other.Lines.WaitForAsync("others are served");

        await client.SendRawAsync([Iac, Se, .. "echo back\r\n"u8]);
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("back"));
        Assert.That(server.TestModule.Inputs.Select(i => i.Line).Where(l => l.Contains('x') || l.Contains('z')), Is.Empty);
    }

    [Test]
    public async Task GmcpCoreIsAnsweredByTheServerAndStandardPackagesGoOnlyToClientsThatAskedForThem()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        await client.SendRawAsync([Iac, Do, Gmcp]);
        await SendGmcpAsync(client, "Core.Hello {\"client\":\"Mudlet\",\"version\":\"4.17.2\"}");
        await SendGmcpAsync(client, "Core.Supports.Set [\"Char 1\",\"Room 1\",\"Comm.Channel 1\"]");
        await SendGmcpAsync(client, "Core.Supports.Remove [\"Char\"]");
        await SendGmcpAsync(client, "Core.Supports.Add [\"Char.Items 1\"]");
        await client.SendAsync("client");
        Assert.That(await client.Lines.NextAsync(), Does.Contain("name=Mudlet version=4.17.2").And.EndWith("gmcp=Char.Items,Comm.Channel,Room"));
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Is.EqualTo(new[] { "client" }), "Core messages never reach the game");

        await SendGmcpAsync(client, "Core.Ping");
        await client.WaitForCommandAsync([Iac, Sb, Gmcp, .. "Core.Ping"u8, Iac, Se]);

        foreach (string package in new[] { "Room.Info", "Char.Vitals", "Comm.Channel.Text", "Char.Items.List", "Game.Own" })
        {
            await client.SendAsync($"std {package} {{}}");
            await client.Lines.WaitForAsync("std sent");
        }

        string[] packages = [.. client.Commands.Where(c => c.Length > 5 && c[2] == Gmcp).Select(c => Encoding.UTF8.GetString(c[3..^2]).Split(' ')[0])];
        Assert.That(packages, Is.EqualTo(new[]
        {
            "Core.Ping", "Room.Info", "Room.Info.Group", "Comm.Channel.Text", "Comm.Channel.Text.Group",
            "Char.Items.List", "Char.Items.List.Group", "Game.Own", "Game.Own.Group",
        }));
    }

    [Test]
    public async Task AGroupWantsAPackageOnlyWhileAMemberTakesIt()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient plain = await server.TelnetAsync();
        await plain.Lines.WaitForAsync("Welcome");
        await AssertWantsAsync(plain, "Room.Info", false);
        await AssertWantsAsync(plain, "Test.Custom", false);

        await using TelnetTestClient mapper = await server.TelnetAsync();
        await mapper.Lines.WaitForAsync("Welcome");
        await mapper.SendRawAsync([Iac, Do, Gmcp]);
        await SendGmcpAsync(mapper, "Core.Supports.Set [\"Room 1\"]");
        await mapper.SendAsync("client");
        await mapper.Lines.WaitForAsync("gmcp=Room"); // the server has taken the modules
        await AssertWantsAsync(plain, "Room.Info", true);
        await AssertWantsAsync(plain, "Test.Custom", true); // not a standard package: any client that takes out-of-band data
        await AssertWantsAsync(plain, "Char.Vitals", false); // a standard package of a module nobody asked for

        await mapper.DisposeAsync();
        await Poll.UntilAsync(async () =>
        {
            await plain.SendAsync("wants Room.Info");
            return await plain.Lines.NextAsync() == "wants Room.Info=False";
        }, "the group no longer wants Room.Info once its GMCP client has gone");
    }

    private static async Task AssertWantsAsync(TelnetTestClient client, string package, bool expected)
    {
        await client.SendAsync($"wants {package}");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo($"wants {package}={expected}"));
    }

    [TestCase("Test.Thing {\"a\":", "GMCP Test.Thing: the data is not valid JSON")]
    [TestCase("Core.Supports.Set {\"Char\":1}", "GMCP Core.Supports.Set needs a JSON array of \"Module version\" strings")]
    [TestCase("Core.Supports.Set [\"Char 1\",7]", "GMCP Core.Supports.Set needs a JSON array")]
    [TestCase("Core.Hello [1]", "GMCP Core.Hello needs {\"client\":\"name\",\"version\":\"1.0\"}")]
    [TestCase("Core.Hello nope", "GMCP Core.Hello: the data is not valid JSON")]
    public async Task InvalidGmcpGetsAClearAnswerAndReachesNobody(string message, string answer)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        await client.SendRawAsync([Iac, Do, Gmcp]);
        await SendGmcpAsync(client, message);
        Assert.That(await client.Lines.NextAsync(), Does.StartWith(answer));
        await client.SendAsync("client");
        Assert.That(await client.Lines.NextAsync(), Does.EndWith("gmcp="));
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Is.EqualTo(new[] { "client" }));
    }

    private static Task SendGmcpAsync(TelnetTestClient client, string message) =>
        client.SendRawAsync([Iac, Sb, Gmcp, .. Encoding.UTF8.GetBytes(message), Iac, Se]);

    private static int Count(TelnetTestClient client, byte[] command) => client.Commands.Count(c => c.AsSpan().SequenceEqual(command));

    private static int Occurrences(byte[] haystack, byte[] needle)
    {
        int count = 0;
        for (int at = 0; (at = haystack.AsSpan(at).IndexOf(needle)) >= 0; count++)
        {
            at += needle.Length;
        }

        return count;
    }

    /// <summary>The payload of the first complete <c>IAC SB option ... IAC SE</c> in <paramref name="bytes"/>.</summary>
    private static byte[]? Subnegotiation(byte[] bytes, byte option)
    {
        int start = bytes.AsSpan().IndexOf([Iac, Sb, option]);
        if (start < 0)
        {
            return null;
        }

        int end = bytes.AsSpan(start).IndexOf([Iac, Se]);
        return end < 0 ? null : bytes[(start + 3)..(start + end)];
    }

    private static Dictionary<string, string> ParseMssp(byte[] payload)
    {
        var variables = new Dictionary<string, string>();
        string? name = null;
        var current = new List<byte>();
        foreach (byte b in payload.Append(MsspVar))
        {
            if (b is MsspVar or MsspVal)
            {
                string text = Encoding.UTF8.GetString([.. current]);
                if (b == MsspVal)
                {
                    name = text;
                }
                else if (name is not null)
                {
                    variables[name] = text;
                }

                current.Clear();
            }
            else
            {
                current.Add(b);
            }
        }

        return variables;
    }
}
