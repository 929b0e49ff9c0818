using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Portal;

/// <summary>What MUD clients get over WebSocket: raw telnet (<c>telnet.mudstandards.org</c>), and prompts and the echo switch on plain WebSocket.</summary>
public sealed class WebSocketMudTests
{
    [Test]
    public async Task TheTelnetSubprotocolIsRawTelnetInBinaryFramesBothWays()
    {
        await using TestServer server = await TestServer.StartAsync();
        using ClientWebSocket socket = await ConnectAsync(server, "telnet.mudstandards.org");
        Assert.That(socket.SubProtocol, Is.EqualTo("telnet.mudstandards.org"));
        var received = new List<byte>();
        await ReadUntilAsync(socket, received, "Welcome"u8.ToArray());
        Assert.That(received.ToArray().AsSpan().IndexOf([Iac, Will, Mccp2]), Is.GreaterThanOrEqualTo(0), "telnet negotiation comes first");

        // A command split across two frames, negotiation in the same stream, and a prompt ended by EOR.
        await SendAsync(socket, [Iac, Do, Eor, .. "ech"u8]);
        await SendAsync(socket, [.. "o over websocket\r\nprompt > \r\n"u8]);
        await ReadUntilAsync(socket, received, [.. "over websocket\r\n> "u8, Iac, EndOfRecord]);
        await SendAsync(socket, [.. "client\r\n"u8]);
        await ReadUntilAsync(socket, received, "prompts=True"u8.ToArray());

        // Compression works inside WebSocket too: the switch arrives, and the server keeps serving.
        await SendAsync(socket, [Iac, Do, Mccp2]);
        await ReadUntilAsync(socket, received, [Iac, Sb, Mccp2, Iac, Se]);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await Poll.UntilAsync(() => server.Server.Portal.SessionCount == 0, "the session to end");
    }

    [Test]
    public async Task ATelnetSubprotocolClientThatClosesFirstGetsTheCloseFrameBackEvenWhileCompressing()
    {
        await using TestServer server = await TestServer.StartAsync();
        using ClientWebSocket socket = await ConnectAsync(server, "telnet.mudstandards.org");
        var received = new List<byte>();
        await ReadUntilAsync(socket, received, "Welcome"u8.ToArray());
        await SendAsync(socket, [Iac, Do, Mccp2]);
        await ReadUntilAsync(socket, received, [Iac, Sb, Mccp2, Iac, Se]);

        // CloseAsync sends the client's close frame and waits for the server's (a dropped connection throws).
        using var timeout = new CancellationTokenSource(Poll.Deadline);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        Assert.That((socket.State, socket.CloseStatus), Is.EqualTo((WebSocketState.Closed, (WebSocketCloseStatus?)WebSocketCloseStatus.NormalClosure)));
        await Poll.UntilAsync(() => server.Server.Portal.SessionCount == 0, "the session to end");
    }

    [Test]
    public async Task ATelnetSubprotocolClientThatNeverAnswersTheServersCloseFrameIsCutOffAndItsSeatFreed()
    {
        // A raw client: it reads everything, sends "quit", takes the server's close frame and never answers it.
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.MaxConnections = 1);
        using var tcp = new TcpClient(AddressFamily.InterNetwork);
        await tcp.ConnectAsync(server.Http);
        NetworkStream stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /ws HTTP/1.1\r\nHost: {server.Http}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {Convert.ToBase64String(Guid.NewGuid().ToByteArray())}\r\nSec-WebSocket-Version: 13\r\n" +
            "Sec-WebSocket-Protocol: telnet.mudstandards.org\r\n\r\n"));
        var received = new List<byte>();
        Task<bool> closedByServer = Task.Run(async () =>
        {
            byte[] buffer = new byte[8192];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer)) > 0)
                {
                    lock (received)
                    {
                        received.AddRange(buffer.AsSpan(0, n));
                    }
                }
            }
            catch (IOException)
            {
                // reset: closed all the same
            }

            return true;
        });
        bool Received(ReadOnlySpan<byte> bytes)
        {
            lock (received)
            {
                return received.ToArray().AsSpan().IndexOf(bytes) >= 0;
            }
        }

        await Poll.UntilAsync(() => Received("Welcome"u8), "the welcome");
        byte[] mask = [1, 2, 3, 4];
        byte[] quit = [.. "quit\r\n"u8];
        await stream.WriteAsync((byte[])[0x82, (byte)(0x80 | quit.Length), .. mask, .. quit.Select((b, i) => (byte)(b ^ mask[i % 4]))]);
        await Poll.UntilAsync(() => Received([0x88]), "the server's close frame");

        Assert.That(await closedByServer.WaitAsync(Poll.Deadline), Is.True, "the server gives up on the close handshake and closes the connection");
        await using TelnetTestClient next = await server.TelnetAsync();
        Assert.That(await next.Lines.NextAsync(), Does.Contain("Welcome"), "the only seat was given back");
    }

    [Test]
    public async Task PlainWebSocketGetsTheEchoSwitchAndPromptsAsMessagesOfTheirOwn()
    {
        await using TestServer server = await TestServer.StartAsync();
        using ClientWebSocket socket = await ConnectAsync(server, null);
        Assert.That(await NextTextAsync(socket), Does.StartWith("Welcome"));

        await socket.SendAsync("echooff"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.That(await NextTextAsync(socket), Is.EqualTo("\u001b]echo;off\u0007"));
        await socket.SendAsync("echoon"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.That(await NextTextAsync(socket), Is.EqualTo("\u001b]echo;on\u0007"));
        await socket.SendAsync("prompt HP 10> "u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.That(await NextTextAsync(socket), Is.EqualTo("HP 10> "));
    }

    private static async Task<ClientWebSocket> ConnectAsync(TestServer server, string? subprotocol)
    {
        var socket = new ClientWebSocket();
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        await socket.ConnectAsync(new Uri($"ws://{server.Http}/ws"), CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, byte[] bytes) =>
        socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);

    private static async Task ReadUntilAsync(ClientWebSocket socket, List<byte> received, byte[] expected)
    {
        using var timeout = new CancellationTokenSource(Poll.Deadline);
        byte[] buffer = new byte[8192];
        while (received.ToArray().AsSpan().IndexOf(expected) < 0)
        {
            try
            {
                WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, timeout.Token);
                Assert.That(result.MessageType, Is.EqualTo(WebSocketMessageType.Binary));
                received.AddRange(buffer.AsSpan(0, result.Count));
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Timed out waiting for [{Encoding.Latin1.GetString(expected)}]; received: {Encoding.Latin1.GetString([.. received])}");
            }
        }
    }

    private static async Task<string> NextTextAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Poll.Deadline);
        byte[] buffer = new byte[8192];
        var message = new List<byte>();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            message.AddRange(buffer.AsSpan(0, result.Count));
        }
        while (!result.EndOfMessage);
        Assert.That(result.MessageType, Is.EqualTo(WebSocketMessageType.Text));
        return Encoding.UTF8.GetString([.. message]);
    }
}
