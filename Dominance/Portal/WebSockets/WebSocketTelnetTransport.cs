using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// Raw telnet over a WebSocket (the <c>telnet.mudstandards.org</c> subprotocol): the WebSocket's messages, binary or
/// text, are one telnet byte stream each way, so a <see cref="Telnet.TelnetSession"/> runs over it unchanged. Two pumps
/// move the bytes: received messages into the input pipe, and each flush of the output pipe into one binary message.
/// </summary>
/// <remarks>
/// The output pipe pauses its writer at 64 KiB, as Kestrel's does: a client that stops reading makes the session's
/// flush wait, its outbox fills, and the portal disconnects it, exactly as for a telnet socket.
/// </remarks>
internal sealed class WebSocketTelnetTransport(WebSocket socket) : IDuplexPipe
{
    /// <summary>How long our side of the close handshake may take.</summary>
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(2);

    private readonly Pipe _input = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _output = new(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false));

    // Cancelled once the close handshake has taken too long; its registration aborts the socket.
    private readonly CancellationTokenSource _closing = new();

    /// <inheritdoc/>
    public PipeReader Input => _input.Reader;

    /// <inheritdoc/>
    public PipeWriter Output => _output.Writer;

    /// <summary>Runs both pumps until the connection ends.</summary>
    public async Task RunAsync()
    {
        using CancellationTokenRegistration abort = _closing.Token.Register(socket.Abort);
        await Task.WhenAll(ReceiveAsync(), SendAsync()).ConfigureAwait(false);
    }

    /// <summary>
    /// The session is over (its read loop has returned, and its last output has been written): nobody reads the input
    /// any more, so the receive pump stops feeding it, and a client that does not answer our close frame within
    /// <see cref="s_closeTimeout"/> is aborted, so that the connection (and its seat) is always given back.
    /// </summary>
    public void SessionEnded()
    {
        _input.Reader.Complete();
        _closing.CancelAfter(s_closeTimeout);
    }

    /// <summary>
    /// Tears the connection down at once; or, if the client has started the close handshake (its close frame ended the
    /// session), answers it: the send pump stops and sends our close frame, within <see cref="s_closeTimeout"/>.
    /// </summary>
    public void Abort()
    {
        if (socket.State == WebSocketState.CloseReceived)
        {
            _closing.CancelAfter(s_closeTimeout); // a client that does not take our close frame is aborted all the same
        }
        else
        {
            socket.Abort();
        }

        _output.Reader.CancelPendingRead();
    }

    private async Task ReceiveAsync()
    {
        PipeWriter writer = _input.Writer;
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await socket.ReceiveAsync(writer.GetMemory(4096), CancellationToken.None).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                writer.Advance(result.Count);
                FlushResult flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended under the pump.
        }
        finally
        {
            await writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task SendAsync()
    {
        PipeReader reader = _output.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        // The client closed first: the rest of the output is dropped, as for a telnet client that hangs
                        // up, but its close frame is answered (RFC 6455, 5.5.1), or it sees the connection drop (1006).
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "Goodbye", _closing.Token).ConfigureAwait(false);
                    }

                    break;
                }

                // Everything flushed so far is one message: the session flushes once per turn of its write loop.
                if (buffer.IsSingleSegment)
                {
                    if (!buffer.IsEmpty)
                    {
                        await socket.SendAsync(buffer.First, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                else
                {
                    foreach (ReadOnlyMemory<byte> segment in buffer)
                    {
                        await socket.SendAsync(segment, WebSocketMessageType.Binary, endOfMessage: false, CancellationToken.None).ConfigureAwait(false);
                    }

                    await socket.SendAsync(ReadOnlyMemory<byte>.Empty, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "Goodbye", timeout.Token).ConfigureAwait(false);
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended under the pump.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }
}
