using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Dominance.Portal.Sending;

/// <summary>
/// A thread that sends on the sockets the portal writes itself (<see cref="DirectSocket"/>): one per CPU the process
/// may use, each started when the first connection is given to it, and each connection given to one of them for its
/// life (<see cref="Next"/>). Whoever has output posts it here and returns; the thread takes everything posted so far
/// in one wake and makes the <c>send</c> calls, so that a broadcast to a thousand connections is one post and one wake
/// per sender, not a thousand, and neither the game thread nor the thread pool waits for the kernel.
/// </summary>
/// <remarks>
/// Work is taken in the order it was posted, so a connection's writes keep their order. A broadcast's sends go through
/// a <see cref="SendRing"/> where the kernel has io_uring: up to <see cref="RingEntries"/> connections' sends in one
/// system call, made at once (nothing waits for the batch to fill: a run's sends are submitted before each look for
/// broadcasts posted meanwhile, when the ring is full, and when the run ends). A connection has at most one send in the ring, and the ring is emptied before anything else
/// is done for a connection, so its order holds. A send the kernel does not
/// take whole is finished by the connection itself, asynchronously (<see cref="DirectSocket"/>), and whatever is
/// posted for it meanwhile waits behind it. An exception while sending to one connection ends that connection only
/// (<see cref="DirectSocket.Fail"/>): the thread goes on with the others.
/// </remarks>
internal sealed class SocketSender
{
    private static readonly SocketSender?[] s_senders = new SocketSender?[Math.Max(1, Environment.ProcessorCount)];
    private static int s_next;

    /// <summary>The most broadcasts coalesced into one run (one bit each in a connection's marks).</summary>
    private const int MaxRun = 32;

    /// <summary>How many recipients of a run are sent to between looks for broadcasts posted meanwhile.</summary>
    private const int PeekEvery = 64;

    /// <summary>The most sends given to the kernel in one call.</summary>
    private const uint RingEntries = 1024;

    /// <summary>The bytes of gathered frames the ring's sends may hold at once; a larger gathering is sent by itself.</summary>
    private const int ArenaSize = 64 * 1024;

    private readonly object _gate = new();
    private byte[] _gather = new byte[4096];
    private List<Work> _posted = new(64);
    private List<Work> _taken = new(64);
    private bool _sleeping;

    // The ring's sends under way, by tag, with what keeps their bytes where the kernel reads them: the run's broadcast
    // frames pinned (_pins, one bit each in _pinned), and gathered frames copied into an array on the pinned heap.
    private SendRing? _ring;
    private readonly InRing[] _inRing;
    private readonly GCHandle[] _pins = new GCHandle[MaxRun];
    private uint _pinned;
    private byte[]? _arena;
    private int _arenaUsed;

    /// <summary>A sender and its thread; <paramref name="ring"/> false makes one <c>send</c> per connection even where io_uring is there (tests).</summary>
    internal SocketSender(int index, bool ring = true)
    {
        Index = index;
        _ring = ring ? SendRing.TryCreate(RingEntries) : null;
        _inRing = new InRing[_ring?.Capacity ?? 0];
        new Thread(Run) { Name = $"socket sender {index}", IsBackground = true }.Start();
    }

    /// <summary>Whether this sender gives a broadcast's sends to the kernel in batches (io_uring).</summary>
    public bool Batches => _ring is not null;

    /// <summary>How many senders there are (one per CPU the process may use).</summary>
    public static int Count => s_senders.Length;

    /// <summary>This sender's place among them, from 0.</summary>
    public int Index { get; }

    /// <summary>This thread's scratch for compressed bytes (<see cref="Deflater"/>), valid until the next compression.</summary>
    internal ArrayBufferWriter<byte> Scratch { get; } = new(4096);

