using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dominance.Portal.Sending;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>
/// A connection sent on by the portal's sender thread (<see cref="DirectSocket"/>, <see cref="SocketSender"/>), over
/// real loopback sockets with small buffers: a reader that does not keep up gets every byte in order, writes and
/// broadcasts included; a closed connection is dropped quietly; a client that never reads goes over the bound. Each
/// test runs twice: with the sender's broadcasts given to the kernel in batches (io_uring, <see cref="SendRing"/>, the
/// default where the kernel has it), and with one <c>send</c> per connection (where it has not).
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
public sealed class DirectSocketTests(bool ring)
{
    private readonly SocketSender _sender = new(index: 0, ring);

    [OneTimeSetUp]
    public void TheSenderSendsAsThisFixtureSays() =>
        Assert.That(_sender.Batches, Is.EqualTo(ring), ring ? "io_uring is not available here: the batched sends are not tested" : "a sender told not to batch batches");

    [Test]
    public async Task AReaderThatFallsBehindGetsEveryByteInOrderWritesAndBroadcastsAlike()
    {
        using Pair first = await Pair.ConnectAsync();
        using Pair second = await Pair.ConnectAsync();
        SocketSender sender = _sender; // a broadcast goes to one sender, whose connections it lists
        var a = new DirectSocket(first.Server, sender, capacity: 1_000_000);
        var b = new DirectSocket(second.Server, sender, capacity: 1_000_000);
        var expectedA = new StringBuilder();
        var expectedB = new StringBuilder();

        // Nobody reads yet: far more than the kernel's buffers hold, so most of it waits, in order, on the sockets.
        for (int i = 0; i < 3000; i++)
        {
            string own = $"own {i} {new string('a', i % 300)}\n";
            a.Write(Encoding.ASCII.GetBytes(own));
            expectedA.Append(own);
            string shared = $"shared {i} {new string('b', i % 200)}\n";
            Broadcast(shared, a, b);
            expectedA.Append(shared);
            expectedB.Append(shared);
        }

        await Poll.UntilAsync(() => a.PendingMessages > 0 && b.PendingMessages > 0, "output waiting on both sockets");
        Task drained = a.DrainAsync();
        Assert.That(drained.IsCompleted, Is.False, "drained while output was still waiting");

        Task<string> readA = first.ReadAsync(expectedA.Length);
        Task<string> readB = second.ReadAsync(expectedB.Length);
        Assert.That(await readA, Is.EqualTo(expectedA.ToString()));
        Assert.That(await readB, Is.EqualTo(expectedB.ToString()));
        await drained.WaitAsync(Poll.Deadline);
        Assert.That(a.PendingMessages, Is.Zero);
    }

    [Test]
    public async Task BroadcastsQueuedTogetherAreCoalescedPerConnectionAndKeepEachConnectionsOrder()
    {
        using Pair first = await Pair.ConnectAsync();
        using Pair second = await Pair.ConnectAsync();
        SocketSender sender = _sender;
        var a = new DirectSocket(first.Server, sender, capacity: 1_000_000);
        var b = new DirectSocket(second.Server, sender, capacity: 1_000_000);
        var expectedA = new StringBuilder();
        var expectedB = new StringBuilder();

        // Posted faster than they are sent, so the sender takes many at once: runs of broadcasts to different sets,
        // now and then cut by a write of one connection's own, which must stay between the broadcasts around it.
        for (int i = 0; i < 5000; i++)
        {
            string both = $"both {i}\n";
            Broadcast(both, a, b);
            expectedA.Append(both);
            expectedB.Append(both);
            string onlyB = $"b {i}\n";
            Broadcast(onlyB, b);
            expectedB.Append(onlyB);
            if (i % 7 == 0)
            {
                string own = $"own {i}\n";
                a.Write(Encoding.ASCII.GetBytes(own));
                expectedA.Append(own);
            }

            string onlyA = $"a {i}\n";
            Broadcast(onlyA, a);
            expectedA.Append(onlyA);
        }

        Task<string> readA = first.ReadAsync(expectedA.Length);
        Task<string> readB = second.ReadAsync(expectedB.Length);
        Assert.That(await readA, Is.EqualTo(expectedA.ToString()));
        Assert.That(await readB, Is.EqualTo(expectedB.ToString()));
    }

