using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Dominance.Api;
using Dominance.Core;
using Dominance.Portal.Sending;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// A WebSocket client at <c>/ws</c>. Two framings are offered, chosen by the client in the handshake:
/// <list type="bullet">
/// <item>No subprotocol (plain): each text frame is one input line and output arrives as text frames. Binary frames are
/// refused with a message. No out-of-band data; the echo switch (password prompts) arrives as a text frame of its own
/// holding <see cref="PlainEchoOff"/> or <see cref="PlainEchoOn"/>.</item>
/// <item><c>gmcp.mudstandards.org</c> (https://mudstandards.org/websocket): binary frames carry game text (input and
/// output, UTF-8 with ANSI), text frames carry GMCP messages (<c>Package.Name json</c>) both ways. The client's
/// window size and terminal type (<see cref="ClientReport"/>) are kept in the session's info, not relayed.</item>
/// </list>
/// </summary>
internal sealed class WebSocketSession : PortalSession
{
    /// <summary>The subprotocol for clients that want out-of-band data.</summary>
    public const string GmcpSubprotocol = "gmcp.mudstandards.org";

    private const int CoalesceLimit = 64 * 1024;

    /// <summary>How long either side of the close handshake is waited for.</summary>
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(2);
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    private static readonly byte[] s_echoOff = Encoding.UTF8.GetBytes("Client.Echo {\"enabled\":false}");
    private static readonly byte[] s_echoOn = Encoding.UTF8.GetBytes("Client.Echo {\"enabled\":true}");

    /// <summary>
    /// Echo switches on plain WebSocket, which has no out-of-band channel: a text frame holding only an OSC string
    /// (ESC ] ... BEL), which terminals ignore and a client can act on: mask the input line, or stop masking it.
    /// </summary>
    public const string PlainEchoOff = "\u001b]echo;off\u0007";

    /// <inheritdoc cref="PlainEchoOff"/>
    public const string PlainEchoOn = "\u001b]echo;on\u0007";

    private static readonly byte[] s_plainEchoOff = Encoding.UTF8.GetBytes(PlainEchoOff);
    private static readonly byte[] s_plainEchoOn = Encoding.UTF8.GetBytes(PlainEchoOn);

    private readonly WebSocket _socket;
    private readonly SharedWriteStream _output;
    private readonly bool _gmcp;
    private readonly byte _textOpcode;

    // Made when our close frame goes out: aborts the connection if the client has not answered it in time. Nothing
    // else needs a token: aborting the socket ends a pending receive or send (as cancelling one would, by aborting).
    private CancellationTokenSource? _closeTimeout;

    // Completes once our close frame is sent, or the connection aborted: the close handshake is over on our side.
    private readonly TaskCompletionSource _closeSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly WebSocketFrames _pending = new();

    /// <summary>
    /// A session over <paramref name="socket"/>, which reads <paramref name="output"/>'s connection. The session writes
    /// its own frames to <paramref name="output"/> (<see cref="WebSocketFrames"/>: the payload copied once into a
    /// frame, no per-message framing layer); the socket still answers pings and closes the connection.
    /// </summary>
    public WebSocketSession(PortalService portal, WebSocket socket, SharedWriteStream output, IPAddress remoteAddress, bool gmcp)
        : base(portal, ClientProtocol.WebSocket, remoteAddress, supportsOutOfBand: gmcp)
    {
        _socket = socket;
        _output = output;
        _gmcp = gmcp;
        _textOpcode = gmcp ? WebSocketFrames.Binary : WebSocketFrames.Text;
        if (output.Direct is { } direct)
        {
            direct.Overflowed = OnSendBacklogFull;
            direct.Failed = OnSendFailed;
        }
    }

    /// <inheritdoc/>
    protected override DirectSocket? Direct => _output.Direct;

    /// <inheritdoc/>
    /// <remarks>The frame the write loop would build: game text unwrapped (every line fits the window) and prompts in
    /// the game text's opcode, out-of-band data as a text frame for GMCP clients.</remarks>
    protected override FrameRendering? BroadcastRendering(OutputKind kind, OutputPayload payload)
    {
        FrameRendering text = _gmcp ? WebSocketFrameRendering.Binary : WebSocketFrameRendering.Text;
        return kind switch
        {
            OutputKind.Text when !TextWrapping.Needed(payload, Info.Width) => text,
            OutputKind.Prompt => text,
            OutputKind.Data when _gmcp => WebSocketFrameRendering.Text,
            _ => null,
        };
    }

