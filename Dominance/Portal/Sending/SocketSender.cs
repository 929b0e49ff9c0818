using System.Buffers;
using System.Diagnostics;

namespace Dominance.Portal.Sending;

/// <summary>
/// A thread that sends on the sockets the portal writes itself (<see cref="DirectSocket"/>): one per CPU the process
/// may use, each started when the first connection is given to it, and each connection given to one of them for its
/// life (<see cref="Next"/>). Whoever has output posts it here and returns; the thread takes everything posted so far
/// in one wake and makes the <c>send</c> calls, so that a broadcast to a thousand connections is one post and one wake
/// per sender, not a thousand, and neither the game thread nor the thread pool waits for the kernel.
/// </summary>
/// <remarks>
/// Work is taken in the order it was posted, so a connection's writes keep their order. A send the kernel does not
/// take whole is finished by the connection itself, asynchronously (<see cref="DirectSocket"/>), and whatever is
/// posted for it meanwhile waits behind it.
/// </remarks>
internal sealed class SocketSender
{
    private static readonly SocketSender?[] s_senders = new SocketSender?[Math.Max(1, Environment.ProcessorCount)];
    private static int s_next;

    private readonly object _gate = new();
    private List<Work> _posted = new(64);
    private List<Work> _taken = new(64);
    private bool _sleeping;

    private SocketSender(int index)
    {
        Index = index;
        new Thread(Run) { Name = $"socket sender {index}", IsBackground = true }.Start();
    }

    /// <summary>How many senders there are (one per CPU the process may use).</summary>
    public static int Count => s_senders.Length;

    /// <summary>This sender's place among them, from 0.</summary>
    public int Index { get; }

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
        Post(new Work(WorkKind.Broadcast, null, frame, length, recipients, count));

    /// <summary>Posts bytes for one connection. Takes over <paramref name="buffer"/> (rented from the shared pool).</summary>
    public void PostWrite(DirectSocket socket, byte[] buffer, int length) => Post(new Work(WorkKind.Write, socket, buffer, length, null, 0));

    /// <summary>Posts a connection's own turn (a send that completed, a drain asked for, or its end).</summary>
    public void PostTurn(DirectSocket socket) => Post(new Work(WorkKind.Turn, socket, null, 0, null, 0));

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

            foreach (Work work in _taken)
            {
                Do(work);
            }

            _taken.Clear();
        }
    }

    private static void Do(in Work work)
    {
        switch (work.Kind)
        {
            case WorkKind.Broadcast:
                ReadOnlySpan<byte> frame = work.Buffer.AsSpan(0, work.Length);
                DirectSocket[] recipients = work.Recipients!;
                for (int i = 0; i < work.Count; i++)
                {
                    recipients[i].Send(frame);
                }

                ArrayPool<byte>.Shared.Return(work.Buffer!);
                Array.Clear(recipients, 0, work.Count);
                ArrayPool<DirectSocket>.Shared.Return(recipients);
                break;
            case WorkKind.Write:
                work.Socket!.SendOwned(work.Buffer!, work.Length);
                break;
            case WorkKind.Turn:
                work.Socket!.Turn();
                break;
            default:
                Debug.Fail("unknown work");
                break;
        }
    }

    private enum WorkKind : byte
    {
        Broadcast,
        Write,
        Turn,
    }

    private readonly record struct Work(WorkKind Kind, DirectSocket? Socket, byte[]? Buffer, int Length, DirectSocket[]? Recipients, int Count);
}
