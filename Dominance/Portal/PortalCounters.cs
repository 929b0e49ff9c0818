namespace Dominance.Portal;

/// <summary>Running totals of what the portal did, for logs, <c>/healthz</c> and the metrics. Thread-safe: each count is one atomic add.</summary>
internal sealed class PortalCounters
{
    private long _connectionsAccepted;
    private long _connectionsRefused;
    private long _inputsRateLimited;
    private long _inputsTooLong;
    private long _slowClientsDisconnected;
    private long _inputsRelayed;
    private long _closedFramesDelivered;
    private long _closedBytesSent;
    private long _closesCutShort;

    /// <summary>Connections admitted so far.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    /// <summary>Connections turned away so far (too many, too fast, or shutting down).</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    /// <summary>Inputs dropped for going over the command rate.</summary>
    public long InputsRateLimited => Interlocked.Read(ref _inputsRateLimited);

    /// <summary>Inputs dropped for being too long.</summary>
    public long InputsTooLong => Interlocked.Read(ref _inputsTooLong);

    /// <summary>Sessions disconnected because they let their send queue fill.</summary>
    public long SlowClientsDisconnected => Interlocked.Read(ref _slowClientsDisconnected);

    /// <summary>Connections that ended with output their client had not taken within <see cref="PortalSettings.ShutdownGrace"/> (dropped).</summary>
    public long ClosesCutShort => Interlocked.Read(ref _closesCutShort);

    /// <summary>Input lines relayed to the core so far.</summary>
    public long InputsRelayed => Interlocked.Read(ref _inputsRelayed);

    /// <summary>Messages written to the clients of sessions that have closed.</summary>
    public long ClosedFramesDelivered => Interlocked.Read(ref _closedFramesDelivered);

    /// <summary>Bytes of messages written to the clients of sessions that have closed.</summary>
    public long ClosedBytesSent => Interlocked.Read(ref _closedBytesSent);

    /// <summary>Counts an input line relayed to the core. Called by read loops, never by the game thread.</summary>
    public void CountInputRelayed() => Interlocked.Increment(ref _inputsRelayed);

    /// <summary>Adds what a session that has closed wrote to its client (its own counts stop being read).</summary>
    public void CountClosedSession(long framesDelivered, long bytesSent)
    {
        Interlocked.Add(ref _closedFramesDelivered, framesDelivered);
        Interlocked.Add(ref _closedBytesSent, bytesSent);
    }

    /// <summary>Counts an admitted connection. Returns the new total.</summary>
    public long CountConnectionAccepted() => Interlocked.Increment(ref _connectionsAccepted);

    /// <summary>Counts a refused connection. Returns the new total.</summary>
    public long CountConnectionRefused() => Interlocked.Increment(ref _connectionsRefused);

    /// <summary>Counts an input dropped by the rate limit. Returns the new total.</summary>
    public long CountInputRateLimited() => Interlocked.Increment(ref _inputsRateLimited);

    /// <summary>Counts an input dropped for its length. Returns the new total.</summary>
    public long CountInputTooLong() => Interlocked.Increment(ref _inputsTooLong);

    /// <summary>Counts a slow client disconnected. Returns the new total.</summary>
    public long CountSlowClientDisconnected() => Interlocked.Increment(ref _slowClientsDisconnected);

    /// <summary>Counts a connection that ended with output undelivered. Returns the new total.</summary>
    public long CountCloseCutShort() => Interlocked.Increment(ref _closesCutShort);
}