    [Test]
    public async Task BroadcastsThatJoinARunWhileItSendsFollowAConnectionsEarlierFrameEvenWhenTheyGoByThemselves()
    {
        // A run looks for broadcasts posted meanwhile every 64 recipients. Two that join it here are for the first
        // recipient, whose frame of the first broadcast has been given to the kernel already; gathered, they are too
        // large for the ring's arena and are sent at once, by themselves: after that frame, not before it.
        var sender = new SocketSender(index: 0, ring);
        using Pair watched = await Pair.ConnectAsync();
        var others = new List<Pair>();
        var recipients = new List<DirectSocket> { new(watched.Server, sender, capacity: 1_000_000) };
        for (int i = 0; i < 63; i++)
        {
            others.Add(await Pair.ConnectAsync());
            recipients.Add(new DirectSocket(others[^1].Server, sender, capacity: 1_000_000));
        }

        string a = new('a', 40_000), b = new('b', 40_000);
        int joined = 0;
        sender.BeforeTakingMore = () =>
        {
            if (Interlocked.Exchange(ref joined, 1) == 0)
            {
                Broadcast(a, recipients[0]);
                Broadcast(b, recipients[0]);
            }
        };
        Broadcast("first,", [.. recipients]);

        Assert.That(await watched.ReadAsync(6 + a.Length + b.Length), Is.EqualTo("first," + a + b));
        Assert.That(Volatile.Read(ref joined), Is.EqualTo(1), "the two joined the run");
        others.ForEach(pair => pair.Dispose());
    }

    [Test]
    public async Task ARunLooksForBroadcastsPostedMeanwhileOnlyOnceItsSendsSoFarAreMade()
    {
        // The kernel's sends are where a run's time goes: a broadcast posted while they are made joins the rest of the
        // run. With io_uring, a run that looked before submitting would look while its sends were only queued in the
        // ring, and find nothing. At the look, after 64 recipients, none of them may still have a send in the ring.
        var sender = new SocketSender(index: 0, ring);
        var pairs = new List<Pair>();
        var recipients = new List<DirectSocket>();
        for (int i = 0; i < 64; i++)
        {
            pairs.Add(await Pair.ConnectAsync());
            recipients.Add(new DirectSocket(pairs[^1].Server, sender, capacity: 1_000_000));
        }

        int looks = 0, stillInRing = -1;
        sender.BeforeTakingMore = () =>
        {
            if (Interlocked.Increment(ref looks) == 1)
            {
                Volatile.Write(ref stillInRing, recipients.Count(r => r.InRing)); // on the sender's thread, which owns the flag
            }
        };
        Broadcast("hello\n", [.. recipients]);

        foreach (Pair pair in pairs)
        {
            Assert.That(await pair.ReadAsync(6), Is.EqualTo("hello\n"));
        }

        await Poll.UntilAsync(() => Volatile.Read(ref stillInRing) >= 0, "the run looked"); // the sends come before the look
        Assert.That(Volatile.Read(ref stillInRing), Is.Zero, "sends still queued in the ring when the run looked");
        Assert.That(Volatile.Read(ref looks), Is.EqualTo(1), "one look, after the 64th recipient");
        pairs.ForEach(pair => pair.Dispose());
    }

