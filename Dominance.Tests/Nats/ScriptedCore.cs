using Dominance.Core;
using Dominance.Nats;
using Dominance.Tests.Support;
using NATS.Client.Core;

namespace Dominance.Tests.Nats;

/// <summary>
/// A stand-in for a core, speaking the wire by hand over a real nats-server: it attaches a real portal process, records
/// what the portal sends, and sends what the test tells it to, so that a test can deliver what a real core sends only
/// in a race (a message from before a re-attach that arrives after it). It acknowledges nothing by itself.
/// </summary>
internal sealed class ScriptedCore : IAsyncDisposable
{
    private readonly NatsConnection _nats;
    private readonly Dictionary<string, string> _portalEnvironment;
    private readonly string _prefix;
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Batch> _inbound = [];
    private int _attaches;
    private string? _portal;

    private ScriptedCore(NatsConnection nats, Dictionary<string, string> portalEnvironment, string prefix, string instance)
    {
        _nats = nats;
        _portalEnvironment = portalEnvironment;
        _prefix = prefix;
        Instance = instance;
    }

    /// <summary>The instance id it answers attach requests with.</summary>
    public string Instance { get; }

    /// <summary>The attach requests it has answered: each attach's number is the count after it.</summary>
    public int Attaches => Volatile.Read(ref _attaches);

    /// <summary>The inbound batches received so far, in order.</summary>
    public IReadOnlyList<Batch> Inbound
    {
        get
        {
            lock (_inbound)
            {
                return [.. _inbound];
            }
        }
    }

    /// <summary>Connects to <paramref name="nats"/> and answers attach requests that present <paramref name="secret"/>.</summary>
    public static async Task<ScriptedCore> StartAsync(NatsServer nats, string secret)
    {
        var settings = new NatsSettings { Url = nats.Url, User = nats.User, Password = nats.Password, Secret = secret };
        var connection = new NatsConnection(settings.ClientOptions("test-scripted-core"));
        await connection.ConnectAsync();
        var core = new ScriptedCore(connection, nats.Environment(secret), settings.Subject, "scripted0core0id");
        INatsSub<byte[]> attach = await connection.SubscribeCoreAsync<byte[]>(Wire.Attach(settings.Subject));
        INatsSub<byte[]> inbound = await connection.SubscribeCoreAsync<byte[]>(Wire.AllInbound(settings.Subject));
        core._loops.Add(core.AnswerAttachAsync(attach));
        core._loops.Add(core.RecordInboundAsync(inbound));
        return core;
    }

    /// <summary>
    /// Starts a real portal process on this core's NATS server, and returns once it has attached. Its heartbeat timeout is
    /// out of a test's time: it attaches again only when this core asks it to.
    /// </summary>
    public async Task<ServerProcess> StartPortalAsync()
    {
        int before = Attaches;
        ServerProcess portal = ServerProcess.Start(["portal", "--Nats:HeartbeatTimeout=00:10:00"], _portalEnvironment);
        try
        {
            await portal.WaitUntilRunningAsync();
            await Poll.UntilAsync(() => Attaches > before, "the portal attaches");
            return portal;
        }
        catch
        {
            await portal.DisposeAsync();
            throw;
        }
    }

    /// <summary>Asks the portal to end <paramref name="attach"/> and attach again, as a core does after a gap in its numbering.</summary>
    public async Task AskToReattachAsync(int attach) =>
        await RemotePortal.AskToReattachAsync(_nats, _prefix, _portal!, Instance, attach, _stop.Token);

    /// <summary>
    /// A heartbeat that acknowledges the portal's events of <paramref name="attach"/> through <paramref name="acknowledged"/>,
    /// or, with no attach, does not list the portal.
    /// </summary>
    public async Task HeartbeatAsync(int? attach, long acknowledged = 0)
    {
        var w = new WireWriter();
        w.Byte(Wire.Version);
        w.String(Instance);
        w.Number(attach is null ? 0 : 1);
        if (attach is { } listed)
        {
            w.String(_portal!);
            w.Number(listed);
            w.Number(acknowledged);
        }

        w.Number(0); // players online
        await _nats.PublishAsync(Wire.CoreHeartbeat(_prefix), w.Written.ToArray(), cancellationToken: _stop.Token);
    }

    /// <summary>An output batch with no entries, that acknowledges the portal's events of <paramref name="attach"/> through <paramref name="acknowledged"/>.</summary>
    public async Task OutputAsync(int attach, long acknowledged)
    {
        var w = new WireWriter();
        w.Byte(Wire.Version);
        w.String(Instance);
        w.Number(attach);
        w.Number(acknowledged);
        w.Number(0); // payloads
        w.Number(0); // entries
        await _nats.PublishAsync(Wire.Outbound(_prefix, _portal!), w.Written.ToArray(), cancellationToken: _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _nats.DisposeAsync();
        try
        {
            await Task.WhenAll(_loops);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task AnswerAttachAsync(INatsSub<byte[]> requests)
    {
        await foreach (NatsMsg<byte[]> request in requests.Msgs.ReadAllAsync(_stop.Token))
        {
            var r = new WireReader(request.Data);
            r.Byte();
            _portal = r.String();
            int attach = Interlocked.Increment(ref _attaches);
            var w = new WireWriter();
            w.Byte(Wire.Version);
            w.Byte(1);
            w.String(Instance);
            w.String("");
            w.Number(attach);
            await request.ReplyAsync(w.Written.ToArray(), cancellationToken: _stop.Token);
        }
    }

    private async Task RecordInboundAsync(INatsSub<byte[]> batches)
    {
        await foreach (NatsMsg<byte[]> message in batches.Msgs.ReadAllAsync(_stop.Token))
        {
            var r = new WireReader(message.Data);
            r.Byte();
            r.String(); // the core it is for
            int attach = (int)r.Number();
            long first = r.Number();
            long count = r.Number();
            var events = new List<InboundEvent>();
            for (long i = 0; i < count; i++)
            {
                events.Add(Wire.ReadEvent(ref r, out _, out _));
            }

            lock (_inbound)
            {
                _inbound.Add(new Batch(attach, first, events));
            }
        }
    }

    /// <summary>One inbound batch: the attach it came in (1 for the first), its first portal-wide sequence number, its events.</summary>
    public sealed record Batch(int Attach, long First, IReadOnlyList<InboundEvent> Events)
    {
        /// <summary>Whether it holds the input <paramref name="text"/>.</summary>
        public bool HasInput(string text) => Events.Any(e => e.Kind == InboundKind.Input && e.Text == text);
    }
}
