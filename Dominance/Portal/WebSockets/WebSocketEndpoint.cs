using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Dominance.Api;
using Dominance.Portal.Telnet;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Dominance.Portal.WebSockets;

/// <summary>The <c>/ws</c> endpoint: accepts the WebSocket, admits it, and runs a <see cref="WebSocketSession"/>.</summary>
internal static class WebSocketEndpoint
{
    /// <summary>The subprotocol of raw telnet over WebSocket (https://mudstandards.org/websocket): binary frames carry the telnet byte stream.</summary>
    public const string TelnetSubprotocol = "telnet.mudstandards.org";

    /// <summary>Handles one request to <c>/ws</c>.</summary>
    public static async Task HandleAsync(HttpContext http, PortalService portal)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsync("This is Dominance's WebSocket endpoint: connect with a WebSocket client.\n").ConfigureAwait(false);
            return;
        }

        string? subprotocol = ChooseSubprotocol(http.WebSockets.WebSocketRequestedProtocols);
        IPAddress address = http.Connection.RemoteIpAddress ?? IPAddress.None;
        var local = new IPEndPoint(http.Connection.LocalIpAddress ?? IPAddress.None, http.Connection.LocalPort);
        // A client that lost its connection asks for its session back with the token it was given (Core.Resume).
        string? resume = http.Request.Query["resume"].FirstOrDefault() is { Length: > 0 } token ? token : null;
        SharedWriteStream output = await AcceptAsync(http, subprotocol).ConfigureAwait(false);
        await RunAsync(portal, output, subprotocol, address, local, resume, http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The subprotocol chosen from the client's offer: GMCP first, then raw telnet, else none (plain).</summary>
    internal static string? ChooseSubprotocol(IList<string> offered) =>
        offered.Contains(WebSocketSession.GmcpSubprotocol) ? WebSocketSession.GmcpSubprotocol
        : offered.Contains(TelnetSubprotocol) ? TelnetSubprotocol
        : null;

    /// <summary>
    /// Runs an accepted WebSocket connection to its end, whoever answered the handshake (this endpoint, or
    /// <see cref="WebSocketTakeover"/> at the connection level): admits it and runs its session. <paramref name="ended"/>,
    /// if given, sees the socket once an admitted session is over.
    /// </summary>
    internal static async Task RunAsync(
        PortalService portal, SharedWriteStream output, string? subprotocol, IPAddress address, EndPoint local, string? resume, CancellationToken clientGone,
        Action<WebSocket>? ended = null)
    {
        bool gmcp = subprotocol == WebSocketSession.GmcpSubprotocol;
        bool telnet = subprotocol == TelnetSubprotocol;

        // The framework's keep-alive is off: the portal's own (WebSocketKeepAlive) sends one only to idle connections.
        using WebSocket socket = WebSocket.CreateFromStream(output, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subprotocol,
            KeepAliveInterval = TimeSpan.Zero,
        });

        // Admission happens after the handshake so that a browser can show the reason; HTTP bodies of a failed
        // handshake never reach its script.
        if (!portal.TryAdmit(address, ClientProtocol.WebSocket, out string refusal))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(clientGone);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            byte[] message = PortalService.EncodeNotice(refusal);
            await socket.SendAsync(message, gmcp || telnet ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, timeout.Token).ConfigureAwait(false);
            await socket.CloseOutputAsync((WebSocketCloseStatus)1013, "Try again later", timeout.Token).ConfigureAwait(false);
            return;
        }

        try
        {
            if (telnet)
            {
                var transport = new WebSocketTelnetTransport(socket);
                Task pumps = transport.RunAsync();
                var session = new TelnetSession(portal, transport, address, local, ClientProtocol.WebSocket, transport.Abort);
                using (portal.WebSocketKeepAlive?.Watch(session, output))
                {
                    await session.RunAsync().ConfigureAwait(false);
                }

                transport.SessionEnded();
                await pumps.ConfigureAwait(false);
            }
            else
            {
                var session = new WebSocketSession(portal, socket, output, address, gmcp) { ResumeToken = resume };
                using (portal.WebSocketKeepAlive?.Watch(session, output))
                {
                    await session.RunAsync().ConfigureAwait(false);
                }

                await LingerAsync(socket, clientGone).ConfigureAwait(false);
            }

            ended?.Invoke(socket);
        }
        finally
        {
            portal.Leave();
        }
    }

    /// <summary>
    /// Completes the handshake (RFC 6455, section 4.2.2) of a request that <c>IsWebSocketRequest</c> has checked, and
    /// returns the upgraded connection's stream, shared between the framework's WebSocket and the session's own frames.
    /// This is what <c>AcceptWebSocketAsync</c> does, except that the stream is kept: the session writes its frames
    /// to it directly, built once into one buffer, instead of through <c>WebSocket.SendAsync</c> for each message.
    /// </summary>
    private static async Task<SharedWriteStream> AcceptAsync(HttpContext http, string? subProtocol)
    {
        IHttpUpgradeFeature upgrade = http.Features.Get<IHttpUpgradeFeature>()
            ?? throw new InvalidOperationException("The server does not support upgrading this connection.");
        IHeaderDictionary headers = http.Response.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketAccept = AcceptKey(http.Request.Headers.SecWebSocketKey.ToString());
        if (subProtocol is not null)
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        return new SharedWriteStream(await upgrade.UpgradeAsync().ConfigureAwait(false)); // sends 101 Switching Protocols
    }

    /// <summary>The <c>Sec-WebSocket-Accept</c> answer to a client's <c>Sec-WebSocket-Key</c>.</summary>
    internal static string AcceptKey(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key.Trim() + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));

    /// <summary>
    /// Lingering close. When the close handshake did not complete (the WebSocket layer answered a protocol error, such
    /// as invalid UTF-8, with a close frame such as 1007 and then aborted), keep the TCP connection open until the client
    /// hangs up, for at most a second. Closing at once would reset the connection, and a reset can destroy our close
    /// frame before the client reads it.
    /// </summary>
    private static async Task LingerAsync(WebSocket socket, CancellationToken clientGone)
    {
        if (socket.State == WebSocketState.Closed)
        {
            return;
        }

        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), clientGone).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client has gone: the connection can close cleanly now.
        }
    }
}
