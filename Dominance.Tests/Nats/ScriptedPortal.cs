using System.Net;
using Dominance.Api;
using Dominance.Core;
using Dominance.Nats;
using Dominance.Tests.Support;
using NATS.Client.Core;

namespace Dominance.Tests.Nats;

/// <summary>
/// A stand-in for a portal, speaking the wire by hand over a real nats-server to a real core: the test attaches it and
/// sends inbound batches as it likes (late, again, out of a real portal's order). It reads nothing the core sends.
/// </summary>
internal sealed class ScriptedPortal : IAsyncDisposable
{
    /// <summary>Its id on the wire.</summary>
    public const string Id = "scripted";

    private readonly NatsConnection _nats;
    private readonly NatsSettings _settings;
    private readonly string _secret;

    private ScriptedPortal(NatsConnection nats, NatsSettings settings, string secret)
    {
        _nats = nats;
        _settings = settings;
        _secret = secret;
    }

    /// <summary>Connects to <paramref name="nats"/>, to attach with <paramref name="secret"/>.</summary>
    public static ScriptedPortal Start(NatsServer nats, string secret)
    {
        var settings = new NatsSettings { Url = nats.Url, User = nats.User, Password = nats.Password, Secret = secret };
        return new ScriptedPortal(new NatsConnection(settings.ClientOptions("test-scripted-portal")), settings, secret);
    }

    /// <summary>Asks the core to attach it; returns the core's instance and the attach's number.</summary>
    public async Task<(string Core, long Attach)> AttachAsync()
    {
        var w = new WireWriter();
        w.Byte(Wire.Version);
        w.String(Id);
        new AttachProof(_secret, _settings.Subject, TimeProvider.System).Write(w, Id);
        NatsMsg<byte[]> reply = await _nats.RequestAsync<byte[], byte[]>(Wire.Attach(_settings.Subject), w.Written.ToArray());
        var r = new WireReader(reply.Data);
        r.Byte();
        Assert.That(r.Byte(), Is.EqualTo(1), "attached");
        string core = r.String();
        r.String();
        return (core, r.Number());
    }

    /// <summary>
    /// Sends an inbound batch under <paramref name="attach"/>, its first event numbered <paramref name="sequence"/>
    /// portal-wide; each event with its session's sequence number.
    /// </summary>
    public async Task SendAsync(string core, long attach, long sequence, params (InboundEvent Event, long SessionSequence)[] events)
    {
        var w = new WireWriter();
        w.Byte(Wire.Version);
        w.String(core);
        w.Number(attach);
        w.Number(sequence);
        w.Number(events.Length);
        foreach ((InboundEvent e, long sessionSequence) in events)
        {
            Wire.WriteEvent(w, e, sessionSequence, null);
        }

        await _nats.PublishAsync(Wire.Inbound(_settings.Subject, Id), w.Written.ToArray());
    }

    /// <summary>A session's connect, its first event.</summary>
    public static (InboundEvent, long) Connect(SessionId session) =>
        (new InboundEvent(InboundKind.Connected, session, Info: new SessionInfo { Id = session, Protocol = ClientProtocol.Telnet, RemoteAddress = IPAddress.Loopback, ConnectedAt = DateTimeOffset.UtcNow }), 1);

    public ValueTask DisposeAsync() => _nats.DisposeAsync();
}