    [Test]
    public async Task AConnectionTheClientClosedIsDroppedQuietly()
    {
        using Pair pair = await Pair.ConnectAsync();
        var socket = new DirectSocket(pair.Server, _sender, capacity: 1_000_000);
        pair.Client.LingerState = new LingerOption(true, 0);
        pair.Client.Close(); // a reset: the next sends fail

        for (int i = 0; i < 2000; i++)
        {
            socket.Write(new byte[1000]);
            Broadcast(new string('x', 1000), socket);
        }

        await socket.DrainAsync().WaitAsync(Poll.Deadline);
        Assert.That(socket.PendingMessages, Is.Zero);
        socket.Write(new byte[10]); // after the failure: nothing happens
        await socket.DrainAsync().WaitAsync(Poll.Deadline);
    }

    [Test]
    public async Task AClientThatNeverReadsGoesOverTheBoundOnceAndIsLetGo()
    {
        using Pair pair = await Pair.ConnectAsync();
        int overflows = 0;
        var socket = new DirectSocket(pair.Server, _sender, capacity: 16) { Overflowed = () => Interlocked.Increment(ref overflows) };
        for (int i = 0; i < 5000; i++)
        {
            socket.Write(new byte[1000]);
        }

        await Poll.UntilAsync(() => Volatile.Read(ref overflows) > 0, "the bound was reached");
        await socket.DrainAsync().WaitAsync(Poll.Deadline); // nothing is kept once it is let go
        Assert.That(socket.PendingMessages, Is.Zero);
        Assert.That(Volatile.Read(ref overflows), Is.EqualTo(1));
    }

    [Test]
    public async Task NothingPostedAfterTheLastWriteIsSentNotEvenABroadcastTakenBeforeIt()
    {
        using Pair pair = await Pair.ConnectAsync();
        var socket = new DirectSocket(pair.Server, _sender, capacity: 1_000_000);
        socket.Write("before,"u8);
        socket.Write("CLOSE"u8, last: true); // the WebSocket close frame
        Broadcast("broadcast", socket); // taken by the fan-out before the close, posted after it
        socket.Write("after"u8);
        await socket.DrainAsync().WaitAsync(Poll.Deadline);
        pair.Server.Shutdown(SocketShutdown.Send);

        Assert.That(await pair.ReadToEndAsync(), Is.EqualTo("before,CLOSE"));
    }

    [Test]
    public async Task AFewLargeWritesGoOverTheBoundInBytes()
    {
        using Pair pair = await Pair.ConnectAsync();
        int overflows = 0;
        var socket = new DirectSocket(pair.Server, _sender, capacity: 16) { Overflowed = () => Interlocked.Increment(ref overflows) };
        for (int i = 0; i < 3; i++)
        {
            socket.Write(new byte[200_000]); // 3 messages, far under 16, but 600 KB against 16 × 4 KiB
        }

        await Poll.UntilAsync(() => Volatile.Read(ref overflows) > 0, "the bound in bytes was reached");
        await socket.DrainAsync().WaitAsync(Poll.Deadline);
        Assert.That(socket.PendingMessages, Is.Zero);
    }

    [Test]
    public async Task ClosingDropsWhatWaitsAndEndsTheSendUnderWay()
    {
        using Pair pair = await Pair.ConnectAsync();
        var socket = new DirectSocket(pair.Server, _sender, capacity: 1_000_000);
        for (int i = 0; i < 2000; i++)
        {
            socket.Write(new byte[1000]);
        }

        await Poll.UntilAsync(() => socket.PendingMessages > 0, "output waiting");
        socket.Close();
        pair.Server.Shutdown(SocketShutdown.Both); // as the transport does when the connection ends
        await socket.DrainAsync().WaitAsync(Poll.Deadline);
        Assert.That(socket.PendingMessages, Is.Zero);
    }

