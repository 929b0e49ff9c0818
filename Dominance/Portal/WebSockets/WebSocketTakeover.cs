using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Dominance.Portal.Sending;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// Kestrel connection middleware on the HTTP port: a connection whose first request is a WebSocket handshake for
/// <c>/ws</c> (<see cref="WebSocketRequestHead"/>) is answered here and runs its session over the connection's own
/// pipes, so that none of HTTP/1's request objects (the connection's protocol state, headers, HTTP context, its
/// streams and their tasks, about 5 KB) live on for as long as the player stays. Every other connection goes on to
/// HTTP untouched: the bytes read to decide are left in the pipe for it, and a handshake this does not take (a path,
/// header or size it does not expect) is served by <see cref="WebSocketEndpoint"/> as before.
/// </summary>
internal sealed class WebSocketTakeover(ConnectionDelegate next, IServiceProvider services)
{
    /// <summary>How long the request head may take to arrive: Kestrel's default request headers timeout.</summary>
    private static readonly TimeSpan s_headTimeout = TimeSpan.FromSeconds(30);

    private PortalService? _portal;

    /// <summary>Adds the takeover to a listener's connection pipeline (before HTTP).</summary>
    public static void Use(ListenOptions listen) =>
        listen.Use(next => new WebSocketTakeover(next, listen.ApplicationServices).OnConnectedAsync);

    private async Task OnConnectedAsync(ConnectionContext connection)
    {
        PipeReader input = connection.Transport.Input;
        WebSocketRequest? request;

        // The head's deadline, and the server stopping: a connection that has not sent its first request yet must not
        // hold up a shutdown for the deadline (HTTP closes such connections at once when asked).
        CancellationToken stopping = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? default;
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(stopping, connection.ConnectionClosed))
        {
            waiting.CancelAfter(s_headTimeout);
            int needed = 1;
            while (true)
            {
                ReadResult result;
                try
                {
                    // Invariant: nothing is ever marked examined before the verdict, so that a head passed on to HTTP
                    // (even one that came in several reads) is read again by HTTP at once; "wait for more" is asked
                    // for by size instead.
                    result = await input.ReadAtLeastAsync(needed, waiting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    connection.Abort(new ConnectionAbortedException("The request head did not arrive in time, or the server is stopping."));
                    return;
                }
                catch (IOException)
                {
                    return; // the client reset the connection before its request was complete: nothing to answer
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                WebSocketRequestHead.Verdict verdict = WebSocketRequestHead.Read(buffer, out request);
                if (verdict == WebSocketRequestHead.Verdict.NeedMore && !result.IsCompleted)
                {
                    needed = checked((int)buffer.Length + 1);
                    input.AdvanceTo(buffer.Start); // nothing consumed or examined
                    continue;
                }

                if (verdict != WebSocketRequestHead.Verdict.Upgrade)
                {
                    input.AdvanceTo(buffer.Start); // nothing consumed or examined: HTTP reads the same bytes at once
                    request = null;
                    break;
                }

                input.AdvanceTo(buffer.GetPosition(request!.HeadLength)); // what follows the head is the WebSocket's
                break;
            }
        }

        if (request is null)
        {
            await next(connection).ConfigureAwait(false); // after the head's timer is gone: HTTP has its own
            return;
        }

        string? subprotocol = WebSocketEndpoint.ChooseSubprotocol(request.Protocols.ToList());
        byte[] answer = Encoding.ASCII.GetBytes(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            $"Sec-WebSocket-Accept: {WebSocketEndpoint.AcceptKey(request.Key)}\r\n" +
            (subprotocol is null ? "" : $"Sec-WebSocket-Protocol: {subprotocol}\r\n") + "\r\n");
        _portal ??= services.GetRequiredService<PortalService>();

        // From here on the connection's bytes are sent on its socket by the portal's sender (DirectSocket), the 101
        // first; Kestrel's output pipe is never written again, so nothing else can write between them. Without a
        // socket (another transport), through the pipe as before.
        DirectSocket? direct = connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } raw
            ? new DirectSocket(raw, SocketSender.Next(), _portal.Settings.SendQueueCapacity)
            : null;
        if (direct is not null)
        {
            direct.Write(answer);
        }
        else
        {
            PipeWriter output = connection.Transport.Output;
            output.Write(answer);
            try
            {
                FlushResult flushed = await output.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return;
                }
            }
            catch (IOException)
            {
                return; // the client went away before the handshake's answer was sent
            }
        }

        IPAddress address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        EndPoint local = connection.LocalEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        var stream = new SharedWriteStream(new ConnectionStream(connection.Transport, direct));
        bool aborted = false;
        try
        {
            await WebSocketEndpoint.RunAsync(_portal, stream, subprotocol, address, local, request.Resume, connection.ConnectionClosed, socket =>
            {
                // A connection that did not end with a close handshake may have a send that cannot finish (a client that
                // stopped reading): after the endpoint's lingering close, end it at once instead of waiting for that send.
                if (socket.State != WebSocketState.Closed)
                {
                    aborted = true;
                    direct?.Close();
                    connection.Abort(new ConnectionAbortedException("The WebSocket session ended without a close handshake."));
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            if (direct is not null)
            {
                await DrainAsync(_portal, direct, aborted, connection).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Before Kestrel closes the socket (when this returns): lets the sender send what is still queued (the close
    /// frame, for one), for at most the shutdown grace (<see cref="PortalService.DrainClosingAsync"/>), then drops whatever is left.
    /// </summary>
    private static async Task DrainAsync(PortalService portal, DirectSocket direct, bool aborted, ConnectionContext connection)
    {
        if (!aborted && !await portal.DrainClosingAsync(direct, $"WebSocket connection {connection.ConnectionId} ({connection.RemoteEndPoint})").ConfigureAwait(false))
        {
            connection.Abort(new ConnectionAbortedException("The client did not take its last output in time."));
        }

        direct.Close();
    }
}
