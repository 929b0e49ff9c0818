using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Threading.Channels;
using Dominance.Api;
using Dominance.Core;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Dominance.Portal;

/// <summary>
/// One client connection, whatever its protocol. It runs two loops: a read loop that turns the client's bytes into
/// inputs and relays them to the core, and a write loop that drains the session's outbox to the socket.
/// </summary>
/// <remarks>
/// <para><b>The outbox.</b> The core adds frames through the session's link (<see cref="ISessionLink"/>: a frame, a
/// close, an echo switch), on the game thread, and the portal adds its own notices; adding never blocks. The outbox
/// holds at most <see cref="PortalSettings.SendQueueCapacity"/> frames: the count is kept here, and a frame past it
/// means the client is not reading, so the session is aborted instead of slowing anybody else. The frames sit in an
/// <see cref="Outbox"/>, a small ring that is unbounded as a type: the bound needs no more than a counter, and an idle
/// connection holds a few frames' room, not a channel's first queue segment.</para>
/// <para><b>Delivery runs inline, by design.</b> The outbox runs its reader's continuation on the writer, so when the write loop is
/// idle (parked in <see cref="Outbox.WaitToReadAsync"/>), the thread that queues a frame, usually the game thread, runs the loop's next
/// turn itself: it copies the frame into the session's buffer (telnet's bytes, or whole frames built by the session for
/// WebSocket) and starts the flush: a post to the connection's sender thread (<see cref="Sending.DirectSocket"/>), or
/// for a connection the portal does not send on itself, Kestrel's output pipe. The sender, or Kestrel's socket loop,
/// makes the send system call, not this thread. None of that can block: a pipe over its pause threshold, a WebSocket connection whose control
/// frame (a pong) is still under way, or a client that stopped reading make the flush return a pending task, and the
/// game thread returns at that point; the rest of the turn continues on the thread pool when the transport has room. A loop that is busy that
/// way is not parked, so queueing more for it runs nothing. This saves a thread hop per delivery, which is most of
/// the cost of a fan-out. Hazards: the loop reads without a cancellation token, so the deadlock of synchronous
/// continuations with a cancelable read (dotnet/runtime#33858) cannot occur; nothing in a transport's write path takes
/// a lock that game code holds.</para>
/// <para><b>Broadcasts past the outbox.</b> A session whose connection the portal sends on itself (telnet, or a
/// WebSocket taken over: <see cref="Sending.DirectSocket"/>) may take a broadcast's shared bytes without its outbox, while the write
/// loop is parked with nothing queued (<see cref="OutboxIdle"/>): everything queued before has been written, so the
/// order holds.</para>
/// <para>The write loop sends as soon as there is something to send. When several frames are already queued it writes
/// them together and flushes once; it never waits for more.</para>
/// </remarks>
internal abstract class PortalSession : ISessionLink
{
    private const int Open = 0;
    private const int Closing = 1;
    private const int Aborted = 2;

    private readonly Outbox _outbox = new();
    private readonly int _outboxCapacity;
    private CommandRateLimiter _rate;
    private long _readTime;
    private SessionInfo _info;
    private string? _restoreToken;
    private volatile bool _echoOff;
    private int _state;

    // Set when the core asks to close the session (Close), before its goodbye is queued: what the client has not taken
    // from then on is its last output. The state turns Closing only after the write loop's last flush, and the sender's
    // overflow of the goodbye may come before the write loop even takes the close frame (the goodbye is flushed in a
    // turn of its own when the loop was idle).
    private bool _closeAsked;

    /// <summary>Frames in the outbox: counted up before a frame is added, down when the write loop takes it.</summary>
    private int _queued;

    // What has been written to the client: by the write loop, and by broadcasts sent on the socket directly (on the
    // game thread, while the loop is parked). The metrics read them (a 64-bit read is atomic).
    private long _framesDelivered;
    private long _bytesSent;

    // Write loop only: the last text wrapped to the client's window (FitToWindow).
    private ArrayBufferWriter<byte>? _wrapped;

