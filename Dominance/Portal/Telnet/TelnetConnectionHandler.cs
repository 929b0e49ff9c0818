using System.Net;
using Dominance.Api;
using Dominance.Portal.Sending;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Dominance.Portal.Telnet;

/// <summary>Kestrel's entry point for the telnet port: admits the connection and runs a <see cref="TelnetSession"/>, sent on by the portal's own sender (<see cref="DirectSocket"/>).</summary>
internal sealed class TelnetConnectionHandler(PortalService portal) : ConnectionHandler
{
    /// <inheritdoc/>
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        IPAddress address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (!portal.TryAdmit(address, ClientProtocol.Telnet, out string refusal))
        {
            await connection.Transport.Output.WriteAsync(PortalService.EncodeNotice(refusal)).ConfigureAwait(false);
            await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            // Its output is sent on its socket by the portal's sender (as a WebSocket's is), when there is a socket to take;
            // what its client leaves untaken is bounded as Kestrel's output pipe bounded it before (Portal:TelnetBacklogBytes).
            DirectSocket? direct = connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket
                ? new DirectSocket(socket, SocketSender.Next(), portal.Settings.SendQueueCapacity, portal.Settings.TelnetBacklogBytes)
                : null;
            await new TelnetSession(portal, connection, address, direct).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            portal.Leave();
        }
    }
}
