using System.Collections.Concurrent;
using System.Threading.Channels;
using Dominance.Api;
using Dominance.Core;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Dominance.Nats;

/// <summary>
/// The core's record of one attached remote portal: its sessions' links, its inbound sequence, its heartbeat, and its
/// output, gathered into batches.
/// </summary>
/// <remarks>
/// <para><b>Output.</b> On the game thread, links add entries to the current batch; the first entry of a batch posts
/// its flush to the game thread, so everything the current callback (and whatever else is already queued for the game
/// thread) sends to this portal goes out together, with no waiting. The flush hands the batch to a sender task, which
/// encodes it (each distinct payload once) and publishes it; the game thread never touches the network.</para>
/// <para>Bounded: at most <see cref="MaxQueuedEntries"/> entries wait for the sender; past that, frames are refused
/// (the core drops them, as for a gone session) until the sender catches up.</para>
/// </remarks>
internal sealed class RemotePortal
{
    /// <summary>Output entries waiting for the sender, at most.</summary>
    public const int MaxQueuedEntries = 1 << 20;

    /// <summary>A NATS message is kept under this size (the server's default limit is 1 MB); a longer batch is split.</summary>
    private const int MaxMessageBytes = 512 * 1024;

    private readonly GameLoop _core;
    private readonly string _instance;
    private readonly INatsConnection _nats;
    private readonly string _subject;
    private readonly ILogger _log;
    private readonly Channel<List<OutputEntry>> _toSend = Channel.CreateUnbounded<List<OutputEntry>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Action _flush;
    private readonly Task _sender;
    private List<OutputEntry> _batch = [];
    private int _queued;
    private long _expected = 1;

    public RemotePortal(string id, string instance, GameLoop core, INatsConnection nats, string prefix, TimeProvider clock, ILogger log)
    {
        Id = id;
        _instance = instance;
        _core = core;
        _nats = nats;
        _subject = Wire.Outbound(prefix, id);
        _log = log;
        LastHeard = clock.GetTimestamp();
        _flush = Flush;
        _sender = SendAsync();
    }

    /// <summary>The portal's id (a subject token).</summary>
    public string Id { get; }

    /// <summary>Its sessions that the core knows, by id.</summary>
    public ConcurrentDictionary<SessionId, RemoteSessionLink> Sessions { get; } = new();

    /// <summary>
    /// The portal-wide sequence number of the next inbound event expected. Written by the inbound reader only; read by the
    /// heartbeat and the output sender, which acknowledge everything before it.
    /// </summary>
    public long Expected
    {
        get => Volatile.Read(ref _expected);
        set => Volatile.Write(ref _expected, value);
    }

    /// <summary>When the portal was last heard from (a timestamp of the core's clock).</summary>
    public long LastHeard { get; set; }

    /// <summary>Set once the portal was dropped: links stop taking output.</summary>
    public bool Dropped { get; private set; }

    /// <summary>Adds one entry to the current batch. Game thread only. Takes over the payload's reference if it returns true.</summary>
    public bool TryQueue(OutputOp op, SessionId session, OutputPayload? payload, string? token)
    {
        if (Dropped || Volatile.Read(ref _queued) >= MaxQueuedEntries)
        {
            return false;
        }

        _batch.Add(new OutputEntry(op, session, payload, token));
        if (_batch.Count == 1)
        {
            _core.Post(_flush);
        }

        return true;
    }

    /// <summary>Stops taking output and ends the sender once what was queued has gone out.</summary>
    public Task DropAsync()
    {
        Dropped = true;
        _core.Post(() =>
        {
            Flush();
            _toSend.Writer.TryComplete();
        });
        return _sender;
    }

    /// <summary>Asks the portal to attach again (it sent what this core does not expect).</summary>
    public static ValueTask AskToReattachAsync(INatsConnection nats, string prefix, string portal, string instance, CancellationToken cancellationToken)
    {
        var w = new WireWriter(32);
        w.Byte(Wire.Version);
        w.String(instance);
        w.Number(0);
        w.Number(0);
        w.Number(1);
        w.Byte((byte)OutputOp.Reattach);
        w.Number(0);
        return nats.PublishWithinAsync(Wire.Outbound(prefix, portal), w.Written.ToArray(), cancellationToken);
    }

    private void Flush()
    {
        if (_batch.Count == 0)
        {
            return;
        }

        List<OutputEntry> batch = _batch;
        _batch = [];
        Interlocked.Add(ref _queued, batch.Count);
        if (!_toSend.Writer.TryWrite(batch))
        {
            Release(batch);
        }
    }

    private async Task SendAsync()
    {
        var w = new WireWriter(64 * 1024);
        var indexes = new Dictionary<OutputPayload, int>(ReferenceEqualityComparer.Instance);
        var payloads = new List<OutputPayload>();
        await foreach (List<OutputEntry> batch in _toSend.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                int start = 0;
                while (start < batch.Count)
                {
                    start = Encode(batch, start, w, indexes, payloads, _instance, Expected - 1);
                    await _nats.PublishAsync(_subject, w.Written).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or ObjectDisposedException)
            {
                _log.LogWarning("Output to portal {Portal} was lost: {Reason}", Id, e.Message);
            }
            finally
            {
                Interlocked.Add(ref _queued, -batch.Count);
                Release(batch);
            }
        }
    }

    /// <summary>Encodes entries from <paramref name="start"/> into one message, as many as fit. Returns where it stopped.</summary>
    private static int Encode(List<OutputEntry> batch, int start, WireWriter w, Dictionary<OutputPayload, int> indexes, List<OutputPayload> payloads, string instance, long acknowledged)
    {
        indexes.Clear();
        payloads.Clear();
        int end = start;
        long bytes = 0;
        for (; end < batch.Count && (end == start || bytes < MaxMessageBytes); end++)
        {
            if (batch[end].Payload is { } payload && indexes.TryAdd(payload, payloads.Count))
            {
                payloads.Add(payload);
                bytes += payload.Span.Length;
            }

            bytes += 12;
        }

        w.Clear();
        w.Byte(Wire.Version);
        w.String(instance);
        w.Number(acknowledged);
        w.Number(payloads.Count);
        foreach (OutputPayload payload in payloads)
        {
            w.Bytes(payload.Span);
        }

        w.Number(end - start);
        for (int i = start; i < end; i++)
        {
            OutputEntry entry = batch[i];
            w.Byte((byte)entry.Op);
            w.Number(entry.Session.Value);
            switch (entry.Op)
            {
                case OutputOp.Text or OutputOp.Data or OutputOp.Prompt:
                    w.Number(indexes[entry.Payload!]);
                    break;
                case OutputOp.Close:
                    w.Number(entry.Payload is null ? 0 : indexes[entry.Payload] + 1);
                    break;
                case OutputOp.RestoreToken:
                    w.String(entry.Token!);
                    break;
            }
        }

        return end;
    }

    private static void Release(List<OutputEntry> batch)
    {
        foreach (OutputEntry entry in batch)
        {
            entry.Payload?.Release();
        }
    }

    /// <summary>One entry of an output batch.</summary>
    private readonly record struct OutputEntry(OutputOp Op, SessionId Session, OutputPayload? Payload, string? Token);
}
