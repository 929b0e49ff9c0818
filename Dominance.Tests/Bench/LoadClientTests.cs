using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Dominance.Bench.Load;
using Dominance.Tests.Support;

namespace Dominance.Tests.Bench;

/// <summary>
/// The load tool's raw-socket clients against a server written here byte by byte: whatever the reads cut, every
/// stamped line is counted once, what is not content is not counted, and what the server does wrong is a failure.
/// </summary>
public sealed class LoadClientTests
{
    private Socket? _stampedListener;
    private Socket? _stampedSender;
    private Socket? _stamped;

    /// <summary>
    /// Linux turns arrival stamps on for the whole machine when the first socket asks (and off when the last one that
    /// asked is closed), from a work queue, later: until it has run, reads carry no stamp. On a busy machine that can
    /// be after a test's lines arrive, which the tests would take for a read the kernel did not stamp. So one socket
    /// that asks is kept open for these tests, and they start once a read of it is stamped.
    /// </summary>
    [OneTimeSetUp]
    public async Task TheKernelStampsArrivals()
    {
        _stampedListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _stampedListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _stampedListener.Listen();
        _stamped = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await _stamped.ConnectAsync(_stampedListener.LocalEndPoint!);
        _stampedSender = await _stampedListener.AcceptAsync();
        LinuxReceive.StampArrivals(_stamped);
        await Poll.UntilAsync(() => ReadsStamped(_stamped, _stampedSender), "a read of a socket that asks for arrival stamps is stamped");
    }

    [OneTimeTearDown]
    public void CloseTheStampedSocket()
    {
        _stamped?.Dispose();
        _stampedSender?.Dispose();
        _stampedListener?.Dispose();
    }

    [Test]
    public async Task WebSocketFramesCutAnywhereAreEachCountedOnceWithTheirStampsAndAPingIsAnswered()
    {
        await using Connected connected = await Connected.OpenAsync(telnet: false);
        (Socket server, LoadClient client) = (connected.Server, connected.Client);

        Task loggingIn = client.LogInAsync(TimeSpan.FromSeconds(15));
        Assert.That(await ReadClientFrameAsync(server), Is.EqualTo((0x1, "connect guest")), "a masked text frame");
        long sent = Stopwatch.GetTimestamp();
        byte[] stream =
        [
            .. ServerFrame(0x81, "Welcome, Guest1!"),
            .. ServerFrame(0x81, $"[chat] a t={sent} s=0:0\n[chat] b t={sent} s=0:1"), // two lines in one frame
            .. ServerFrame(0x01, $"[chat] c t={sent / 1000}"), // a message in two fragments, a ping between them
            .. ServerFrame(0x89, "hi"),
            .. ServerFrame(0x80, $"{sent % 1000:D3} s=0:2"),
            .. ServerFrame(0x81, $"[chat] d t={sent} s=0:3 " + new string('x', 300)), // a 16-bit length
            .. ServerFrame(0x82, $"[chat] e t={sent} s=0:4"),
            .. ServerFrame(0x8A, "unasked pong"),
        ];
        await WriteByteByByteAsync(server, stream);

        await loggingIn;
        Assert.That(await ReadClientFrameAsync(server), Is.EqualTo((0xA, "hi")), "the ping is answered with a masked pong");
        await Poll.UntilAsync(() => client.Stamped >= 5, "every stamped line is read");
        Assert.That(client.Stamped, Is.EqualTo(5));
        Assert.That(client.Failure, Is.Null);
        AssertLatencies(client, sent);
    }

    [Test]
    public async Task AWrongHandshakeAnswerIsRefused()
    {
        using var listener = Listen();
        using var receiver = new LoadReceiver(1);
        Task<LoadClient> connecting = LoadClient.ConnectAsync(Target(listener), telnet: false, 16, receiver);
        using Socket server = await listener.AcceptSocketAsync();
        await AnswerHandshakeAsync(server, accept: Convert.ToBase64String(new byte[20]));

        IOException? refused = await Assert.ThrowsAsync<IOException>(async () => await connecting);
        Assert.That(refused!.Message, Does.Contain("refused the WebSocket handshake"));
    }

