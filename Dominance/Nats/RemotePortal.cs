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
/// encodes it (each distinct payload once) and publishes it, in as many messages as the NATS server's max payload takes
/// (its INFO says; 1 MB by default); the game thread never touches the network.</para>
/// <para>Bounded: at most <see cref="MaxQueuedEntries"/> entries wait for the sender; past that, frames are refused
/// (the core drops them, as for a gone session) until the sender catches up.</para>
/// <para><b>When the NATS server does not take output.</b> Each message waits at most a deadline (the heartbeat
/// interval, as the heartbeats do): while the NATS server is gone, NATS.Net's publish would wait for it to come back,
/// and everything the game made meanwhile would pile up behind it. A message not taken by then is dropped with the rest
/// of its batch, and so is everything after it, without waiting, until the connection is open again (reconnected), or,
/// if it stayed open (a server that does not answer), for one more deadline; then the next batch is tried again. So at
/// most about one deadline's output waits, and the sender ends soon after the portal is dropped. Output is
/// at most once anyway (<see cref="Wire"/>): the portal, which hears no heartbeat either, tells its players and attaches
/// again when the server is back. Dropped entries are counted (<see cref="RemoteOutputCounts"/>, the
/// <c>dominance.nats.output.dropped</c> metric) and logged once when it starts and once when output goes out again.</para>
/// </remarks>
internal sealed class RemotePortal
{
    /// <summary>Output entries waiting for the sender, at most.</summary>
    public const int MaxQueuedEntries = 1 << 20;

    /// <summary>What a player is told in place of output too large for one NATS message: {0} its bytes, {1} the limit.</summary>
    public const string TooLargeNotice = "(The world sent you {0:N0} bytes at once, more than the {1:N0} the link to this portal carries in one message: it was dropped.)";

    private readonly GameLoop _core;
    private readonly string _instance;
    private readonly INatsConnection _nats;
    private readonly string _subject;
    private readonly ILogger _log;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _deadline;
    private readonly RemoteOutputCounts _counts;
    private readonly Channel<List<OutputEntry>> _toSend = Channel.CreateUnbounded<List<OutputEntry>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Action _flush;
    private readonly Task _sender;
    private List<OutputEntry> _batch = [];
    private int _queued;
    private long _expected = 1;

    /// <summary>
    /// A portal of id <paramref name="id"/>, attached now as attach <paramref name="attach"/>; each output message waits at
    /// most <paramref name="deadline"/> for the NATS server (see the remarks).
    /// </summary>
    public RemotePortal(string id, long attach, string instance, GameLoop core, INatsConnection nats, string prefix, TimeProvider clock, TimeSpan deadline, RemoteOutputCounts counts, ILogger log)
    {
        Id = id;
        Attach = attach;
        _instance = instance;
        _core = core;
        _nats = nats;
        _subject = Wire.Outbound(prefix, id);
        _log = log;
        _clock = clock;
        _deadline = deadline;
        _counts = counts;
        LastHeard = clock.GetTimestamp();
        _flush = Flush;
        _sender = SendAsync();
    }

    /// <summary>The portal's id (a subject token).</summary>
    public string Id { get; }

    /// <summary>
    /// This attach's number (the core's count of attaches; a portal that attaches again gets a new one). The portal's
    /// inbound sequence starts again at 1 with every attach: each acknowledgement names the attach it counts in.
    /// </summary>
    public long Attach { get; }

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

    /// <summary>
    /// Asks the portal to attach again (it sent what this core does not expect); <paramref name="attach"/> is the attach
    /// that ends, as the portal named it: the portal ignores the request once it has attached again.
    /// </summary>
    public static ValueTask AskToReattachAsync(INatsConnection nats, string prefix, string portal, string instance, long attach, CancellationToken cancellationToken)
    {
        var w = new WireWriter(32);
        w.Byte(Wire.Version);
        w.String(instance);
        w.Number(attach);
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
        _counts.AddQueued(batch.Count);
        if (!_toSend.Writer.TryWrite(batch))
        {
            Interlocked.Add(ref _queued, -batch.Count);
            _counts.AddQueued(-batch.Count);
            Release(batch);
        }
    }

