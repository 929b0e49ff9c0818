using System.Net;
using System.Text;
using Dominance.Api;
using Dominance.Portal;
using Dominance.Portal.Telnet;

namespace Dominance.Tests.Portal;

/// <summary>The pure parts of the MUD protocols, one at a time: the MTTS cycle, charset choice, rendering, GMCP modules.</summary>
public sealed class MudProtocolPartsTests
{
    private static SessionInfo Info() => new() { Id = new SessionId(1), Protocol = ClientProtocol.Telnet, RemoteAddress = IPAddress.Loopback, ConnectedAt = DateTimeOffset.UnixEpoch };

    [Test]
    public void TheMttsCycleTakesNameTerminalAndFlagsAndStopsAfterThree()
    {
        var cycle = new TerminalTypeCycle();
        SessionInfo info = Info();
        Assert.That(cycle.Take("MUDLET", ref info), Is.True);
        Assert.That(cycle.Take("ANSI-TRUECOLOR", ref info), Is.True);
        Assert.That(cycle.Take("MTTS 2893", ref info), Is.False);
        Assert.That((info.ClientName, info.TerminalType, info.Mtts), Is.EqualTo(("MUDLET", "ANSI-TRUECOLOR", (MttsFlags?)(MttsFlags)2893)));
        Assert.That(cycle.Take("MTTS 1", ref info), Is.False, "nothing after the cycle");
        Assert.That(info.Mtts, Is.EqualTo((MttsFlags)2893));
    }

    [Test]
    public void AClientWithoutMttsStopsWhenItRepeatsAndAThirdAnswerEndsItAnyway()
    {
        var cycle = new TerminalTypeCycle();
        SessionInfo info = Info();
        Assert.That(cycle.Take("xterm", ref info) && !cycle.Take("XTERM", ref info), Is.True);
        Assert.That((info.ClientName, info.TerminalType, info.Mtts), Is.EqualTo(("xterm", "xterm", (MttsFlags?)null)));

        var odd = new TerminalTypeCycle();
        info = Info();
        Assert.That(odd.Take("A", ref info) && odd.Take("B", ref info) && !odd.Take("C", ref info) && odd.Done, Is.True);
        Assert.That(info.TerminalType, Is.EqualTo("C"));
    }

    [TestCase(69, ColorSupport.None)]
    [TestCase(4, ColorSupport.None)]
    [TestCase(5, ColorSupport.Ansi16)]
    [TestCase(13, ColorSupport.Ansi256)]
    [TestCase(269, ColorSupport.TrueColor)]
    public void ColoursFollowTheMttsFlags(int flags, ColorSupport expected) =>
        Assert.That((Info() with { Mtts = (MttsFlags)flags, TerminalType = "XTERM-256COLOR" }).Colors, Is.EqualTo(expected));

    [TestCase(null, ColorSupport.Ansi16)]
    [TestCase("XTERM-256COLOR", ColorSupport.Ansi256)]
    [TestCase("xterm-truecolor", ColorSupport.TrueColor)]
    [TestCase("DUMB", ColorSupport.None)]
    public void WithoutMttsColoursFollowTheTerminalType(string? terminal, ColorSupport expected) =>
        Assert.That((Info() with { TerminalType = terminal }).Colors, Is.EqualTo(expected));

    [TestCase(";UTF-8;ISO-8859-1", "UTF-8")]
    [TestCase(" KOI8-R latin1", "ISO-8859-1")]
    [TestCase("[TTABLE]\u0001;ISO-8859-1;UTF8", "UTF-8")]
    [TestCase(";KOI8-R;CP1252", null)]
    [TestCase(";", null)]
    [TestCase("", null)]
    public void PicksUtf8FirstThenLatin1FromAClientsRequest(string request, string? expected) =>
        Assert.That(CharsetChoice.Pick(Encoding.ASCII.GetBytes(request)), Is.EqualTo(expected));

    [Test]
    public void RenderingRemovesColourCodesAndConvertsToLatin1()
    {
        byte[] text = Encoding.UTF8.GetBytes("\u001b[1;33mcaf\u00E9\u001b[0m \u20AC \u001b[38;5;214mgold\u001b[m\u001b");
        byte[] buffer = new byte[text.Length];
        string plain = Encoding.UTF8.GetString(buffer, 0, TextRendering.StripControlSequences(text, buffer));
        Assert.That(plain, Is.EqualTo("café € gold"));
        byte[] utf8 = Encoding.UTF8.GetBytes(plain);
        Assert.That(buffer.AsSpan(0, TextRendering.ToLatin1(utf8, buffer)).ToArray(), Is.EqualTo(Encoding.Latin1.GetBytes("café ? gold")));
        Assert.That(TextRendering.DecodeInput([0x63, 0x61, 0x66, 0xE9], latin1: false), Is.EqualTo("café"));
        Assert.That(TextRendering.DecodeInput("café"u8, latin1: false), Is.EqualTo("café"));
        Assert.That(TextRendering.DecodeInput("café"u8, latin1: true), Is.EqualTo("cafÃ©"));
    }

    [Test]
    public void StandardPackagesNeedTheirModuleOrOneAboveIt()
    {
        var modules = new HashSet<string>(["comm.channel", "Room"], StringComparer.OrdinalIgnoreCase);
        SessionInfo info = Info() with { SupportsOutOfBand = true, GmcpModules = modules };
        Assert.That(info.Wants("Comm.Channel.Text") && info.Wants("Room.Info") && info.Wants("Dominance.Map"), Is.True);
        Assert.That(info.Wants("Comm.Tell") || info.Wants("Char.Vitals") || info.Wants("Char"), Is.False);
        Assert.That((info with { SupportsOutOfBand = false }).Wants("Dominance.Map"), Is.False);
    }
}