    protected override async Task ReadLoopAsync()
    {
        try
        {
            await ReadMessagesAsync().ConfigureAwait(false);
        }
        finally
        {
            Volatile.Read(ref _closeTimeout)?.Dispose(); // the handshake is over (or the connection gone): no timeout left to run
        }
    }

    private async Task ReadMessagesAsync()
    {
        int maxChars = Portal.Settings.MaxInputLength;
        while (true)
        {
            // Wait for the next message with no buffer (a zero-byte read): an idle connection holds none, and most are idle.
            ValueTask<ValueWebSocketReceiveResult> first = _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
            if (!first.IsCompleted)
            {
                BeginRead(); // it had to wait for the network: what comes next arrived at a new time
            }

            ValueWebSocketReceiveResult result = await first.ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await AnswerCloseAsync().ConfigureAwait(false);
                return;
            }

            byte[] buffer = ArrayPool<byte>.Shared.Rent(maxChars * 4);
            try
            {
                // Read the rest of the message. Past the byte cap it can only be too long: keep reading it, but store nothing.
                int length = 0;
                bool tooLarge = false;
                while (!result.EndOfMessage)
                {
                    Memory<byte> target = tooLarge || length == buffer.Length ? buffer.AsMemory(0) : buffer.AsMemory(length);
                    tooLarge |= length == buffer.Length;
                    ValueTask<ValueWebSocketReceiveResult> receive = _socket.ReceiveAsync(target, CancellationToken.None);
                    if (!receive.IsCompleted)
                    {
                        BeginRead();
                    }

                    result = await receive.ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await AnswerCloseAsync().ConfigureAwait(false);
                        return;
                    }

                    if (!tooLarge)
                    {
                        length += result.Count;
                    }
                }

                await HandleMessageAsync(result.MessageType, buffer.AsSpan(0, length), tooLarge).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    protected override ValueTask WriteFrameAsync(OutputFrame frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Text:
                // Text that is already queued is coalesced into one WebSocket message; FlushAsync sends it.
                _pending.Append(_textOpcode, FitToWindow(frame.Payload!));
                break;
            case FrameKind.Data when _gmcp:
                _pending.AppendMessage(WebSocketFrames.Text, frame.Payload!.Span);
                break;
            case FrameKind.Prompt:
                // A prompt is a message of its own, with no line end, so that a client can show it as one.
                _pending.AppendMessage(_textOpcode, frame.Payload!.Span);
                break;
            case FrameKind.EchoOff or FrameKind.EchoOn:
                // GMCP clients get Client.Echo; plain WebSocket clients an OSC string of its own (see PlainEchoOff).
                _pending.AppendMessage(
                    WebSocketFrames.Text, frame.Kind == FrameKind.EchoOff ? (_gmcp ? s_echoOff : s_plainEchoOff) : (_gmcp ? s_echoOn : s_plainEchoOn));
                break;
        }

        return _pending.Length >= CoalesceLimit ? SendPendingAsync() : ValueTask.CompletedTask;
    }

    protected override ValueTask FlushAsync() => SendPendingAsync();