    [Test]
    public async Task SendingOnAConnectionTheServerClosedFailsTheClientInsteadOfThrowing()
    {
        await using Connected connected = await Connected.OpenAsync(telnet: false);
        (Socket server, LoadClient client) = (connected.Server, connected.Client);

        server.Close(); // the server cuts the client off, as it does a slow one
        await Poll.UntilAsync(() => client.Failure is not null, "the client saw the connection end");

        Assert.That(client.TrySend("chat after the end"), Is.False, "a send on the closed connection is refused, not thrown");
        Assert.That(client.Failure, Is.Not.Null);
    }

    [Test]
    public async Task ACloseFrameIsAFailureWithTheServersReason()
    {
        await using Connected connected = await Connected.OpenAsync(telnet: false);
        (Socket server, LoadClient client) = (connected.Server, connected.Client);

        await server.SendAsync(ServerFrame(0x88, "\u0003\u00e8going away"));

        await Poll.UntilAsync(() => client.Failure is not null, "the client fails");
        Assert.That(client.Failure, Does.Contain("closed the connection: going away"));
    }

    [Test]
    public async Task TelnetLinesCutAnywhereAreCountedOnceAndTelnetCommandsAreNotContent()
    {
        await using Connected connected = await Connected.OpenAsync(telnet: true);
        (Socket server, LoadClient client) = (connected.Server, connected.Client);

        Task loggingIn = client.LogInAsync(TimeSpan.FromSeconds(15));
        var input = new byte[64];
        int read = await server.ReceiveAsync(input);
        Assert.That(Encoding.UTF8.GetString(input, 0, read), Is.EqualTo("connect guest\r\n"));
        long sent = Stopwatch.GetTimestamp();
        byte[] stream =
        [
            255, 251, 86, // IAC WILL COMPRESS2
            .. "Welcome, Guest1!\r\n"u8,
            255, 250, 201, .. "Comm.Channel {\"text\":\"t=1\"}\n"u8, 255, 240, // a subnegotiation: not a line (counted, its stamp would be far out of range)
            .. Encoding.ASCII.GetBytes($"[chat] a t={sent} s=0:0 "), 255, 255, 255, 249, .. "\r\n"u8, // IAC IAC, then IAC GA in the line
            .. Encoding.ASCII.GetBytes($"[chat] b t={sent} s=0:1\r\n"),
        ];
        await WriteByteByByteAsync(server, stream);

        await loggingIn;
        await Poll.UntilAsync(() => client.Stamped >= 2, "both stamped lines are read");
        AssertLatencies(client, sent);
    }

