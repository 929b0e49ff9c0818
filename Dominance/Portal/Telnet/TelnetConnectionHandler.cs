using System.Net;
using Dominance.Api;
using Microsoft.AspNetCore.Connections;

namespace Dominance.Portal.Telnet;

/// <summary>Kestrel's entry point for the telnet port: admits the connection and runs a <see cref="TelnetSession"/>.</summary>
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
            await new TelnetSession(portal, connection, address).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            portal.Leave();
        }
    }
}