    protected PortalSession(PortalService portal, ClientProtocol protocol, IPAddress remoteAddress, bool supportsOutOfBand = false)
    {
        Portal = portal;
        Id = portal.NextSessionId();
        _info = new SessionInfo
        {
            Id = Id,
            Protocol = protocol,
            RemoteAddress = remoteAddress,
            ConnectedAt = portal.Clock.GetUtcNow(),
            SupportsOutOfBand = supportsOutOfBand,
        };
        _rate = new CommandRateLimiter(portal.Settings.CommandRateLimit, portal.Settings.CommandRateWindow, portal.Clock);
        _outboxCapacity = portal.Settings.SendQueueCapacity;
    }

    /// <summary>The session's id, assigned by the portal.</summary>
    public SessionId Id { get; }

    /// <summary>The resume token the client presented when it connected, if any: it asks for a parked session back.</summary>
    public string? ResumeToken { get; init; }

    /// <summary>What has been negotiated with the client so far. Replaced, never mutated.</summary>
    public SessionInfo Info => Volatile.Read(ref _info);

    protected PortalService Portal { get; }

    /// <summary>Frames waiting in the outbox now, and messages waiting on the socket when it is sent on directly.</summary>
    public int Queued => Volatile.Read(ref _queued) + QueuedOnSocket;

    /// <summary>Messages waiting on the socket, past the outbox (when the portal sends on the socket itself).</summary>
    private int QueuedOnSocket => Direct?.PendingMessages ?? 0;

    /// <summary>The connection's socket, when the portal sends on it itself (every byte for the connection goes through it), else <see langword="null"/>.</summary>
    protected virtual Sending.DirectSocket? Direct => null;

    /// <summary>Messages (frames with a payload) written to the client so far.</summary>
    public long FramesDelivered => Volatile.Read(ref _framesDelivered);

    /// <summary>Bytes of those messages, as the core encoded them (before transport framing).</summary>
    public long BytesSent => Volatile.Read(ref _bytesSent);

    /// <inheritdoc/>
    public bool TrySend(OutputKind kind, OutputPayload payload) => TryQueue(new OutputFrame((FrameKind)kind, payload));

    /// <inheritdoc/>
    /// <remarks>The portal's, when this session's connection is sent on directly (<see cref="Direct"/>).</remarks>
    public IBroadcastSink? Broadcasts => Direct is null ? null : Portal.Broadcasts;

    /// <summary>
    /// Game thread: whether this session takes <paramref name="payload"/> as a broadcast's shared bytes of
    /// <paramref name="rendering"/>, sent on <paramref name="socket"/>: its connection is sent on directly, it renders
    /// the frame in a way others can share (<see cref="BroadcastRendering"/>), and nothing of its own is queued before
    /// it (<see cref="OutboxIdle"/>). Counts it delivered.
    /// </summary>
    internal bool TryTakeBroadcast(
        OutputKind kind,
        OutputPayload payload,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Sending.FrameRendering? rendering,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Sending.DirectSocket? socket)
    {
        socket = Direct;
        rendering = null;
        if (socket is null || (rendering = BroadcastRendering(kind, payload)) is null || !OutboxIdle)
        {
            return false;
        }

        CountDelivered(payload.Span.Length);
        return true;
    }

    /// <summary>
    /// Game thread: how this connection would write a frame of <paramref name="kind"/> holding
    /// <paramref name="payload"/>, if the bytes are those of a rendering other connections may share; <see langword="null"/>
    /// if they are its own (text wrapped to its window) or it writes nothing for it.
    /// </summary>
    protected virtual Sending.FrameRendering? BroadcastRendering(OutputKind kind, OutputPayload payload) => null;

    /// <summary>
    /// Whether a frame may go to the client by another way than the outbox now (a broadcast sent on the socket
    /// directly) without passing anything queued before it: the session is open and its write loop is parked with
    /// nothing queued, so everything queued before has been written. The caller queues nothing meanwhile (the game thread).
    /// </summary>
    private bool OutboxIdle => Volatile.Read(ref _state) == Open && _outbox.IsIdle;

