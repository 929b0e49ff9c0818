using System.Text.RegularExpressions;
using Dominance.Core;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace Dominance.Nats;

/// <summary>
/// Settings of the link between a game core and portals in other processes, over NATS (configuration section
/// <c>Nats</c>). Off unless <see cref="Url"/> is set.
/// </summary>
public sealed partial class NatsSettings
{
    /// <summary>The configuration section these settings are read from.</summary>
    public const string Section = "Nats";

    /// <summary>The NATS server, e.g. <c>nats://10.0.0.5:4222</c>. Empty: no remote portals (the default).</summary>
    public string Url { get; set; } = "";

    /// <summary>User name for the NATS server (with <see cref="Password"/>), if it asks for one.</summary>
    public string User { get; set; } = "";

    /// <summary>Password for the NATS server.</summary>
    public string Password { get; set; } = "";

    /// <summary>Token for the NATS server, if it uses token authentication instead of a user and password.</summary>
    public string Token { get; set; } = "";

    /// <summary>
    /// The secret a portal proves it holds when it attaches (never sent: <see cref="AttachProof"/>); the core refuses a
    /// portal without it. Also keys the resume tokens that give sessions their accounts back after a core restart, so
    /// every core of a game needs the same one.
    /// </summary>
    public string Secret { get; set; } = "";

    /// <summary>The first token of every subject used (several games can share one NATS server with different ones).</summary>
    public string Subject { get; set; } = "dominance";

    /// <summary>How often the core and each portal say that they are alive.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Silence after which the core takes a portal for gone (and logs its players off), or a portal the core.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Inputs a portal holds per session while no core is attached (counting those sent and not yet acknowledged); past
    /// that the player is told, and the input refused. As many of the client's out-of-band messages (GMCP) are held
    /// besides; past that they are dropped, and logged once per session and outage. Changes of the session's facts
    /// (window size, terminal) are not held: the connect the next core gets carries the latest.
    /// </summary>
    public int HoldCapacity { get; set; } = 100;

    /// <summary>
    /// At shutdown, how long the core or a portal waits for NATS to take what it still sends (the departures of a
    /// portal's players, the core's word to its portals). A NATS server that is gone costs no more than this.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How far the time an attach request was made may be from the core's clock, either way (<see cref="AttachProof"/>):
    /// the clock skew allowed between the core's machine and its portals', and how long a captured request could be sent
    /// again to a core that did not see it (one restarted just then). Only the core's setting counts.
    /// </summary>
    public TimeSpan AttachWindow { get; set; } = AttachProof.DefaultWindow;

    /// <summary>Whether <c>run --nats</c> keeps its own in-process portal (telnet and web listeners) besides the remote ones.</summary>
    public bool LocalPortal { get; set; } = true;

    /// <summary>Whether the NATS link is on.</summary>
    public bool Enabled => Url.Length > 0;

    /// <summary>
    /// <see cref="Url"/> as it may be logged or printed: a user name and password in it (<c>nats://user:pass@host</c>)
    /// are replaced by <c>***</c>.
    /// </summary>
    public string RedactedUrl => Redact(Url);

    /// <summary>
    /// <paramref name="text"/> (a URL, or a message that may quote one) with the user information of every URL in it
    /// replaced by <c>***</c>: <c>nats://user:pass@host:4222</c> becomes <c>nats://***@host:4222</c>.
    /// </summary>
    public static string Redact(string text) => UserInfo().Replace(text, "***@");

    // What lies between "scheme://" and the last '@' before the host: the user information (user, password or token).
    [GeneratedRegex(@"(?<=[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s,]*@")]
    private static partial Regex UserInfo();

    /// <summary>The NATS client's options for these settings; <paramref name="name"/> is how the NATS server lists the connection.</summary>
    internal NatsOpts ClientOptions(string name) => NatsOpts.Default with
    {
        Url = Url,
        Name = name,
        AuthOpts = NatsAuthOpts.Default with
        {
            Username = User.Length > 0 ? User : null,
            Password = Password.Length > 0 ? Password : null,
            Token = Token.Length > 0 ? Token : null,
        },
        // Retry for ever: a portal outlives the NATS server's restarts as it outlives the core's.
        MaxReconnectRetry = -1,
        ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
        ReconnectWaitMax = TimeSpan.FromSeconds(1),
        // Messages the client has received and this program not read yet: past this the client waits (and TCP, then
        // the NATS server, pushes back: a consumer that stays slow is disconnected by the server), rather than drop.
        SubPendingChannelCapacity = 4096,
        SubPendingChannelFullMode = System.Threading.Channels.BoundedChannelFullMode.Wait,
    };
}

/// <summary>Checks <see cref="NatsSettings"/>; each failure names the setting.</summary>
internal sealed class NatsSettingsValidator : IValidateOptions<NatsSettings>
{
    /// <summary>The shortest shared secret accepted.</summary>
    public const int MinimumSecretLength = 16;

    public ValidateOptionsResult Validate(string? name, NatsSettings options)
    {
        var errors = new SettingErrors(NatsSettings.Section);
        if (options.Enabled)
        {
            if (!Uri.TryCreate(options.Url, UriKind.Absolute, out Uri? url) || url.Scheme is not ("nats" or "tls") || url.Port <= 0)
            {
                errors.Add(nameof(options.Url), $"must be a NATS address such as nats://127.0.0.1:4222; it is '{options.RedactedUrl}'.");
            }

            if (options.Secret.Length < MinimumSecretLength)
            {
                errors.Add(nameof(options.Secret), $"must be set, at least {MinimumSecretLength} characters, the same for the core and its portals (openssl rand -hex 16).");
            }
        }

        if (options.Subject.Length == 0 || options.Subject.Any(c => c is '.' or '*' or '>' || char.IsWhiteSpace(c)))
        {
            errors.Add(nameof(options.Subject), $"must be one subject token (letters, digits, - and _); it is '{options.Subject}'.");
        }

        errors.Positive(nameof(options.HeartbeatInterval), options.HeartbeatInterval);
        if (options.HeartbeatTimeout < options.HeartbeatInterval * 2)
        {
            errors.Add(nameof(options.HeartbeatTimeout), $"must be at least twice Nats:HeartbeatInterval ({options.HeartbeatInterval}); it is {options.HeartbeatTimeout}.");
        }

        errors.Positive(nameof(options.ShutdownTimeout), options.ShutdownTimeout);
        errors.PositiveUpTo(nameof(options.AttachWindow), options.AttachWindow, TimeSpan.FromDays(1));
        errors.AtLeast(nameof(options.HoldCapacity), options.HoldCapacity, 0);
        return errors.Result;
    }
}