    /// <summary>The sender for a new connection: each in turn.</summary>
    public static SocketSender Next()
    {
        int index = (int)((uint)Interlocked.Increment(ref s_next) % (uint)s_senders.Length);
        if (Volatile.Read(ref s_senders[index]) is { } sender)
        {
            return sender;
        }

        lock (s_senders)
        {
            return s_senders[index] ??= new SocketSender(index);
        }
    }

    /// <summary>
    /// Posts a broadcast: <paramref name="frame"/>'s first <paramref name="length"/> bytes to each of the first
    /// <paramref name="count"/> recipients, all of them connections of this sender. Takes over both arrays (rented from the shared pools).
    /// </summary>
    public void PostBroadcast(byte[] frame, int length, DirectSocket[] recipients, int count) =>
        Post(new Work(WorkKind.Broadcast, null, frame, length, recipients, count, default));

    /// <summary>
    /// Posts bytes for one connection, and what it does after them (<paramref name="then"/>). Takes over
    /// <paramref name="buffer"/> (rented from the shared pool), if any.
    /// </summary>
    public void PostWrite(DirectSocket socket, byte[]? buffer, int length, DirectSocket.WriteEnd then) =>
        Post(new Work(WorkKind.Write, socket, buffer, length, null, 0, then));

    /// <summary>Posts a connection's own turn (a send that completed, a drain asked for, or its end).</summary>
    public void PostTurn(DirectSocket socket) => Post(new Work(WorkKind.Turn, socket, null, 0, null, 0, default));