    private async Task SendAsync()
    {
        var w = new WireWriter(64 * 1024);
        var indexes = new Dictionary<OutputPayload, int>(ReferenceEqualityComparer.Instance);
        var payloads = new List<OutputPayload>();
        // After a message the NATS server did not take in time: entries dropped since output last went out, until when
        // output is dropped without trying, and whether the connection was open then (a server that does not answer).
        long droppedSince = 0;
        long retryAt = 0;
        bool openThen = false;
        await foreach (List<OutputEntry> batch in _toSend.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                // Dropped without waiting: while the connection is down, and for one deadline after a server that did
                // not answer on an open one. A connection open again (reconnected) is tried at once.
                if (droppedSince > 0 && (_nats.ConnectionState != NatsConnectionState.Open || (openThen && _clock.GetTimestamp() < retryAt)))
                {
                    droppedSince += batch.Count;
                    _counts.AddDropped(batch.Count);
                    continue;
                }

                int limit = _nats.MaxPayload();
                ReplaceOversized(batch, limit);
                int start = 0;
                while (start < batch.Count)
                {
                    int end = Encode(batch, start, w, indexes, payloads, _instance, Attach, Expected - 1, limit);
                    using var deadline = new CancellationTokenSource(_deadline, _clock);
                    try
                    {
                        await _nats.PublishWithinAsync(_subject, w.Written, deadline.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // The NATS server is gone (NATS.Net's publish waits for it to come back) or does not keep up:
                        // the rest of the batch, and what comes until it is back, is dropped, not kept.
                        int lost = batch.Count - start;
                        if (droppedSince == 0)
                        {
                            _log.LogWarning(
                                "Output to portal {Portal} is being dropped: the NATS server did not take a message within {Deadline} ms (is it reachable?); what follows is dropped too until it takes output again",
                                Id, _deadline.TotalMilliseconds);
                        }

                        droppedSince += lost;
                        _counts.AddDropped(lost);
                        retryAt = _clock.GetTimestamp() + (long)(_deadline.TotalSeconds * _clock.TimestampFrequency);
                        openThen = _nats.ConnectionState == NatsConnectionState.Open;
                        w = new WireWriter(64 * 1024); // the publish given up may still read the old buffer
                        break;
                    }
                    catch (Exception e) when (e is NatsException or ObjectDisposedException)
                    {
                        _log.LogWarning("Output to portal {Portal} was lost ({Count} entries): {Reason}", Id, end - start, e.Message);
                        _counts.AddDropped(end - start);
                        start = end;
                        continue;
                    }

                    if (droppedSince > 0)
                    {
                        _log.LogInformation("Output to portal {Portal} goes out again; {Count} entries were dropped meanwhile", Id, droppedSince);
                        droppedSince = 0;
                    }

                    start = end;
                }
            }
            finally
            {
                Interlocked.Add(ref _queued, -batch.Count);
                _counts.AddQueued(-batch.Count);
                Release(batch);
            }
        }

        if (droppedSince > 0)
        {
            _log.LogWarning("Output to portal {Portal}: {Count} entries were dropped before it was let go", Id, droppedSince);
        }
    }

    /// <summary>
    /// Replaces each entry whose payload could not go even alone in a message of <paramref name="limit"/> bytes: the player
    /// is told instead (a close loses its goodbye), and it is logged, once per payload (a broadcast has many recipients).
    /// </summary>
    private void ReplaceOversized(List<OutputEntry> batch, int limit)
    {
        int room = limit - HeaderBound(_instance);
        Dictionary<OutputPayload, (OutputPayload Notice, int Bytes, int Recipients)>? replaced = null;
        for (int i = 0; i < batch.Count; i++)
        {
            OutputEntry entry = batch[i];
            if (entry.Payload is not { } payload || EntryBound(entry) + PayloadBound(payload) <= room)
            {
                continue;
            }

            replaced ??= new Dictionary<OutputPayload, (OutputPayload, int, int)>(ReferenceEqualityComparer.Instance);
            if (!replaced.TryGetValue(payload, out (OutputPayload Notice, int Bytes, int Recipients) found))
            {
                // One reference for this dictionary, released below; each entry that uses it takes one of its own.
                found.Bytes = payload.Span.Length;
                found.Notice = OutputPayload.ForLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, TooLargeNotice, found.Bytes, limit));
            }

            replaced[payload] = (found.Notice, found.Bytes, found.Recipients + 1);
            OutputPayload? notice = null;
            if (entry.Op != OutputOp.Close)
            {
                notice = found.Notice;
                notice.AddReferences(1);
            }

            batch[i] = entry with { Op = notice is null ? entry.Op : OutputOp.Text, Payload = notice };
            payload.Release(); // the entry's reference (the dictionary's key is only compared, never read)
        }

        if (replaced is null)
        {
            return;
        }

        foreach ((OutputPayload notice, int bytes, int recipients) in replaced.Values)
        {
            _log.LogWarning(
                "Output of {Bytes} bytes to {Recipients} session(s) on portal {Portal} is over the {Limit} bytes a NATS message can carry (the server's max_payload); they are told instead",
                bytes, recipients, Id, limit);
            notice.Release();
        }
    }

    /// <summary>
    /// Encodes entries from <paramref name="start"/> into one message of at most <paramref name="limit"/> bytes: as many as
    /// fit, at least one (<see cref="ReplaceOversized"/> made every one fit alone). Returns where it stopped.
    /// </summary>
    private static int Encode(List<OutputEntry> batch, int start, WireWriter w, Dictionary<OutputPayload, int> indexes, List<OutputPayload> payloads, string instance, long attach, long acknowledged, int limit)
    {
        indexes.Clear();
        payloads.Clear();
        int end = start;
        long bytes = HeaderBound(instance);
        for (; end < batch.Count; end++)
        {
            // Checked before the entry is added: the message never goes over the limit.
            OutputEntry entry = batch[end];
            bool newPayload = entry.Payload is { } payload && !indexes.ContainsKey(payload);
            long added = EntryBound(entry) + (newPayload ? PayloadBound(entry.Payload!) : 0);
            if (end > start && bytes + added > limit)
            {
                break;
            }

            if (newPayload)
            {
                indexes.Add(entry.Payload!, payloads.Count);
                payloads.Add(entry.Payload!);
            }

            bytes += added;
        }

        w.Clear();
        w.Byte(Wire.Version);
        w.String(instance);
        w.Number(attach);
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

    /// <summary>At most the bytes of an output message's header: version, instance, attach, acknowledgement, and the two counts.</summary>
    private static int HeaderBound(string instance) => 1 + 5 + System.Text.Encoding.UTF8.GetByteCount(instance) + 10 + 10 + 5 + 5;

    /// <summary>At most the bytes of one entry, without its payload: kind, session, and the payload's index or the token.</summary>
    private static int EntryBound(OutputEntry entry) => 1 + 10 + (entry.Token is { } token ? 5 + System.Text.Encoding.UTF8.GetByteCount(token) : 5);

    /// <summary>At most the bytes of one payload in the payload table: its length, then its bytes.</summary>
    private static int PayloadBound(OutputPayload payload) => 5 + payload.Span.Length;

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