    /// <summary>Counts a message delivered by another way than the write loop (see <see cref="OutboxIdle"/>).</summary>
    private void CountDelivered(int bytes)
    {
        Interlocked.Increment(ref _framesDelivered);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    /// <summary>The client's output waiting on its socket went over the bound: it is not reading. Logged, counted and aborted.</summary>
    /// <remarks>While the session is closing (its goodbye went over the bound), it is a close cut short instead: counted and logged as one.</remarks>
    protected void OnSendBacklogFull()
    {
        if (Direct is not { } direct)
        {
            return;
        }

        if (Volatile.Read(ref _state) == Open && !Volatile.Read(ref _closeAsked))
        {
            long total = Portal.Counters.CountSlowClientDisconnected();
            Portal.Log.LogWarning(
                "Session {Session} ({Address}) is not reading its output: send backlog full at {Capacity} messages or {Bytes} bytes; disconnecting it [{Total} slow clients disconnected so far]",
                Id, Info.RemoteAddress, direct.Capacity, direct.CapacityBytes, total);
            Abort("send backlog full");
        }
        else if (Volatile.Read(ref _state) != Aborted)
        {
            long total = Portal.Counters.CountCloseCutShort();
            Portal.Log.LogWarning(
                "Session {Session} ({Address}) did not take its last output: send backlog full at {Capacity} messages or {Bytes} bytes while closing [{Total} close(s) cut short so far]",
                Id, Info.RemoteAddress, direct.Capacity, direct.CapacityBytes, total);
        }
    }

    /// <summary>
    /// Sending on this connection's socket threw on the sender's thread (<see cref="Sending.DirectSocket.Failed"/>): logged,
    /// and the session aborted, as a write loop that fails is. Other connections are not affected.
    /// </summary>
    protected void OnSendFailed(Exception error)
    {
        Portal.Log.LogError(error, "Session {Session} failed while sending", Id);
        Abort("send failed");
    }

    /// <inheritdoc/>
    public void Close(OutputPayload? goodbye)
    {
        Volatile.Write(ref _closeAsked, true); // from here on, a bound the client goes over is a close cut short
        if (goodbye is not null && !TryQueue(new OutputFrame(FrameKind.Text, goodbye)))
        {
            goodbye.Release();
        }

        if (!TryQueue(new OutputFrame(FrameKind.Close, null)) && Volatile.Read(ref _state) == Open)
        {
            // The send queue is full (the client is not reading), so the close cannot wait behind it: end it now.
            long total = Portal.Counters.CountCloseCutShort();
            Portal.Log.LogWarning(
                "Session {Session} ({Address}) did not take its last output: send queue full at {Capacity} messages while closing [{Total} close(s) cut short so far]",
                Id, Info.RemoteAddress, Portal.Settings.SendQueueCapacity, total);
            Abort("send queue full while closing");
        }
    }

    /// <inheritdoc/>
    public void SetEcho(bool enabled)
    {
        _echoOff = !enabled;
        TryQueue(new OutputFrame(enabled ? FrameKind.EchoOn : FrameKind.EchoOff, null));
    }

    /// <summary>
    /// Whether the core last asked the client not to echo (<see cref="SetEcho"/>): what the player types now is secret (a
    /// password), and the portal never quotes it back.
    /// </summary>
    public bool EchoOff => _echoOff;

    /// <inheritdoc/>
    /// <remarks>Kept as it is, for a portal that must connect its sessions to a core again (<c>Dominance.Nats</c>).</remarks>
    public void SetRestoreToken(string token) => Volatile.Write(ref _restoreToken, token);

    /// <summary>The latest restore token the core handed this session (<see cref="SetRestoreToken"/>), or <see langword="null"/>.</summary>
    public string? RestoreToken => Volatile.Read(ref _restoreToken);

    /// <summary>Tells this session's player one line from the portal itself (not the game). Never blocks.</summary>
    public void Notify(string text) => SendLine(text);

    /// <summary>
    /// Adds a frame within the outbox's bound, without blocking; the outbox takes over the frame's payload reference
    /// if it returns <see langword="true"/>. Returns <see langword="false"/> if the session is closing (the frame is
    /// dropped quietly) or if the outbox was full, in which case the session is aborted and the event logged.
    /// </summary>
    private bool TryQueue(OutputFrame frame)
    {
        // The count goes up first, so the bound holds however many threads queue at once.
        if (Interlocked.Increment(ref _queued) > _outboxCapacity)
        {
            Interlocked.Decrement(ref _queued);
            OnRefused();
            return false;
        }

        if (_outbox.TryWrite(frame))
        {
            return true;
        }

        Interlocked.Decrement(ref _queued); // closing or aborted: dropped quietly
        return false;
    }

    private void OnRefused()
    {
        if (Volatile.Read(ref _state) == Open && !Volatile.Read(ref _closeAsked))
        {
            long total = Portal.Counters.CountSlowClientDisconnected();
            Portal.Log.LogWarning(
                "Session {Session} ({Address}) is not reading its output: send queue full at {Capacity} messages; disconnecting it [{Total} slow clients disconnected so far]",
                Id, Info.RemoteAddress, Portal.Settings.SendQueueCapacity, total);
            Abort("send queue full");
        }
    }

    /// <summary>Closes the connection now, dropping queued output. Safe from any thread, any number of times.</summary>
    public void Abort(string reason)
    {
        if (Interlocked.Exchange(ref _state, Aborted) == Aborted)
        {
            return;
        }

        _outbox.TryComplete();
        Portal.Log.LogDebug("Session {Session} aborted: {Reason}", Id, reason);
        AbortTransport();
    }

    /// <summary>
    /// Runs the session to its end: announces it to the core, runs the read and write loops, and announces the
    /// disconnect. Completes when the connection is closed.
    /// </summary>
    public async Task RunAsync()
    {
        Portal.Register(this);
        Task writer = Task.CompletedTask;
        try
        {
            await Portal.Inbound.WriteAsync(InboundEvent.Connected(this, Info, ResumeToken)).ConfigureAwait(false);
            writer = WriteLoopAsync();
            OnStarted();
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (IsDisconnect(e))
        {
            // The client went away, or the core stopped; either way the session ends here.
        }
        catch (Exception e)
        {
            Portal.Log.LogError(e, "Session {Session} failed while reading", Id);
        }
        finally
        {
            // Unless the write loop closed the connection on the core's request, the client left (or broke the
            // protocol): its pending output has nowhere to go.
            if (Interlocked.CompareExchange(ref _state, Aborted, Open) == Open)
            {
                _outbox.TryComplete();
                AbortTransport();
            }

            await writer.ConfigureAwait(false);
            try
            {
                await Portal.Inbound.WriteAsync(InboundEvent.Disconnected(Id)).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                // The core has already stopped; there is nobody left to tell.
            }

            Portal.Unregister(this);
        }
    }

    /// <summary>Reads and relays input until the client closes or the transport is closed or aborted.</summary>
    protected abstract Task ReadLoopAsync();

    /// <summary>Writes (or buffers) one frame. Never called with <see cref="FrameKind.Close"/>.</summary>
    protected abstract ValueTask WriteFrameAsync(OutputFrame frame);

    /// <summary>Pushes everything written so far to the client.</summary>
    protected abstract ValueTask FlushAsync();

    /// <summary>Closes the connection gracefully after the final flush. Must make <see cref="ReadLoopAsync"/> return.</summary>
    protected abstract ValueTask CloseTransportAsync();

    /// <summary>Closes the connection at once. Must make both loops return promptly. Called at most once.</summary>
    protected abstract void AbortTransport();

    /// <summary>Called once, as the write loop ends (closed or aborted), on the write loop: frees what it used.</summary>
    protected virtual void OnWriteLoopEnded()
    {
    }

    /// <summary>Called once the write loop runs, before the first read (telnet starts its negotiation here).</summary>
    protected virtual void OnStarted()
    {
    }

    /// <summary>
    /// Marks the start of a new read from the client: inputs counted after this arrived at a new time. Inputs from the
    /// same read share one clock reading when the rate limiter needs one.
    /// </summary>
    protected void BeginRead() => _readTime = 0;

    /// <summary>
    /// Counts one input against the command rate. Returns whether it may be relayed; the first refusal in a window
    /// warns the client and logs.
    /// </summary>
    protected bool AdmitInput() => Admit(ref _rate, "inputs", tellClient: true);

    /// <summary>
    /// Counts one message of the client's against <paramref name="limiter"/> (the commands', or another of the
    /// session's with the same settings), sharing the current read's clock reading. Returns whether it may pass; a
    /// refusal is counted as rate-limited input, and the first in a window is logged (naming the limit's
    /// <paramref name="what"/>) and, with <paramref name="tellClient"/>, told to the client.
    /// </summary>
    protected bool Admit(ref CommandRateLimiter limiter, string what, bool tellClient)
    {
        RateVerdict verdict = limiter.Check(ref _readTime);
        if (verdict == RateVerdict.Accepted)
        {
            return true;
        }

        long total = Portal.Counters.CountInputRateLimited();
        if (verdict == RateVerdict.RejectedFirst)
        {
            Portal.Log.LogWarning(
                "Session {Session} ({Address}) exceeded {Limit} {What} per {Window}; dropping them until the window ends [{Total} inputs rate-limited so far]",
                Id, Info.RemoteAddress, Portal.Settings.CommandRateLimit, what, Portal.Settings.CommandRateWindow, total);
            if (tellClient)
            {
                SendLine($"You are sending commands too fast (more than {Portal.Settings.CommandRateLimit} per {Describe(Portal.Settings.CommandRateWindow)}). Input is dropped until you slow down.");
            }
        }

        return false;
    }

    /// <summary>Refuses an input that is too long, telling the client and the log.</summary>
    protected void RejectTooLong(int length)
    {
        long total = Portal.Counters.CountInputTooLong();
        Portal.Log.LogWarning(
            "Session {Session} ({Address}) sent an input of {Length} characters, over the limit of {Limit}; dropped [{Total} oversized inputs so far]",
            Id, Info.RemoteAddress, length, Portal.Settings.MaxInputLength, total);
        SendLine($"Input too long ({(length > 0 ? length.ToString() : "over the limit of")} characters; the limit is {Portal.Settings.MaxInputLength}). It was dropped.");
    }

    /// <summary>Refuses an input the protocol does not allow (for example a binary WebSocket frame).</summary>
    protected void RejectMalformed(string notice, string reason)
    {
        Portal.Log.LogWarning("Session {Session} ({Address}) sent malformed input: {Reason}", Id, Info.RemoteAddress, reason);
        SendLine(notice);
    }

    /// <summary>
    /// Relays one input line to the core, waiting while the inbound channel is full. Control codes are removed first
    /// (<see cref="InputText"/>): this is the one way in for player text, whatever the transport.
    /// </summary>
    protected ValueTask RelayLineAsync(string line)
    {
        Portal.Counters.CountInputRelayed();
        return Portal.Inbound.WriteAsync(InboundEvent.Input(Id, InputText.Clean(line)));
    }

    /// <summary>Relays one out-of-band message to the core, its control codes removed as for <see cref="RelayLineAsync"/>.</summary>
    protected ValueTask RelayDataAsync(string package, string json) =>
        Portal.Inbound.WriteAsync(InboundEvent.Data(Id, InputText.Clean(package), InputText.Clean(json)));

    /// <summary>
    /// Takes one GMCP message from the client: GMCP's own <c>Core</c> package is answered here (<see cref="GmcpCore"/>),
    /// a message whose data is not JSON is refused with a notice, and the rest is relayed to the game.
    /// </summary>
    protected ValueTask ReceiveGmcpAsync(string package, string json)
    {
        GmcpCore.Reading reading = GmcpCore.Read(package, json);
        switch (reading.Verdict)
        {
            case GmcpCore.Verdict.Relay:
                return RelayDataAsync(package, json);
            case GmcpCore.Verdict.Change:
                return UpdateInfoAsync(reading.Change!);
            case GmcpCore.Verdict.Ping:
                Queue(FrameKind.Data, OutputPayload.ForData("Core.Ping", ""));
                return ValueTask.CompletedTask;
            case GmcpCore.Verdict.Invalid:
                RejectMalformed(reading.Problem!, $"malformed GMCP {package}");
                return ValueTask.CompletedTask;
            default:
                return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// Game text as it fits this client's window: the payload's own bytes in the common case (no width known, or every
    /// line fits: one comparison), otherwise a copy wrapped to <see cref="SessionInfo.Width"/> (<see cref="TextWrapping"/>).
    /// Write loop only; the span is valid until the next call.
    /// </summary>
    protected ReadOnlySpan<byte> FitToWindow(OutputPayload payload)
    {
        int width = Info.Width;
        if (!TextWrapping.Needed(payload, width))
        {
            return payload.Span;
        }

        _wrapped ??= new ArrayBufferWriter<byte>(256);
        _wrapped.ResetWrittenCount();
        TextWrapping.Wrap(payload.Span, width, _wrapped);
        return _wrapped.WrittenSpan;
    }

    /// <summary>Queues a control frame of the portal's own, in order with the output (such as the start of compression).</summary>
    protected void QueueControl(FrameKind kind) => TryQueue(new OutputFrame(kind, null));

    /// <summary>Publishes renegotiated session facts and tells the core.</summary>
    protected ValueTask UpdateInfoAsync(Func<SessionInfo, SessionInfo> change)
    {
        SessionInfo info = change(Info);
        Volatile.Write(ref _info, info);
        return Portal.Inbound.WriteAsync(InboundEvent.InfoChanged(info));
    }

    /// <summary>Queues bytes that only this connection needs (protocol replies).</summary>
    protected void SendRaw(ReadOnlySpan<byte> bytes)
    {
        Queue(FrameKind.Raw, OutputPayload.ForBytes(bytes));
    }

    /// <summary>Queues one line of text from the portal itself (a notice) for this session alone.</summary>
    protected void SendLine(string text) => Queue(FrameKind.Text, OutputPayload.ForLine(text));

    /// <summary>Queues a frame of the portal's own, handing over the new payload's only reference.</summary>
    private void Queue(FrameKind kind, OutputPayload payload)
    {
        if (!TryQueue(new OutputFrame(kind, payload)))
        {
            payload.Release();
        }
    }

    /// <summary>Whether an exception only means that the connection is gone.</summary>
    protected static bool IsDisconnect(Exception e) => e is IOException or SocketException or OperationCanceledException
        or ConnectionAbortedException or ConnectionResetException or WebSocketException or ObjectDisposedException
        or ChannelClosedException;

    private static string Describe(TimeSpan window) =>
        window == TimeSpan.FromSeconds(1) ? "second" : window.TotalSeconds + " seconds";

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                // Take a frame. If none is queued, wait: the next writer wakes this loop and, the loop being idle,
                // runs the rest of this turn itself. If some were queued already, a slow client's backlog, they are
                // all written in this turn and flushed once.
                bool backlog = _outbox.TryRead(out OutputFrame frame);
                if (!backlog)
                {
                    if (!await _outbox.WaitToReadAsync().ConfigureAwait(false))
                    {
                        break; // closed or aborted, and nothing left
                    }

                    if (!_outbox.TryRead(out frame))
                    {
                        continue;
                    }
                }

                Interlocked.Decrement(ref _queued);

                bool close = frame.Kind == FrameKind.Close;
                if (!close)
                {
                    await WriteAndReleaseAsync(frame).ConfigureAwait(false);
                    while (backlog && _outbox.TryRead(out frame))
                    {
                        Interlocked.Decrement(ref _queued);
                        if (frame.Kind == FrameKind.Close)
                        {
                            close = true;
                            break;
                        }

                        await WriteAndReleaseAsync(frame).ConfigureAwait(false);
                    }
                }

                if (Volatile.Read(ref _state) == Aborted)
                {
                    break;
                }

                await FlushAsync().ConfigureAwait(false);
                if (close)
                {
                    if (Interlocked.CompareExchange(ref _state, Closing, Open) == Open)
                    {
                        _outbox.TryComplete();
                        await CloseTransportAsync().ConfigureAwait(false);
                    }

                    break;
                }
            }
        }
        catch (Exception e)
        {
            if (!IsDisconnect(e))
            {
                Portal.Log.LogError(e, "Session {Session} failed while writing", Id);
            }

            Abort("write failed");
        }
        finally
        {
            while (_outbox.TryRead(out OutputFrame frame))
            {
                Interlocked.Decrement(ref _queued);
                frame.Payload?.Release();
            }

            OnWriteLoopEnded();
        }
    }

    private ValueTask WriteAndReleaseAsync(OutputFrame frame)
    {
        if (Volatile.Read(ref _state) == Aborted)
        {
            frame.Payload?.Release();
            return ValueTask.CompletedTask;
        }

        if (frame.Payload is { } payload)
        {
            CountDelivered(payload.Span.Length);
        }

        ValueTask written;
        try
        {
            written = WriteFrameAsync(frame);
        }
        catch
        {
            frame.Payload?.Release();
            throw;
        }

        if (written.IsCompletedSuccessfully)
        {
            frame.Payload?.Release();
            return ValueTask.CompletedTask;
        }

        return ReleaseAfterAsync(written, frame.Payload);
    }

    private static async ValueTask ReleaseAfterAsync(ValueTask written, OutputPayload? payload)
    {
        try
        {
            await written.ConfigureAwait(false);
        }
        finally
        {
            payload?.Release();
        }
    }
}
