using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Dominance.Portal.WebSockets;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>
/// The HTTP port with WebSocket handshakes taken over at the connection level: a handshake for <c>/ws</c> is answered
/// before HTTP sees the connection, whatever pieces it arrives in; every other request is served by HTTP as before.
/// </summary>
public sealed class WebSocketTakeoverTests
{
    [Test]
    public async Task AHandshakeArrivingAByteAtATimeIsAnsweredAndTheSessionRuns()
    {
        await using TestServer server = await TestServer.StartAsync();
        using var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(server.Http);
        NetworkStream stream = tcp.GetStream();
        string key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        byte[] head = Encoding.ASCII.GetBytes(
            $"GET /ws HTTP/1.1\r\nHost: {server.Http}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: gmcp.mudstandards.org\r\n\r\n");
        foreach (byte b in head)
        {
            await stream.WriteAsync(new[] { b });
            await stream.FlushAsync();
        }

        string response = await ReadHeadAsync(stream);
        Assert.That(response, Does.StartWith("HTTP/1.1 101 Switching Protocols\r\n"));
        Assert.That(response, Does.Contain($"Sec-WebSocket-Accept: {WebSocketEndpoint.AcceptKey(key)}\r\n"));
        Assert.That(response, Does.Contain("Sec-WebSocket-Protocol: gmcp.mudstandards.org\r\n"));

        // The connection is a WebSocket now: the game's text arrives in binary frames (GMCP framing), input is taken,
        // and the close handshake completes.
        using WebSocket socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, SubProtocol = "gmcp.mudstandards.org" });
        Assert.That(await ReadTextUntilAsync(socket, "Welcome"), Does.Contain("Welcome"));
        await socket.SendAsync("say over the takeover"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.That(await ReadTextUntilAsync(socket, "You say: over the takeover"), Does.Contain("You say: over the takeover"));
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await ReadTextUntilAsync(socket, null);
        Assert.That(socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
        await Poll.UntilAsync(() => server.Server.Portal.SessionCount == 0, "the session to end");
    }

    [Test]
    public async Task EveryOtherRequestOnTheHttpPortIsServedByHttpAsBefore()
    {
        await using TestServer server = await TestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.Http}/") };

        HttpResponseMessage health = await http.GetAsync("healthz");
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // /ws without an upgrade: the endpoint's own answer.
        HttpResponseMessage plain = await http.GetAsync("ws");
        Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await plain.Content.ReadAsStringAsync(), Does.Contain("connect with a WebSocket client"));

        // Several requests on one kept-alive connection: only a connection's first request is looked at.
        HttpResponseMessage again = await http.GetAsync("healthz");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // A handshake the takeover leaves alone (the path spelled in capitals) still opens a session, through HTTP.
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{server.Http}/WS"), CancellationToken.None);
        Assert.That(await ReadTextUntilAsync(socket, "Welcome"), Does.Contain("Welcome"));
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await ReadTextUntilAsync(socket, null);
        Assert.That(socket.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
    }

    [Test]
    public async Task AHeadTheTakeoverDeclinesAfterSeveralReadsIsServedByHttp()
    {
        // A /ws request without the upgrade, a byte at a time: the takeover has to wait for more several times before
        // it can decline, and HTTP must then read the whole head again (the endpoint's 400 and its message).
        await using TestServer server = await TestServer.StartAsync();
        using var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(server.Http);
        NetworkStream stream = tcp.GetStream();
        foreach (byte b in Encoding.ASCII.GetBytes($"GET /ws HTTP/1.1\r\nHost: {server.Http}\r\nConnection: close\r\n\r\n"))
        {
            await stream.WriteAsync(new[] { b });
            await stream.FlushAsync();
        }

        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(Poll.Deadline);
        string response = await reader.ReadToEndAsync(timeout.Token);
        Assert.That(response, Does.StartWith("HTTP/1.1 400"));
        Assert.That(response, Does.Contain("connect with a WebSocket client"));
    }

    [Test]
    public async Task AConnectionThatHasNotSentItsRequestIsClosedWhenTheServerStops()
    {
        // The head's 30 s deadline must not hold a shutdown: the server asks its connections to close, and this one,
        // still waiting for its first byte, is closed at once (well inside the poll deadline, which is under 30 s).
        TestServer server = await TestServer.StartAsync();
        using var tcp = new TcpClient(AddressFamily.InterNetwork);
        await tcp.ConnectAsync(server.Http);
        await tcp.GetStream().WriteAsync("GET /ws HTTP/1.1\r\n"u8.ToArray()); // a head begun, never finished
        Task stopping = server.DisposeAsync().AsTask();
        using var timeout = new CancellationTokenSource(Poll.Deadline);
        try
        {
            // Closed or reset (if the server stopped before it took the connection), but not left open: a read that
            // waits past the poll deadline throws OperationCanceledException and fails the test.
            int read = await tcp.GetStream().ReadAsync(new byte[1], timeout.Token);
            Assert.That(read, Is.EqualTo(0), "the server closes the idle connection");
        }
        catch (IOException)
        {
        }

        await stopping.WaitAsync(Poll.Deadline);
    }

    /// <summary>Reads the response head byte by byte, so that nothing after it is taken off the stream.</summary>
    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        using var timeout = new CancellationTokenSource(Poll.Deadline);
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.That(await stream.ReadAsync(one, timeout.Token), Is.EqualTo(1), $"the server closed during the handshake: {head}");
            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    /// <summary>Reads messages until their text holds <paramref name="expected"/>, or (null) until the close frame.</summary>
    private static async Task<string> ReadTextUntilAsync(WebSocket socket, string? expected)
    {
        using var timeout = new CancellationTokenSource(Poll.Deadline);
        var text = new StringBuilder();
        byte[] buffer = new byte[8192];
        while (expected is null || !text.ToString().Contains(expected, StringComparison.Ordinal))
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                Assert.That(expected, Is.Null, $"closed before [{expected}] came; received: {text}");
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }

        return text.ToString();
    }
}