    [TestCase(false, TestName = "An MCCP client asks for compression and counts the lines it inflates, the reads cut at every byte")]
    [TestCase(true, TestName = "An MCCP client asks for compression and counts the lines it inflates, compression starting within a read")]
    public async Task AnMccpClientAsksForCompressionAndCountsTheLinesItInflates(bool oneWrite)
    {
        await using Connected connected = await Connected.OpenAsync(telnet: true, mccp: true);
        (Socket server, LoadClient client) = (connected.Server, connected.Client);

        Task loggingIn = client.LogInAsync(TimeSpan.FromSeconds(15));
        Assert.That(Encoding.UTF8.GetString(await ReadExactlyAsync(server, 15)), Is.EqualTo("connect guest\r\n"));
        await WriteByteByByteAsync(server, [255, 251, 201, 255, 251, 86, 255, 251, 86]); // IAC WILL GMCP (not answered), IAC WILL COMPRESS2 twice
        Assert.That(await ReadExactlyAsync(server, 3), Is.EqualTo(new byte[] { 255, 253, 86 }), "IAC DO COMPRESS2");

        long sent = Stopwatch.GetTimestamp();
        var compressed = new MemoryStream();
        using (var zlib = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write("Welcome, Guest1!\r\n"u8);
            zlib.Flush(); // a sync flush, as the server's after each write
            zlib.Write([255, 250, 201, .. "Comm.Channel {\"text\":\"t=1\"}"u8, 255, 240]); // not content
            zlib.Write([.. Encoding.ASCII.GetBytes($"[chat] a t={sent} s=0:0 "), 255, 255, .. "\r\n"u8]);
            zlib.Flush();
            zlib.Write(Encoding.ASCII.GetBytes($"[chat] b t={sent} s=0:1\r\n"));
        }

        byte[] stream = [255, 250, 86, 255, 240, .. compressed.ToArray()]; // IAC SB COMPRESS2 IAC SE, then the stream to its end
        if (oneWrite)
        {
            await server.SendAsync(stream); // one read (loopback): plain text and compressed bytes in the same read
        }
        else
        {
            await WriteByteByByteAsync(server, stream);
        }

        await loggingIn;
        await Poll.UntilAsync(() => client.Stamped >= 2, "both stamped lines are inflated and read");
        Assert.That(client.Stamped, Is.EqualTo(2));
        Assert.That(client.Failure, Is.Null);
        AssertLatencies(client, sent); // the subnegotiation's "t=1" in a line would be a latency far out of range
        Assert.That(client.Compressed, Is.True);
        Assert.That(server.Available, Is.Zero, "the repeated offer was not answered again (the answer would have been sent before the lines were read)");
    }

    [Test]
    public async Task AnMccpStreamThatIsNotZlibIsAFailure()
    {
        await using Connected connected = await Connected.OpenAsync(telnet: true, mccp: true);
        (Socket server, LoadClient client) = (connected.Server, connected.Client);

        await server.SendAsync(new byte[] { 255, 251, 86 });
        Assert.That(await ReadExactlyAsync(server, 3), Is.EqualTo(new byte[] { 255, 253, 86 }));
        await server.SendAsync((byte[])[255, 250, 86, 255, 240, .. "Welcome, Guest1!\r\n"u8]); // the marker, then plain text

        await Poll.UntilAsync(() => client.Failure is not null, "the client gave up on the stream");
        Assert.That(client.Failure, Does.Contain("not valid zlib"));
        Assert.That(client.Stamped, Is.Zero);
    }

    /// <summary>Each latency runs from the stamp to the read, and its part until the kernel's arrival stamp is within it.</summary>
    private static void AssertLatencies(LoadClient client, long sent)
    {
        long elapsed = Stopwatch.GetTimestamp() - sent;
        long tolerance = Stopwatch.Frequency / 1000; // the kernel stamps on another clock: converted to within a millisecond
        Assert.That(client.Latencies, Has.Count.EqualTo(client.Stamped).And.All.InRange(0, elapsed), "from the stamp, parsed whole, to the read");
        Assert.That(client.Arrivals, Has.Count.EqualTo(client.Stamped).And.All.InRange(-tolerance, elapsed), "the kernel stamped each read");
        Assert.That(client.Arrivals.Zip(client.Latencies).All(a => a.First <= a.Second + tolerance), "the bytes arrived before they were read");
    }

    /// <summary>A client of the load tool connected to a server socket of the test's own (the WebSocket handshake answered).</summary>
    private sealed class Connected : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly LoadReceiver _receiver;

        private Connected(TcpListener listener, LoadReceiver receiver, Socket server, LoadClient client) =>
            (_listener, _receiver, Server, Client) = (listener, receiver, server, client);

        public Socket Server { get; }

        public LoadClient Client { get; }

