using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace Dominance.Tests.Support;

/// <summary>
/// A WebSocket client over a real socket. Game text (text frames, or binary frames with the GMCP subprotocol) is split
/// into <see cref="Lines"/>; GMCP messages go to <see cref="Data"/>.
/// </summary>
internal sealed class WebSocketTestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly Task _reader;
    private readonly bool _gmcp;
    private bool _closing;

    private WebSocketTestClient(ClientWebSocket socket, bool gmcp)
    {
        _socket = socket;
        _gmcp = gmcp;
        _reader = Task.Run(ReadAsync);
    }

    public LineQueue Lines { get; } = new();

    /// <summary>GMCP messages received ("Package.Name json").</summary>
    public LineQueue Data { get; } = new();

    /// <summary>The close status the server sent, once closed.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>Why the read loop ended, if not by a close frame.</summary>
    public Exception? ReadError { get; private set; }

    /// <summary>Connects to <c>/ws</c>, with the GMCP subprotocol if <paramref name="gmcp"/>, presenting <paramref name="resume"/> if given.</summary>
    public static async Task<WebSocketTestClient> ConnectAsync(IPEndPoint http, bool gmcp = false, string? resume = null)
    {
        var socket = new ClientWebSocket();
        if (gmcp)
        {
            socket.Options.AddSubProtocol("gmcp.mudstandards.org");
        }

        string query = resume is null ? "" : "?resume=" + Uri.EscapeDataString(resume);
        await socket.ConnectAsync(new Uri($"ws://{http}/ws{query}"), CancellationToken.None);
        return new WebSocketTestClient(socket, gmcp);
    }

    /// <summary>
    /// Opens a WebSocket at <paramref name="path"/> (<c>/ws</c>; <c>/WS</c> is served through HTTP instead of the
    /// connection-level takeover) over a plain TCP connection, offering <paramref name="subprotocol"/> if given, and
    /// returns that connection once the server has accepted the upgrade. Nothing reads from it after that: a stalled
    /// client, or one that reads raw frames (<see cref="ReadServerFrameAsync"/>).
    /// </summary>
    public static async Task<TcpClient> ConnectSilentAsync(IPEndPoint http, string path = "/ws", string? subprotocol = null)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { ReceiveBufferSize = 4096 };
        await tcp.ConnectAsync(http);
        string key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        string offer = subprotocol is null ? "" : $"Sec-WebSocket-Protocol: {subprotocol}\r\n";
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(
            $"GET {path} HTTP/1.1\r\nHost: {http}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"));

        // Read the response headers, byte by byte, so that nothing after them is taken off the socket.
        var headers = new StringBuilder();
        var one = new byte[1];
        while (!headers.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.That(await tcp.GetStream().ReadAsync(one), Is.EqualTo(1), $"the server closed during the handshake: {headers}");
            headers.Append((char)one[0]);
        }

        Assert.That(headers.ToString(), Does.StartWith("HTTP/1.1 101"));
        return tcp;
    }

    /// <summary>A client's frame (masked, as RFC 6455 requires) of one byte's head (FIN and opcode) and a short payload.</summary>
    public static byte[] MaskedFrame(byte head, byte[] payload)
    {
        Assert.That(payload.Length, Is.LessThan(126), "a short payload");
        byte[] frame = new byte[6 + payload.Length];
        frame[0] = head;
        frame[1] = (byte)(0x80 | payload.Length);
        byte[] mask = [1, 2, 3, 4];
        mask.CopyTo(frame, 2);
        for (int i = 0; i < payload.Length; i++)
        {
            frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        }

        return frame;
    }

    /// <summary>Reads one unmasked, final server frame from a raw connection: its opcode and its payload as text.</summary>
    public static async Task<(int Opcode, string Text)> ReadServerFrameAsync(NetworkStream stream)
    {
        using var deadline = new CancellationTokenSource(Poll.Deadline);
        byte[] head = new byte[2];
        await stream.ReadExactlyAsync(head, deadline.Token);
        Assert.That(head[0] & 0x80, Is.Not.Zero, "a final frame");
        Assert.That(head[1] & 0x80, Is.Zero, "unmasked");
        long length = head[1] & 0x7F;
        if (length >= 126)
        {
            byte[] extended = new byte[length == 126 ? 2 : 8];
            await stream.ReadExactlyAsync(extended, deadline.Token);
            length = 0;
            foreach (byte b in extended)
            {
                length = (length << 8) | b;
            }
        }

        byte[] payload = new byte[length];
        await stream.ReadExactlyAsync(payload, deadline.Token);
        return (head[0] & 0x0F, Encoding.UTF8.GetString(payload));
    }

    /// <summary>Sends one input: a text frame (or a binary frame with the GMCP subprotocol).</summary>
    public Task SendAsync(string line) => SendFrameAsync(Encoding.UTF8.GetBytes(line), _gmcp ? WebSocketMessageType.Binary : WebSocketMessageType.Text);

    public async Task SendFrameAsync(byte[] payload, WebSocketMessageType type) =>
        await _socket.SendAsync(payload, type, endOfMessage: true, CancellationToken.None);

    /// <summary>Sends one message split into several frames.</summary>
    public async Task SendFragmentedAsync(byte[][] fragments, WebSocketMessageType type)
    {
        for (int i = 0; i < fragments.Length; i++)
        {
            await _socket.SendAsync(fragments[i], type, endOfMessage: i == fragments.Length - 1, CancellationToken.None);
        }
    }

    /// <summary>Starts the close handshake, as a browser tab that closes does; the server's answer ends <see cref="Lines"/>.</summary>
    public Task CloseAsync()
    {
        // Marked before the frame goes out: the server's answer can arrive before CloseOutputAsync has moved the socket
        // to CloseSent, and the reader must not then answer it with a second close of its own.
        Volatile.Write(ref _closing, true);
        return _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        try
        {
            await _reader;
        }
        catch
        {
            // aborted under the reader
        }
    }

    private async Task ReadAsync()
    {
        byte[] buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived && !Volatile.Read(ref _closing))
                    {
                        // Answer the close handshake, as browsers do (unless it answers ours).
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    break;
                }

                string text = Encoding.UTF8.GetString(buffer, 0, length);
                bool isGameText = _gmcp ? result.MessageType == WebSocketMessageType.Binary : result.MessageType == WebSocketMessageType.Text;
                if (!isGameText)
                {
                    Data.Add(text);
                    continue;
                }

                foreach (string line in text.Split("\r\n"))
                {
                    if (line.Length > 0)
                    {
                        Lines.Add(line);
                    }
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            ReadError = e; // the connection closed without a close frame
        }
        finally
        {
            Lines.Complete();
            Data.Complete();
        }
    }
}