    protected override async ValueTask CloseTransportAsync()
    {
        // The client answers with its own close frame, which ends the read loop; do not wait for it for ever.
        var timeout = new CancellationTokenSource(s_closeTimeout);
        timeout.Token.UnsafeRegister(static socket => ((WebSocket)socket!).Abort(), _socket);
        Volatile.Write(ref _closeTimeout, timeout);
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "Goodbye", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _closeSent.TrySetResult();
        }
    }

    protected override void AbortTransport()
    {
        _closeSent.TrySetResult();
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived or WebSocketState.CloseSent)
        {
            // Only a live socket needs tearing down: to end a pending send to a client that stopped reading, or the
            // read loop's receive (while our close frame waits for its answer, too). One that aborted itself after
            // answering a protocol error (1007 for invalid UTF-8) must be left alone: disposing its stream resets the
            // TCP connection and can destroy that frame.
            _output.Direct?.Close(); // what is queued for a client being aborted is dropped, not sent meanwhile
            _socket.Abort();
        }
    }

    /// <inheritdoc/>
    protected override void OnWriteLoopEnded() => _pending.Clear(); // a loop that ended aborted may leave frames (a pooled buffer)

    /// <summary>
    /// The client sent a close frame: it started the close handshake, or answered ours. Ours goes out from the write
    /// loop, after the output already queued (the client reads until it has our close frame). Returning before it is
    /// sent would abort the connection, and the client would see 1006 instead of 1000. A client that does not take its
    /// output within <see cref="s_closeTimeout"/> is aborted all the same.
    /// </summary>
    private async Task AnswerCloseAsync()
    {
        Close(goodbye: null);
        try
        {
            await _closeSent.Task.WaitAsync(s_closeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private ValueTask HandleMessageAsync(WebSocketMessageType type, ReadOnlySpan<byte> message, bool tooLarge)
    {
        bool isGameText = _gmcp ? type == WebSocketMessageType.Binary : type == WebSocketMessageType.Text;
        if (!isGameText && !_gmcp)
        {
            if (AdmitInput())
            {
                RejectMalformed("Binary WebSocket frames are not accepted: send each command as one text frame.", "binary frame");
            }

            return ValueTask.CompletedTask;
        }

        int characters = tooLarge ? 0 : CountCharacters(message);
        if (tooLarge || characters > Portal.Settings.MaxInputLength)
        {
            if (AdmitInput())
            {
                RejectTooLong(characters);
            }

            return ValueTask.CompletedTask;
        }

        string text = s_utf8.GetString(message);
        if (isGameText)
        {
            return text.AsSpan().IndexOfAny('\r', '\n') < 0 ? RelayIfAdmittedAsync(text) : RelayLinesAsync(text);
        }

        if (!AdmitInput())
        {
            return ValueTask.CompletedTask;
        }

        int space = text.IndexOf(' ');
        string package = space < 0 ? text : text[..space];
        string json = space < 0 ? "" : text[(space + 1)..];
        if (!ClientReport.Handles(package))
        {
            return ReceiveGmcpAsync(package, json);
        }

        // The client's window size and terminal type: negotiation with the portal, as NAWS and TTYPE are for telnet.
        if (ClientReport.Read(package, json, out string problem) is not { } change)
        {
            RejectMalformed(problem, $"malformed {package}");
            return ValueTask.CompletedTask;
        }

        return UpdateInfoAsync(change);
    }

    private ValueTask RelayIfAdmittedAsync(string line) => AdmitInput() ? RelayLineAsync(line) : ValueTask.CompletedTask;

    /// <summary>
    /// A message of several lines is several inputs, as a telnet paste is: lines end as telnet's do (CR LF, CR NUL, a
    /// lone CR or a lone LF), a line break at the very end ends the last line, and each line is counted by the rate
    /// limiter. A line break inside a message can therefore never put a line of the player's making on anyone's screen.
    /// </summary>
    private async ValueTask RelayLinesAsync(string text)
    {
        int start = 0;
        while (start < text.Length)
        {
            int end = text.AsSpan(start).IndexOfAny('\r', '\n');
            end = end < 0 ? text.Length : start + end;
            int next = end + 1;
            if (end < text.Length && text[end] == '\r' && next < text.Length && text[next] is '\n' or '\0')
            {
                next++;
            }

            await RelayIfAdmittedAsync(text[start..end]).ConfigureAwait(false);
            start = next;
        }
    }

    /// <summary>Writes every frame queued so far in one write (Kestrel flushes each write). No cancellation token: a write to a client that stopped reading is ended by <see cref="AbortTransport"/>.</summary>
    private ValueTask SendPendingAsync()
    {
        if (_pending.Length == 0)
        {
            return ValueTask.CompletedTask;
        }

        ValueTask written = _output.WriteAsync(_pending.Complete(), CancellationToken.None);
        if (written.IsCompletedSuccessfully)
        {
            _pending.Clear();
            return ValueTask.CompletedTask;
        }

        return ClearAfterAsync(written);
    }

    private async ValueTask ClearAfterAsync(ValueTask written)
    {
        try
        {
            await written.ConfigureAwait(false);
        }
        finally
        {
            _pending.Clear();
        }
    }

    private static int CountCharacters(ReadOnlySpan<byte> utf8)
    {
        int count = 0;
        foreach (byte b in utf8)
        {
            count += (b & 0xC0) != 0x80 ? 1 : 0;
        }

        return count;
    }
}