    [TestCase(false, TestName = "An exception while sending a connection's write ends that connection only, and its sender goes on")]
    [TestCase(true, TestName = "An exception while sending a broadcast to a connection ends that connection only, and its sender goes on")]
    public async Task AnExceptionWhileSendingEndsThatConnectionOnly(bool broadcast)
    {
        using Pair failing = await Pair.ConnectAsync();
        using Pair healthy = await Pair.ConnectAsync();
        SocketSender sender = _sender;
        Exception? failure = null;
        int failures = 0;
        var a = new DirectSocket(failing.Server, sender, capacity: 1_000_000)
        {
            Failed = e =>
            {
                Volatile.Write(ref failure, e);
                Interlocked.Increment(ref failures);
            },
        };
        var b = new DirectSocket(healthy.Server, sender, capacity: 1_000_000);

        // A buffer posted with a length past its end: slicing it throws on the sender's thread, as a bug in a rendering,
        // or zlib out of memory (Deflater), would. Before, the exception ended the thread, and the process.
        Broadcast("one,", a, b);
        byte[] bad = ArrayPool<byte>.Shared.Rent(16);
        if (broadcast)
        {
            DirectSocket[] recipients = ArrayPool<DirectSocket>.Shared.Rent(1);
            recipients[0] = a;
            sender.PostBroadcast(bad, bad.Length + 1, recipients, 1);
        }
        else
        {
            a.WriteOwned(bad, bad.Length + 1);
        }

        Broadcast("two,", a, b); // in the same run as the failure, or the next: b gets it either way
        a.Write("after"u8);
        await Poll.UntilAsync(() => Volatile.Read(ref failure) is not null, "the failure was reported");
        b.Write("three"u8); // posted after the failure was handled: the thread is still sending
        Assert.That(await healthy.ReadAsync("one,two,three".Length), Is.EqualTo("one,two,three"));

        await a.DrainAsync().WaitAsync(Poll.Deadline); // nothing is kept for the failed connection
        Assert.That(a.PendingMessages, Is.Zero);
        failing.Server.Shutdown(SocketShutdown.Send);
        string got = await failing.ReadToEndAsync();
        Assert.That(got, broadcast ? Is.AnyOf("", "one,") : Is.EqualTo("one,"), "nothing is sent to it after the failure");
        Assert.That(Volatile.Read(ref failure), Is.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(Volatile.Read(ref failures), Is.EqualTo(1));
    }

    private static void Broadcast(string text, params DirectSocket[] to)
    {
        byte[] frame = ArrayPool<byte>.Shared.Rent(text.Length);
        int length = Encoding.ASCII.GetBytes(text, frame);
        DirectSocket[] recipients = ArrayPool<DirectSocket>.Shared.Rent(to.Length);
        to.CopyTo(recipients, 0);
        to[0].Sender.PostBroadcast(frame, length, recipients, to.Length);
    }

    /// <summary>A loopback connection with small kernel buffers on both ends.</summary>
    private sealed class Pair(Socket server, Socket client) : IDisposable
    {
        public Socket Server { get; } = server;

        public Socket Client { get; } = client;

        public static async Task<Pair> ConnectAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            await client.ConnectAsync(listener.LocalEndPoint!);
            Socket server = await listener.AcceptAsync();
            server.SendBufferSize = 4096;
            return new Pair(server, client);
        }

        public async Task<string> ReadAsync(int length)
        {
            byte[] buffer = new byte[length];
            int read = 0;
            using var deadline = new CancellationTokenSource(Poll.Deadline);
            while (read < length)
            {
                int n = await Client.ReceiveAsync(buffer.AsMemory(read, Math.Min(1000, length - read)), SocketFlags.None, deadline.Token);
                Assert.That(n, Is.GreaterThan(0), "the connection ended early");
                read += n;
            }

            return Encoding.ASCII.GetString(buffer);
        }

        public async Task<string> ReadToEndAsync()
        {
            var all = new MemoryStream();
            byte[] buffer = new byte[4096];
            using var deadline = new CancellationTokenSource(Poll.Deadline);
            int n;
            while ((n = await Client.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                all.Write(buffer, 0, n);
            }

            return Encoding.ASCII.GetString(all.ToArray());
        }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }
}