    private void Post(in Work work)
    {
        lock (_gate)
        {
            _posted.Add(work);
            if (!_sleeping)
            {
                return;
            }

            _sleeping = false;
            Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (_posted.Count == 0)
                {
                    _sleeping = true;
                    Monitor.Wait(_gate);
                }

                (_posted, _taken) = (_taken, _posted);
            }

            for (int i = 0; i < _taken.Count; i++)
            {
                if (_taken[i].Kind == WorkKind.Broadcast)
                {
                    i = SendRun(i) - 1;
                }
                else
                {
                    Do(_taken[i]);
                }
            }

            _taken.Clear();
        }
    }

    /// <summary>
    /// Sends the broadcasts that follow one another in the queue from <paramref name="first"/> on, coalesced: a
    /// connection gets the frames of all of them that are addressed to it in one <c>send</c>, at its first place in
    /// them (nothing else for it lies between them, so its order holds). Broadcasts posted while this runs join the run
    /// if they come next (checked every <see cref="PeekEvery"/> recipients, once the ring's sends so far are made):
    /// what is already queued is coalesced, and nothing waits. Returns the index after the run.
    /// </summary>
    private int SendRun(int first)
    {
        int end = first;
        Extend(first, ref end);
        for (int item = first; item < end; item++)
        {
            Work work = _taken[item];
            DirectSocket[] recipients = work.Recipients!;
            uint bit = 1u << (item - first);
            for (int r = 0; r < work.Count; r++)
            {
                DirectSocket socket = recipients[r];
                uint marks = socket.Marks;
                if ((marks & bit) == 0)
                {
                    continue; // sent already, with an earlier broadcast of the run
                }

                socket.Marks = 0;
                try
                {
                    if (marks == bit)
                    {
                        SendFrame(socket, item - first, work);
                    }
                    else
                    {
                        SendGathered(socket, first, marks);
                    }
                }
                catch (Exception e)
                {
                    socket.Fail(e); // this connection ends; the others of the run, and the run's arrays, are not affected
                }

                if ((r + 1) % PeekEvery == 0 && end == _taken.Count)
                {
                    // The ring's sends are made first: they are where the time goes, and a broadcast posted while the
                    // kernel makes them then joins the rest of this run, instead of waiting for the whole run to end.
                    Flush();
                    TakeMore();
                    Extend(first, ref end);
                }
            }
        }

        Flush();
        for (uint rest = _pinned; rest != 0; rest &= rest - 1)
        {
            _pins[BitOperations.TrailingZeroCount(rest)].Free();
        }

        _pinned = 0;
        for (int item = first; item < end; item++)
        {
            Work work = _taken[item];
            ArrayPool<byte>.Shared.Return(work.Buffer!);
            Array.Clear(work.Recipients!, 0, work.Count);
            ArrayPool<DirectSocket>.Shared.Return(work.Recipients!);
        }

        return end;
    }

    /// <summary>Adds the broadcasts that come next to the run (at most <see cref="MaxRun"/>), marking each recipient with the broadcast's bit.</summary>
    private void Extend(int first, ref int end)
    {
        while (end < _taken.Count && end - first < MaxRun && _taken[end].Kind == WorkKind.Broadcast)
        {
            Work work = _taken[end];
            uint bit = 1u << (end - first);
            for (int r = 0; r < work.Count; r++)
            {
                work.Recipients![r].Marks |= bit;
            }

            end++;
        }
    }

    /// <summary>Tests: called on the sender's thread when a run looks for broadcasts posted meanwhile, before it takes them.</summary>
    internal Action? BeforeTakingMore { get; set; }

    /// <summary>Takes whatever has been posted since the last take, after what is taken already.</summary>
    private void TakeMore()
    {
        BeforeTakingMore?.Invoke();
        lock (_gate)
        {
            if (_posted.Count == 0)
            {
                return;
            }

            _taken.AddRange(_posted);
            _posted.Clear();
        }
    }

    /// <summary>The frame of the run's broadcast <paramref name="item"/> (from the run's first) to one connection: into the ring if it can go there, else one <c>send</c>.</summary>
    private void SendFrame(DirectSocket socket, int item, in Work work)
    {
        ReadOnlySpan<byte> frame = work.Buffer.AsSpan(0, work.Length); // a length past the buffer throws here, in either path
        if (_ring is not null)
        {
            if ((_pinned & (1u << item)) == 0)
            {
                _pins[item] = GCHandle.Alloc(work.Buffer, GCHandleType.Pinned);
                _pinned |= 1u << item;
            }

            if (TryEnterRing(socket, out nint fd))
            {
                Add(socket, fd, work.Buffer!, 0, frame.Length, 1);
                return;
            }
        }

        SendNow(socket, frame, 1);
    }

    /// <summary>One send of the frames of every broadcast of the run whose bit is in <paramref name="marks"/>, in order.</summary>
    private void SendGathered(DirectSocket socket, int first, uint marks)
    {
        int length = 0;
        int messages = 0;
        for (uint rest = marks; rest != 0; rest &= rest - 1)
        {
            Work work = _taken[first + BitOperations.TrailingZeroCount(rest)];
            length += work.Buffer.AsSpan(0, work.Length).Length; // a length past the buffer throws here, before anything is sent
            messages++;
        }

        byte[] into;
        int start = 0;
        if (_ring is not null && length <= ArenaSize)
        {
            if (ArenaSize - _arenaUsed < length)
            {
                Flush(); // the arena is written again only once the kernel is done with it
            }

            into = _arena ??= GC.AllocateUninitializedArray<byte>(ArenaSize, pinned: true);
            start = _arenaUsed;
        }
        else
        {
            into = _gather.Length >= length ? _gather : _gather = new byte[Math.Max(length, _gather.Length * 2)];
        }

        int at = start;
        for (uint rest = marks; rest != 0; rest &= rest - 1)
        {
            Work work = _taken[first + BitOperations.TrailingZeroCount(rest)];
            work.Buffer.AsSpan(0, work.Length).CopyTo(into.AsSpan(at));
            at += work.Length;
        }

        if (ReferenceEquals(into, _arena) && TryEnterRing(socket, out nint fd))
        {
            _arenaUsed = at; // kept until the ring is flushed (a flush in TryEnterRing has emptied the ring, not this copy)
            Add(socket, fd, into, start, length, messages);
            return;
        }

        SendNow(socket, into.AsSpan(start, length), messages);
    }

    /// <summary>
    /// Whether <paramref name="socket"/>'s next send goes into the ring (its socket's handle then held open until it
    /// completes). A send of it already in the ring is completed first, so that its order holds. Nothing that can throw
    /// may come between this and <see cref="Add"/>.
    /// </summary>
    private bool TryEnterRing(DirectSocket socket, out nint fd)
    {
        fd = 0;
        if (socket.InRing)
        {
            Flush();
        }

        return _ring is not null && socket.TryEnterRing(out fd);
    }

    /// <summary>One <c>send</c> now, after the connection's send in the ring, if it has one: every send of a connection goes through here or the ring.</summary>
    private void SendNow(DirectSocket socket, ReadOnlySpan<byte> bytes, int messages)
    {
        if (socket.InRing)
        {
            Flush();
        }

        socket.Send(bytes, messages);
    }

    /// <summary>Adds a send to the ring (its bytes pinned by the caller); a full ring is submitted at once.</summary>
    private unsafe void Add(DirectSocket socket, nint fd, byte[] buffer, int offset, int length, int messages)
    {
        int tag = _ring!.Added;
        _inRing[tag] = new InRing(socket, buffer, offset, length, messages);
        _ring.Add(fd, (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(buffer, offset), length, (ulong)tag);
        if (_ring.Added == _ring.Capacity)
        {
            Flush();
        }
    }

    /// <summary>Submits the ring's sends and hands each connection its result (<see cref="DirectSocket.RingSent"/>).</summary>
    private void Flush()
    {
        if (_ring is not { Added: > 0 } ring)
        {
            return;
        }

        int count = ring.Added;
        bool unsupported = false;
        try
        {
            ring.Submit();
            while (ring.TryTake(out ulong tag, out int result))
            {
                Completed(ref _inRing[(int)tag], result);
                unsupported |= result == -SendRing.Unsupported;
            }
        }
        catch (IOException)
        {
            // io_uring_enter itself failed (never seen): the sends it made are taken as made, whatever was not sent is sent
            // one by one, and the ring is not used again
            unsupported = true;
            while (ring.TryTake(out ulong tag, out int result))
            {
                Completed(ref _inRing[(int)tag], result);
            }

            for (int i = 0; i < count; i++)
            {
                if (_inRing[i].Socket is not null)
                {
                    Completed(ref _inRing[i], -SendRing.Unsupported);
                }
            }
        }

        _arenaUsed = 0;
        if (unsupported)
        {
            _ring = null;
        }
    }

    private static void Completed(ref InRing send, int result)
    {
        DirectSocket socket = send.Socket!;
        try
        {
            socket.RingSent(result, send.Buffer!.AsSpan(send.Offset, send.Length), send.Messages);
        }
        catch (Exception e)
        {
            socket.Fail(e);
        }

        send = default;
    }

    /// <summary>One connection's write or turn. An exception ends that connection (its buffer, if any, is left to the collector), not this thread.</summary>
    private static void Do(in Work work)
    {
        try
        {
            switch (work.Kind)
            {
                case WorkKind.Write:
                    work.Socket!.SendOwned(work.Buffer, work.Length, work.Then);
                    break;
                case WorkKind.Turn:
                    work.Socket!.Turn();
                    break;
                default:
                    Debug.Fail("a broadcast is sent by SendRun");
                    break;
            }
        }
        catch (Exception e)
        {
            work.Socket!.Fail(e);
        }
    }

    private enum WorkKind : byte
    {
        Broadcast,
        Write,
        Turn,
    }

    /// <summary>A send in the ring: whose, and where its bytes are.</summary>
    private record struct InRing(DirectSocket? Socket, byte[]? Buffer, int Offset, int Length, int Messages);

    private readonly record struct Work(WorkKind Kind, DirectSocket? Socket, byte[]? Buffer, int Length, DirectSocket[]? Recipients, int Count, DirectSocket.WriteEnd Then);
}
