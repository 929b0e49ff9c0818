using System.Buffers;
using System.Net.Sockets;

namespace Dominance.Portal.Sending;

/// <summary>
/// A connection's output sent on its socket by the portal itself, from the <see cref="SocketSender"/>'s thread, instead
/// of through the transport's output pipe and its socket loop. Every byte for the connection goes this way once it is
/// made (its writes, and the broadcasts it is a recipient of), so that nothing can interleave with it.
/// </summary>
/// <remarks>
/// <para>On the sender's thread, a write is one non-blocking <c>send</c>. What the kernel does not take (a client that
/// reads slowly, or not at all) is kept here, and sent asynchronously, in order, before anything newer: whatever is
/// written meanwhile is appended to it (coalesced into the same buffers). The queue is bounded in messages and in bytes
/// (<see cref="Overflowed"/>); a connection that fails (reset, closed, disposed) drops its output quietly. An exception
/// while sending to it (a bug, or zlib out of memory) ends this connection's output only (<see cref="Failed"/>), never
/// the sender's thread.</para>
/// <para>An idle connection holds no buffer.</para>
/// </remarks>
internal sealed class DirectSocket
{
    private const int ChunkSize = 4096;

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle; // _socket's, read once: Socket.SafeHandle writes to the handle each time it is read
    private readonly SocketSender _sender;
    private readonly int _capacity;
    private readonly long _capacityBytes;

    // The sender's thread only.
    private Queue<Chunk>? _pending; // non-null only while it holds bytes; then a send is under way (_sending)
    private Chunk? _tail;
    private int _pendingMessages;
    private long _pendingBytes;
    private long _keptBytes; // every byte ever kept; those of them sent are _keptBytes - _pendingBytes
    private LargestPendingWrite? _largest; // what the bound in bytes leaves out; made at the first keep
    private bool _sending;
    private ValueTask<int> _send;
    private bool _dead;
    private bool _sealed; // the last write (a WebSocket close frame, telnet's end) is sent or kept: nothing after it goes out
    private bool _inRing; // a send of this connection is in the sender's ring; its socket handle holds a reference until it completes
    private Deflater? _deflater; // telnet MCCP2: everything sent is compressed, in order
    private Action? _onSent;

    // Any thread.
    private volatile bool _closeAsked;
    private TaskCompletionSource? _drained;

    /// <summary>
    /// Takes over sending on <paramref name="socket"/> (made non-blocking). At most <paramref name="capacity"/>
    /// messages, and at most <paramref name="capacityBytes"/> bytes (by default <paramref name="capacity"/> × 4 KiB) beyond
    /// what is still unsent of the largest single write (<see cref="LargestPendingWrite"/>), may wait for a client that does not read (a write counts as one message however many
    /// frames it holds, so the bytes bound it too); past either, <see cref="Overflowed"/> is called and the output
    /// dropped. One write larger than the kernel takes at once is never cut off for its own size: a client that reads
    /// is given a large page whole, and one that does not is cut off by what piles up behind it.
    /// </summary>
    public DirectSocket(Socket socket, SocketSender sender, int capacity, long? capacityBytes = null)
    {
        socket.Blocking = false; // synchronous sends return at once; the transport's own reads are asynchronous and unaffected
        _socket = socket;
        _handle = socket.SafeHandle;
        _sender = sender;
        _capacity = capacity;
        _capacityBytes = capacityBytes ?? (long)capacity * ChunkSize;
    }

    /// <summary>
    /// Called on the thread pool when more than the capacity waits: the client is not reading. Without it, the socket
    /// is shut down.
    /// </summary>
    public Action? Overflowed { get; set; }

    /// <summary>The most messages that may wait for the client (past it, <see cref="Overflowed"/>).</summary>
    public int Capacity => _capacity;

    /// <summary>The most bytes that may wait for the client (past it, <see cref="Overflowed"/>).</summary>
    public long CapacityBytes => _capacityBytes;

    /// <summary>
    /// Called on the thread pool when sending to this connection threw (<see cref="Fail"/>): its output is dropped,
    /// and the session must end. Without it, the socket is shut down.
    /// </summary>
    public Action<Exception>? Failed { get; set; }

    /// <summary>The thread that sends on this connection.</summary>
    public SocketSender Sender => _sender;

