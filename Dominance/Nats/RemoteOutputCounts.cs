namespace Dominance.Nats;

/// <summary>
/// The core's output to its remote portals, counted over all of them (the dropped ones' senders too, until they end):
/// entries waiting for the NATS server, and entries dropped because it did not take them in time. Thread-safe.
/// </summary>
internal sealed class RemoteOutputCounts
{
    private long _queued;
    private long _dropped;

    /// <summary>Output entries waiting to be published now.</summary>
    public long Queued => Volatile.Read(ref _queued);

    /// <summary>Output entries dropped so far because the NATS server did not take them in time.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Counts <paramref name="entries"/> more waiting (negative: fewer).</summary>
    public void AddQueued(int entries) => Interlocked.Add(ref _queued, entries);

    /// <summary>Counts <paramref name="entries"/> dropped.</summary>
    public void AddDropped(int entries) => Interlocked.Add(ref _dropped, entries);
}
