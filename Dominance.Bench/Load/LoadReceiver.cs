using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dominance.Bench.Load;

/// <summary>
/// Reads every load client's socket on a few threads of its own (one per CPU the tool may use, at most four; one when
/// the tool is pinned): each waits on its clients with <c>epoll</c> and reads each ready socket once into one large
/// buffer, then parses every frame and line in it at once. No thread-pool hop, no task, no async state machine per
/// message: with .NET's <c>ClientWebSocket</c> the receiving cost 12.7–13.9 µs of the tool's CPU per delivery at
/// 1,000 × 50, so that a broadcast to 1,000 clients took the tool longer to read than the server to send, and the
/// tool's own queue was in every latency it reported.
/// </summary>
/// <remarks>
/// Each read also takes the kernel's stamp of when the bytes arrived at the socket (<c>SO_TIMESTAMPNS</c>), so that
/// the tool can tell how much of a latency is its own delay in reading.
/// </remarks>
internal sealed unsafe class LoadReceiver : IDisposable
{
    private const int Capacity = 256;
    private const int BufferBytes = 256 * 1024;

    private readonly Loop[] _loops;
    private int _next;

    public LoadReceiver()
        : this(Math.Clamp(Environment.ProcessorCount, 1, 4))
    {
    }

    public LoadReceiver(int threads)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The load tool's clients are read with epoll, which is Linux's.");
        }

        _loops = [.. Enumerable.Range(0, threads).Select(i => new Loop(i))];
    }

    /// <summary>A Stopwatch timestamp as CLOCK_MONOTONIC nanoseconds (the same clock on Linux, in its own units).</summary>
    internal static long MonotonicNanoseconds(long ticks) => Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)(ticks * (1e9 / Stopwatch.Frequency));

    /// <summary>Starts reading <paramref name="client"/>'s socket on one of the threads, in turn.</summary>
    public void Add(LoadClient client) => _loops[(int)((uint)Interlocked.Increment(ref _next) % _loops.Length)].Add(client);

    public void Dispose()
    {
        foreach (Loop loop in _loops)
        {
            loop.Dispose();
        }
    }

    private sealed class Loop : IDisposable
    {
        private readonly int _epoll = LinuxReceive.Create();
        private readonly Thread _thread;
        private readonly HashSet<LoadClient> _clients = [];
        private volatile bool _stopping;

        public Loop(int index)
        {
            _thread = new Thread(Run) { IsBackground = true, Name = $"load receiver {index}" };
            _thread.Start();
        }

        public void Add(LoadClient client)
        {
            lock (_clients)
            {
                _clients.Add(client);
            }

            LinuxReceive.Add(_epoll, client.Descriptor, GCHandle.ToIntPtr(client.Handle));
        }

        public void Dispose()
        {
            _stopping = true;
            _thread.Join();
            LoadClient[] left;
            lock (_clients)
            {
                left = [.. _clients];
                _clients.Clear();
            }

            foreach (LoadClient client in left)
            {
                client.Closed(_epoll, new IOException("The load tool stopped reading."));
            }

            LinuxReceive.Close(_epoll);
        }

        private void Run()
        {
            byte* events = (byte*)NativeMemory.Alloc((nuint)(Capacity * LinuxReceive.EventSize));
            byte* buffer = (byte*)NativeMemory.Alloc(BufferBytes);
            try
            {
                while (!_stopping)
                {
                    int ready = LinuxReceive.Wait(_epoll, events, Capacity, 100);
                    if (ready == 0)
                    {
                        continue;
                    }

                    // The kernel stamps arrivals on CLOCK_REALTIME; latencies are in Stopwatch ticks (CLOCK_MONOTONIC on Linux).
                    long realMinusMonotonic = RealMinusMonotonic();
                    for (int i = 0; i < ready; i++)
                    {
                        var client = (LoadClient)GCHandle.FromIntPtr(LinuxReceive.EventData(events, i)).Target!;
                        Read(client, buffer, realMinusMonotonic);
                    }
                }
            }
            finally
            {
                NativeMemory.Free(events);
                NativeMemory.Free(buffer);
            }
        }

        /// <summary>One read per ready socket: level-triggered, so a socket with more than the buffer is ready again at once.</summary>
        private void Read(LoadClient client, byte* buffer, long realMinusMonotonic)
        {
            int read;
            long arrived;
            try
            {
                read = LinuxReceive.Receive(client.Descriptor, buffer, BufferBytes, out arrived);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                Close(client, e);
                return;
            }

            if (read < 0)
            {
                return;
            }

            if (read == 0)
            {
                Close(client, null);
                return;
            }

            long now = Stopwatch.GetTimestamp();
            long arrivedTicks = arrived == 0 ? 0 : Ticks(arrived - realMinusMonotonic);
            try
            {
                client.Received(new ReadOnlySpan<byte>(buffer, read), now, arrivedTicks);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                Close(client, e);
            }
        }

        private void Close(LoadClient client, Exception? error)
        {
            lock (_clients)
            {
                _clients.Remove(client);
            }

            client.Closed(_epoll, error);
        }

        /// <summary>
        /// CLOCK_REALTIME less CLOCK_MONOTONIC, in ns: the real clock read between two monotonic readings, and taken at
        /// their middle. A thread preempted between two readings would skew a single pair by as long as it waited (the
        /// stamps of a whole wake with it, by milliseconds on a busy machine), so a pair more than 10 µs apart is read again,
        /// up to three times, and the closest kept.
        /// </summary>
        private static long RealMinusMonotonic()
        {
            long best = 0;
            long narrowest = long.MaxValue;
            for (int attempt = 0; attempt < 3 && narrowest > 10_000; attempt++)
            {
                long before = MonotonicNanoseconds(Stopwatch.GetTimestamp());
                long real = RealNanoseconds();
                long after = MonotonicNanoseconds(Stopwatch.GetTimestamp());
                if (after - before < narrowest)
                {
                    narrowest = after - before;
                    best = real - (before + ((after - before) / 2));
                }
            }

            return best;
        }

        private static long RealNanoseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

        private static long Ticks(long monotonicNanoseconds) =>
            Stopwatch.Frequency == 1_000_000_000 ? monotonicNanoseconds : (long)(monotonicNanoseconds * (Stopwatch.Frequency / 1e9));
    }
}
