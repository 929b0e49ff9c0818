using System.Buffers;
using System.Text;
using Dominance.Portal.WebSockets;
using static Dominance.Portal.WebSockets.WebSocketRequestHead;

namespace Dominance.Tests.Portal;

/// <summary>Which first requests the connection-level WebSocket takeover answers itself, and which it leaves to HTTP.</summary>
public sealed class WebSocketRequestHeadTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    private static string Head(string target = "/ws", string extra = "", string version = "HTTP/1.1") =>
        $"GET {target} {version}\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
        $"Sec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n";

    [Test]
    public void AHandshakeForWsIsReadWithItsSubprotocolsAndResumeToken()
    {
        string head = Head("/ws?x=1&resume=a%2Bb", "Sec-WebSocket-Protocol: telnet.mudstandards.org, gmcp.mudstandards.org\r\n");
        byte[] bytes = Encoding.ASCII.GetBytes(head + "\x81\x80rest");
        Assert.That(Read(new ReadOnlySequence<byte>(bytes), out WebSocketRequest? request), Is.EqualTo(Verdict.Upgrade));
        Assert.That(request!.HeadLength, Is.EqualTo(head.Length), "what follows the head is left for the WebSocket");
        Assert.That(request.Key, Is.EqualTo(Key));
        Assert.That(request.Protocols, Is.EqualTo(new[] { "telnet.mudstandards.org", "gmcp.mudstandards.org" }));
        Assert.That(request.Resume, Is.EqualTo("a+b"));
        Assert.That(WebSocketEndpoint.ChooseSubprotocol(request.Protocols.ToList()), Is.EqualTo("gmcp.mudstandards.org"));
    }

    [Test]
    public void AHeadSplitAcrossBlocksOrStillArrivingIsWaitedFor()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Head());
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Assert.That(Read(new ReadOnlySequence<byte>(bytes, 0, cut), out _), Is.EqualTo(Verdict.NeedMore), $"the first {cut} bytes");
            Assert.That(Read(Split(bytes, cut), out WebSocketRequest? request), Is.EqualTo(Verdict.Upgrade), $"split at {cut}");
            Assert.That(request!.HeadLength, Is.EqualTo(bytes.Length));
        }
    }

    [TestCase("POST /ws HTTP/1.1\r\n", TestName = "Another method is HTTP's at its first byte")]
    [TestCase("GET / HTTP/1.1\r\n", TestName = "Another path is HTTP's")]
    [TestCase("GET /wsx HTTP/1.1\r\n", TestName = "A path that only starts with /ws is HTTP's")]
    [TestCase("\x16\x03\x01", TestName = "TLS is HTTP's (Kestrel's) to refuse")]
    public void WhatIsNotAWsRequestGoesToHttpAtOnce(string start)
    {
        Assert.That(Read(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(start)), out _), Is.EqualTo(Verdict.NotOurs));
    }

    [TestCase("/ws/", "", "HTTP/1.1", TestName = "A subpath is HTTP's")]
    [TestCase("/WS", "", "HTTP/1.1", TestName = "Another spelling of the path is HTTP's")]
    [TestCase("/ws", "", "HTTP/1.0", TestName = "HTTP/1.0 is HTTP's")]
    [TestCase("/ws", "Content-Length: 0\r\n", "HTTP/1.1", TestName = "A request with a body is HTTP's")]
    [TestCase("/ws", "Host: twice\r\n", "HTTP/1.1", TestName = "Two Host headers are HTTP's")]
    [TestCase("/ws", "Upgrade: websocket\r\n", "HTTP/1.1", TestName = "Two Upgrade headers are HTTP's")]
    [TestCase("/ws", " folded\r\n", "HTTP/1.1", TestName = "A folded header line is HTTP's")]
    [TestCase("/ws", "X-Name: caf\u00e9\r\n", "HTTP/1.1", TestName = "A byte outside ASCII is HTTP's")]
    public void AnythingUnusualInAWsRequestIsLeftToHttp(string target, string extra, string version)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(Head(target, extra, version));
        Assert.That(Read(new ReadOnlySequence<byte>(bytes), out WebSocketRequest? request), Is.EqualTo(Verdict.NotOurs));
        Assert.That(request, Is.Null);
    }

    [TestCase("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 8\r\n", TestName = "Another WebSocket version is HTTP's")]
    [TestCase("Sec-WebSocket-Key: " + Key + "\r\n", "", TestName = "A handshake without a key is HTTP's")]
    [TestCase(Key, "c2hvcnQ=", TestName = "A key that is not 16 bytes is HTTP's")]
    [TestCase("Upgrade: websocket\r\n", "Upgrade: h2c\r\n", TestName = "Another upgrade is HTTP's")]
    [TestCase("Connection: keep-alive, Upgrade\r\n", "Connection: keep-alive\r\n", TestName = "A request without Connection: upgrade is HTTP's")]
    [TestCase("GET /ws HTTP/1.1\r\nHost: localhost\r\n", "GET /ws HTTP/1.1\r\n", TestName = "A request without a Host is HTTP's")]
    public void AnIncompleteHandshakeIsLeftToHttp(string replace, string with)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Head().Replace(replace, with));
        Assert.That(Read(new ReadOnlySequence<byte>(bytes), out _), Is.EqualTo(Verdict.NotOurs));
    }

    [Test]
    public void AHeadLongerThanTheLimitIsLeftToHttp()
    {
        string padding = "X-Padding: " + new string('p', MaxLength) + "\r\n";
        byte[] bytes = Encoding.ASCII.GetBytes(Head(extra: padding));
        Assert.That(Read(new ReadOnlySequence<byte>(bytes, 0, MaxLength - 1), out _), Is.EqualTo(Verdict.NeedMore));
        Assert.That(Read(new ReadOnlySequence<byte>(bytes), out _), Is.EqualTo(Verdict.NotOurs));
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int at)
    {
        var first = new Segment(bytes.AsMemory(0, at));
        Segment last = first.Append(bytes.AsMemory(at));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