    /// <summary>Messages waiting for the client to take them (a reading for metrics, from any thread).</summary>
    public int PendingMessages => Volatile.Read(ref _pendingMessages);

    /// <summary>Bytes waiting for the client to take them, beyond the kernel's buffer (a reading, from any thread).</summary>
    public long PendingBytes => Volatile.Read(ref _pendingBytes);

    /// <summary>
    /// Sends a copy of <paramref name="bytes"/> after everything written before. With <paramref name="last"/> (the
    /// WebSocket close frame), nothing posted after it is sent, broadcasts included: a broadcast taken before the close
    /// but posted after it must not follow the close frame on the wire. Any thread; never blocks.
    /// </summary>
    public void Write(ReadOnlySpan<byte> bytes, bool last = false)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(buffer);
        _sender.PostWrite(this, buffer, bytes.Length, last ? WriteEnd.Last : WriteEnd.None);
    }

    /// <summary>
    /// Sends <paramref name="buffer"/>'s first <paramref name="length"/> bytes after everything written before, then does
    /// <paramref name="then"/> at the same place in the connection's order (no broadcast can come between). Takes over
    /// <paramref name="buffer"/> (rented from the shared pool; <see langword="null"/> with a length of 0 for <paramref name="then"/> alone).
    /// Any thread; never blocks.
    /// </summary>
    public void WriteOwned(byte[]? buffer, int length, WriteEnd then = WriteEnd.None) => _sender.PostWrite(this, buffer, length, then);

    /// <summary>Completes once everything written before has been sent, or the connection has failed or been closed.</summary>
    public Task DrainAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _drained, drained, null) is { } waiting)
        {
            return waiting.Task;
        }

        _sender.PostTurn(this);
        return drained.Task;
    }

    /// <summary>Drops whatever is still to be sent, and sends nothing more. Any thread.</summary>
    public void Close()
    {
        _closeAsked = true;
        _sender.PostTurn(this);
    }

    /// <summary>Sender's thread: whether a send of this connection is in the sender's ring, not yet completed.</summary>
    internal bool InRing => _inRing;

    /// <summary>The sender's thread's marks: which broadcasts of the run being sent are addressed to this connection and not yet sent (<see cref="SocketSender"/>).</summary>
    internal uint Marks { get; set; }

    /// <summary>Sender's thread: sends <paramref name="bytes"/> (valid during the call only, <paramref name="messages"/> messages) after what is pending.</summary>
    internal void Send(ReadOnlySpan<byte> bytes, int messages = 1)
    {
        if (_dead || _sealed)
        {
            return;
        }

        if (_deflater is not null)
        {
            bytes = _deflater.Compress(bytes);
        }

        if (_pending is null)
        {
            int sent = TrySend(bytes);
            if (sent == bytes.Length || _dead)
            {
                return;
            }

            bytes = bytes[sent..];
        }

        Keep(bytes, messages);
    }

    /// <summary>
    /// Sender's thread: whether this connection's next send may go into the sender's ring (<see cref="SendRing"/>): it
    /// has nothing pending, nothing to compress, and no send in the ring already. If so, its socket's handle is kept open
    /// (a reference taken) until <see cref="RingSent"/>, and <paramref name="fd"/> is its descriptor.
    /// </summary>
    internal bool TryEnterRing(out nint fd)
    {
        fd = 0;
        if (_dead || _sealed || _deflater is not null || _pending is not null || _inRing)
        {
            return false;
        }

        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return false; // closed: Send finds it so, and the output dies
        }

        if (!added)
        {
            return false;
        }

        fd = _handle.DangerousGetHandle();
        _inRing = true;
        return true;
    }

    /// <summary>
    /// Sender's thread: the ring's send of <paramref name="bytes"/> (<paramref name="messages"/> messages) completed with
    /// <paramref name="result"/>, the bytes sent or a negated errno; as <see cref="Send"/> after its <c>send</c>, what the
    /// kernel did not take is kept, and a failure kills the connection's output.
    /// </summary>
    internal void RingSent(int result, ReadOnlySpan<byte> bytes, int messages)
    {
        _inRing = false;
        _handle.DangerousRelease();
        if (result == bytes.Length || _dead)
        {
            return;
        }

        if (result == -SendRing.Unsupported)
        {
            Send(bytes, messages); // a kernel whose io_uring has no IORING_OP_SEND: nothing was sent, so send it as it is
        }
        else if (result >= 0)
        {
            Keep(bytes[result..], messages);
        }
        else if (result is -SendRing.WouldBlock or -SendRing.Interrupted)
        {
            Keep(bytes, messages);
        }
        else
        {
            Die(); // reset, closed: as TrySend
        }
    }

    /// <summary>
    /// Sender's thread: as <see cref="Send"/>, for a buffer rented from the shared pool (if any), which this returns;
    /// then <paramref name="then"/>.
    /// </summary>
    internal void SendOwned(byte[]? buffer, int length, WriteEnd then)
    {
        if (buffer is not null)
        {
            Send(buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }

        switch (then)
        {
            case WriteEnd.StartCompression when _deflater is null && !_dead && !_sealed:
                _deflater = new Deflater(_sender.Scratch);
                break;
            case WriteEnd.EndCompression:
                EndCompression();
                break;
            case WriteEnd.Last:
                EndCompression();
                _sealed = true;
                break;
        }
    }

    /// <summary>Ends the compressed stream, if any: its last bytes are sent, and what follows goes as it is.</summary>
    private void EndCompression()
    {
        if (_deflater is not { } deflater)
        {
            return;
        }

        _deflater = null;
        if (_dead || _sealed)
        {
            deflater.Dispose();
            return;
        }

        Send(deflater.Finish(), 0);
    }

    /// <summary>
    /// Sender's thread: sending to this connection threw. Its output is dropped (the zlib stream, whose state is in
    /// doubt, left to the collector), a drain waiting is completed, and <see cref="Failed"/> is told on the thread pool,
    /// so that this connection ends and the sender goes on with the others. Never throws.
    /// </summary>
    internal void Fail(Exception error)
    {
        _deflater = null;
        try
        {
            Die();
        }
        catch (Exception)
        {
            _dead = true; // what could not be let go is left to the collector
        }

        Interlocked.Exchange(ref _drained, null)?.TrySetResult();
        if (Failed is { } failed)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.failed(state.error), (failed, error), preferLocal: false);
        }
        else
        {
            ShutDown();
        }
    }

    /// <summary>Sender's thread: the connection's own turn: a send completed, a drain or a close was asked for.</summary>
    internal void Turn()
    {
        if (_closeAsked && !_dead)
        {
            Die();
        }

        if (_sending && _send.IsCompleted)
        {
            Completed();
            Pump();
        }

        if ((_dead || (!_sending && _pending is null)) && Volatile.Read(ref _drained) is not null)
        {
            Interlocked.Exchange(ref _drained, null)?.TrySetResult();
        }
    }

    /// <summary>One non-blocking send. Returns the bytes the kernel took (0 when it has no room); a failure kills the connection's output.</summary>
    private int TrySend(ReadOnlySpan<byte> bytes)
    {
        try
        {
            int sent = _socket.Send(bytes, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                return sent;
            }

            if (error is SocketError.WouldBlock or SocketError.Interrupted)
            {
                return 0;
            }
        }
        catch (ObjectDisposedException)
        {
        }

        Die();
        return 0;
    }

    /// <summary>Keeps bytes the kernel did not take, after those kept already, and makes sure they are being sent.</summary>
    private void Keep(ReadOnlySpan<byte> bytes, int messages)
    {
        _pending ??= new Queue<Chunk>();
        if (_tail is null || _tail.Room < bytes.Length)
        {
            _tail = new Chunk(ArrayPool<byte>.Shared.Rent(Math.Max(ChunkSize, bytes.Length)));
            _pending.Enqueue(_tail);
        }

        bytes.CopyTo(_tail.Buffer.AsSpan(_tail.End));
        _tail.End += bytes.Length;
        _tail.Messages += messages;
        _pendingMessages += messages;
        _pendingBytes += bytes.Length;
        _keptBytes += bytes.Length;
        _largest ??= new LargestPendingWrite();
        _largest.Kept(_keptBytes, bytes.Length);
        if (_pendingMessages > _capacity || _pendingBytes - _largest.Unsent(_keptBytes - _pendingBytes) > _capacityBytes)
        {
            Die();
            if (Overflowed is { } overflowed)
            {
                // On the pool, not here: the session's code (logging, aborting) must not hold up, or end, this thread.
                ThreadPool.UnsafeQueueUserWorkItem(static callback => callback(), overflowed, preferLocal: false);
            }
            else
            {
                ShutDown(); // nobody to tell: the connection ends, and with it its session
            }

            return;
        }

        if (!_sending)
        {
            Pump();
        }
    }

    /// <summary>Sends what is pending, in order, until it is all sent or the kernel has no room; then waits for room asynchronously.</summary>
    private void Pump()
    {
        while (_pending is not null && !_dead)
        {
            Chunk head = _pending.Peek();
            int sent = TrySend(head.Buffer.AsSpan(head.Start, head.End - head.Start));
            head.Start += sent;
            _pendingBytes -= sent;
            if (_dead)
            {
                return;
            }

            if (head.Start == head.End)
            {
                Dequeue();
                continue;
            }

            try
            {
                _send = _socket.SendAsync(head.Buffer.AsMemory(head.Start, head.End - head.Start), SocketFlags.None);
            }
            catch (ObjectDisposedException)
            {
                Die();
                return;
            }

            _sending = true;
            if (!_send.IsCompleted)
            {
                _send.GetAwaiter().UnsafeOnCompleted(_onSent ??= () => _sender.PostTurn(this));
                return;
            }

            Completed();
        }
    }

    /// <summary>The asynchronous send of the first pending chunk is over: counts what it sent (all of it, or a failure).</summary>
    private void Completed()
    {
        _sending = false;
        int sent;
        try
        {
            sent = _send.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            sent = -1;
        }

        _send = default;
        if (_dead)
        {
            Release(_pending?.Dequeue()); // the buffer the send was using, kept until now
            _pending = null;
            return;
        }

        if (sent < 0)
        {
            Die();
            return;
        }

        Chunk head = _pending!.Peek();
        head.Start += sent;
        _pendingBytes -= sent;
        if (head.Start == head.End)
        {
            Dequeue();
        }
    }

    private void Dequeue()
    {
        Chunk done = _pending!.Dequeue();
        _pendingMessages -= done.Messages;
        if (ReferenceEquals(done, _tail))
        {
            _tail = null;
        }

        Release(done);
        if (_pending.Count == 0)
        {
            _pending = null;
            _largest?.Clear();
        }
    }

    /// <summary>The connection failed or was closed: nothing more is sent, and what was pending is let go (except a buffer an asynchronous send still uses).</summary>
    private void Die()
    {
        _dead = true;
        _deflater?.Dispose();
        _deflater = null;
        if (_pending is not null)
        {
            Chunk? inUse = _sending ? _pending.Dequeue() : null;
            while (_pending.TryDequeue(out Chunk? chunk))
            {
                Release(chunk);
            }

            _pending = null;
            if (inUse is not null)
            {
                _pending = new Queue<Chunk>(1);
                _pending.Enqueue(inUse);
            }
        }

        _tail = null;
        _pendingMessages = 0;
        _pendingBytes = 0;
        _keptBytes = 0;
        _largest?.Clear();
    }

    private void ShutDown()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already gone
        }
    }

    private static void Release(Chunk? chunk)
    {
        if (chunk is not null)
        {
            ArrayPool<byte>.Shared.Return(chunk.Buffer);
        }
    }

    /// <summary>What a write does after its bytes, at the same place in the connection's order.</summary>
    public enum WriteEnd : byte
    {
        /// <summary>Nothing.</summary>
        None,

        /// <summary>The connection's last write: a compressed stream is ended, and nothing posted after it is sent (a WebSocket close frame; telnet's end).</summary>
        Last,

        /// <summary>Everything sent after it is compressed (telnet MCCP2, after <c>IAC SB MCCP2 IAC SE</c>).</summary>
        StartCompression,

        /// <summary>The compressed stream ends (its final block is sent); what follows goes as it is.</summary>
        EndCompression,
    }

    private sealed class Chunk(byte[] buffer)
    {
        public byte[] Buffer { get; } = buffer;

        public int Start { get; set; }

        public int End { get; set; }

        public int Messages { get; set; }

        public int Room => Buffer.Length - End;
    }
}