        public static async Task<Connected> OpenAsync(bool telnet, bool mccp = false)
        {
            TcpListener listener = Listen();
            var receiver = new LoadReceiver(1);
            Task<LoadClient> connecting = LoadClient.ConnectAsync(Target(listener), telnet, 16, receiver, mccp);
            Socket server = await listener.AcceptSocketAsync();
            if (!telnet)
            {
                await AnswerHandshakeAsync(server, accept: null);
            }

            return new Connected(listener, receiver, server, await connecting);
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            Server.Dispose();
            _receiver.Dispose();
            _listener.Dispose();
        }
    }

    private static TcpListener Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private static LoadTarget Target(TcpListener listener)
    {
        var endpoint = (IPEndPoint)listener.LocalEndpoint;
        return new LoadTarget("test", endpoint, endpoint, null);
    }

    /// <summary>Reads the client's handshake and answers 101 with the right accept key, or <paramref name="accept"/>.</summary>
    private static async Task AnswerHandshakeAsync(Socket server, string? accept)
    {
        var head = new StringBuilder();
        var buffer = new byte[1024];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int read = await server.ReceiveAsync(buffer);
            Assert.That(read, Is.GreaterThan(0), "the client sent its whole handshake");
            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        string[] lines = head.ToString().Split("\r\n");
        Assert.That(lines[0], Is.EqualTo("GET /ws HTTP/1.1"));
        Assert.That(lines, Does.Contain("Upgrade: websocket").And.Contain("Connection: Upgrade").And.Contain("Sec-WebSocket-Version: 13"));
        string key = lines.Single(l => l.StartsWith("Sec-WebSocket-Key: ", StringComparison.Ordinal))["Sec-WebSocket-Key: ".Length..];
        accept ??= Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        await server.SendAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
    }

    /// <summary>Reads one frame from the client, which must be masked; returns its opcode and unmasked text.</summary>
    private static async Task<(int Opcode, string Text)> ReadClientFrameAsync(Socket server)
    {
        byte[] header = await ReadExactlyAsync(server, 2);
        Assert.That(header[1] & 0x80, Is.EqualTo(0x80), "a client's frame is masked");
        Assert.That(header[1] & 0x7F, Is.LessThan(126));
        byte[] mask = await ReadExactlyAsync(server, 4);
        byte[] payload = await ReadExactlyAsync(server, header[1] & 0x7F);
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] ^= mask[i & 3];
        }

        return (header[0] & 0x0F, Encoding.UTF8.GetString(payload));
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        byte[] bytes = new byte[count];
        for (int read = 0; read < count;)
        {
            int n = await socket.ReceiveAsync(bytes.AsMemory(read));
            Assert.That(n, Is.GreaterThan(0), "the client sent the whole frame");
            read += n;
        }

        return bytes;
    }

    /// <summary>An unmasked frame: <paramref name="first"/> is FIN and the opcode.</summary>
    private static byte[] ServerFrame(byte first, string text)
    {
        byte[] payload = Encoding.Latin1.GetBytes(text);
        byte[] length = payload.Length < 126 ? [(byte)payload.Length] : [126, (byte)(payload.Length >> 8), (byte)payload.Length];
        return [first, .. length, .. payload];
    }

    /// <summary>
    /// Sends <paramref name="stream"/> one byte per <c>send</c> (Nagle off), yielding between them, so that the
    /// client's reads end at every kind of place: in a frame's header, its length, its payload, a line, a telnet command.
    /// </summary>
    private static async Task WriteByteByByteAsync(Socket server, byte[] stream)
    {
        server.NoDelay = true;
        for (int i = 0; i < stream.Length; i++)
        {
            await server.SendAsync(stream.AsMemory(i, 1));
            await Task.Yield();
        }
    }

    /// <summary>Sends one byte to <paramref name="socket"/> (blocking) and reads it: whether the read carried the kernel's arrival stamp.</summary>
    private static unsafe bool ReadsStamped(Socket socket, Socket sender)
    {
        sender.Send([1]);
        byte one;
        return LinuxReceive.Receive((int)socket.Handle, &one, 1, out long arrived) == 1 && arrived != 0;
    }
}
