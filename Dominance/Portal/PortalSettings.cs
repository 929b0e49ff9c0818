using System.Net;
using Dominance.Core;
using Microsoft.Extensions.Options;

namespace Dominance.Portal;

/// <summary>Settings of the portal, the in-process network edge (configuration section <c>Portal</c>).</summary>
public sealed class PortalSettings
{
    /// <summary>The configuration section these settings are read from.</summary>
    public const string Section = "Portal";

    /// <summary>The address both listeners bind to. Default 127.0.0.1; use 0.0.0.0 to accept other machines.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The telnet port. Default 4000; 0 picks a free port.</summary>
    public int TelnetPort { get; set; } = 4000;

    /// <summary>The HTTP port (web client, <c>/ws</c>, <c>/healthz</c>). Default 4001; 0 picks a free port.</summary>
    public int HttpPort { get; set; } = 4001;

    /// <summary>Inputs a session may send per <see cref="CommandRateWindow"/>; more are dropped with a warning. 0 turns the limit off.</summary>
    public int CommandRateLimit { get; set; } = 80;

    /// <summary>The window of <see cref="CommandRateLimit"/>. Default one second.</summary>
    public TimeSpan CommandRateWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest input line, in characters (at most a million). Longer lines are dropped with a warning.</summary>
    public int MaxInputLength { get; set; } = 6000;

    /// <summary>New connections one IP address may open per <see cref="ConnectionRateWindow"/>. 0 turns the limit off.</summary>
    public int ConnectionRateLimit { get; set; } = 20;

    /// <summary>The window of <see cref="ConnectionRateLimit"/>. Default ten seconds.</summary>
    public TimeSpan ConnectionRateWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most connections open at once, over both protocols.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Messages a session's send queue holds. A client that lets it fill up is disconnected.</summary>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Bytes of output a telnet client may leave untaken, beyond the kernel's socket buffer and beyond what is still
    /// unsent of the largest single message among them, before it is disconnected as not reading (besides <see cref="SendQueueCapacity"/> messages). Default 64 KiB: what Kestrel's output pipe held
    /// before the portal sent on telnet sockets itself. Each is a private copy per connection, so this bounds the memory
    /// a client that stops reading can pin.
    /// </summary>
    public int TelnetBacklogBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The longest a WebSocket connection goes without a byte from the server, so that proxies and NAT keep an idle
    /// connection open: each connection is checked four times per interval, and one that was sent nothing for three
    /// checks in a row gets a keep-alive (an unsolicited pong). Default 30 seconds, from a second to a day; 0 turns
    /// keep-alives off.
    /// </summary>
    public TimeSpan WebSocketKeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful shutdown waits for queued output to reach clients before closing them hard.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Variables MSSP crawlers (MUD listings) get besides those the server knows itself, such as <c>NAME</c>,
    /// <c>CONTACT</c>, <c>WEBSITE</c>, <c>GENRE</c> or <c>DESCRIPTION</c> (<c>Portal:Mssp:NAME=My Realm</c>); a name the
    /// server also sets (<c>NAME</c>, <c>HOSTNAME</c>, <c>FAMILY</c>...) is replaced. <c>PLAYERS</c>, <c>UPTIME</c> and
    /// <c>PORT</c> always come from the running server.
    /// </summary>
    public Dictionary<string, string> Mssp { get; set; } = [];
}

/// <summary>Checks <see cref="PortalSettings"/>; each failure names the setting.</summary>
internal sealed class PortalSettingsValidator : IValidateOptions<PortalSettings>
{
    /// <summary>The most <see cref="PortalSettings.MaxInputLength"/> may be: a million characters.</summary>
    public const int MaxInputLengthLimit = 1_000_000;

    public ValidateOptionsResult Validate(string? name, PortalSettings options)
    {
        var errors = new SettingErrors(PortalSettings.Section);
        if (!IPAddress.TryParse(options.Host, out _))
        {
            errors.Add(nameof(options.Host), $"must be an IP address such as 127.0.0.1 or 0.0.0.0; it is '{options.Host}'.");
        }

        errors.Port(nameof(options.TelnetPort), options.TelnetPort);
        errors.Port(nameof(options.HttpPort), options.HttpPort);
        if (options.TelnetPort != 0 && options.TelnetPort == options.HttpPort)
        {
            errors.AddMessage($"Portal:TelnetPort and Portal:HttpPort must differ; both are {options.TelnetPort}.");
        }

        errors.AtLeast(nameof(options.CommandRateLimit), options.CommandRateLimit, 0);
        // Upper bounds where a larger value would overflow: a line's bytes (up to 4 per character) in an int, and a
        // window's end in timestamp ticks.
        errors.PositiveUpTo(nameof(options.CommandRateWindow), options.CommandRateWindow, TimeSpan.FromDays(1));
        errors.Between(nameof(options.MaxInputLength), options.MaxInputLength, 1, MaxInputLengthLimit);
        errors.AtLeast(nameof(options.ConnectionRateLimit), options.ConnectionRateLimit, 0);
        errors.PositiveUpTo(nameof(options.ConnectionRateWindow), options.ConnectionRateWindow, TimeSpan.FromDays(1));
        errors.AtLeast(nameof(options.MaxConnections), options.MaxConnections, 1);
        errors.AtLeast(nameof(options.SendQueueCapacity), options.SendQueueCapacity, 4);
        errors.AtLeast(nameof(options.TelnetBacklogBytes), options.TelnetBacklogBytes, 4096);
        errors.Positive(nameof(options.ShutdownGrace), options.ShutdownGrace);
        if (options.WebSocketKeepAlive != TimeSpan.Zero
            && (options.WebSocketKeepAlive < WebSockets.WebSocketKeepAlive.MinInterval || options.WebSocketKeepAlive > TimeSpan.FromDays(1)))
        {
            errors.Add(nameof(options.WebSocketKeepAlive), $"must be 0 (off) or from 00:00:01 to a day, such as 00:00:30; it is {options.WebSocketKeepAlive}.");
        }

        foreach ((string key, string value) in options.Mssp)
        {
            if (key.Length == 0 || !key.All(c => c is >= ' ' and <= '~') || value.Any(char.IsControl))
            {
                errors.Add($"{nameof(options.Mssp)}:{key}", "names must be printable ASCII and values must have no control characters.");
            }
        }

        return errors.Result;
    }
}
