using System.Net;
using Dominance.Portal;
using Dominance.Portal.Telnet;
using Dominance.Portal.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dominance.Hosting;

/// <summary>
/// The portal's listeners on Kestrel, the same for the single process and for a portal of its own: telnet on
/// <see cref="PortalSettings.TelnetPort"/>, and HTTP (the web client, WebSocket, health) on
/// <see cref="PortalSettings.HttpPort"/>. A core without a portal of its own listens on HTTP alone (health, admin).
/// </summary>
internal sealed class PortalListeners
{
    /// <summary>The telnet listener, once Kestrel has been configured; <see langword="null"/> without a portal.</summary>
    public ListenOptions? Telnet { get; private set; }

    /// <summary>The HTTP listener, once Kestrel has been configured.</summary>
    public ListenOptions Http { get; private set; } = null!;

    /// <summary>Adds the listeners to <paramref name="kestrel"/>; with <paramref name="portal"/> false, HTTP alone, with no WebSocket takeover.</summary>
    /// <remarks>Runs as the server starts, after the settings were checked (ValidateOnStart): the address parses.</remarks>
    public void Listen(KestrelServerOptions kestrel, PortalSettings settings, bool portal = true)
    {
        IPAddress host = IPAddress.Parse(settings.Host);
        kestrel.AddServerHeader = false;
        if (portal)
        {
            kestrel.Listen(host, settings.TelnetPort, listen =>
            {
                Telnet = listen;
                listen.UseConnectionHandler<TelnetConnectionHandler>();
            });
        }

        kestrel.Listen(host, settings.HttpPort, listen =>
        {
            Http = listen;
            listen.Protocols = HttpProtocols.Http1;
            if (portal)
            {
                WebSocketTakeover.Use(listen); // WebSocket connections skip HTTP's per-request objects
            }
        });
    }
}
