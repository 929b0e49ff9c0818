using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dominance.Bench.Load;

/// <summary>What <see cref="SendCost"/> measured: CPU time per send, of the sending thread alone.</summary>
internal sealed record SendCostResult(int Sockets, double Rate, int Rounds, int PayloadBytes, long Sends, double UserMicroseconds, double SystemMicroseconds)
{
    /// <summary>User plus system CPU per send, in microseconds.</summary>
    public double MicrosecondsPerSend => (UserMicroseconds + SystemMicroseconds) / Sends;
}

/// <summary>
/// The kernel's share of a delivery on this machine: one thread that does nothing but send each message to each of N
/// loopback TCP connections in turn (Nagle off, one <c>send</c> per connection per message, as a server must when the
/// messages do not queue up), the messages paced at the load's rate, with the clients draining them on the load
/// tool's CPU, read as the load's own clients are read (<see cref="LoadReceiver"/>: how a reader waits decides what
/// waking it costs the sender). No framework, no WebSocket framing, no hand-off between threads: the cost of one loopback send and of
/// waking its reader, which a server pays in its own CPU time. Measured with <c>getrusage(RUSAGE_THREAD)</c> on Linux.
/// </summary>
/// <remarks>
/// How much waking the readers costs depends on how busy they are, and these readers do less than the load tool's
/// clients: the figure is what the sends cost here, not a bound that a loaded server can never go below.
/// </remarks>
internal static partial class SendCost
{
    /// <summary>
    /// Sends <paramref name="rounds"/> messages of <paramref name="payloadBytes"/>, <paramref name="rate"/> per second,
    /// to each of <paramref name="sockets"/> connections; the sender runs on <paramref name="cpu"/> when given.
    /// </summary>
    public static async Task<SendCostResult> MeasureAsync(int sockets, double rate, int rounds, int payloadBytes = 90, int? cpu = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The send cost measurement reads a thread's CPU time with getrusage(RUSAGE_THREAD), which is Linux's.");
        }

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(sockets);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        var target = new LoadTarget("send cost", endpoint, endpoint, null);
        using var receiver = new LoadReceiver();
        var clients = new LoadClient?[sockets];
        var servers = new Socket[sockets];
        try
        {
            for (int i = 0; i < sockets; i++)
            {
                clients[i] = await LoadClient.ConnectAsync(target, telnet: true, expectedStamps: 0, receiver); // lines with no stamp: only counted in bytes
                servers[i] = await listener.AcceptAsync();
                servers[i].NoDelay = true;
                servers[i].Blocking = false;
            }

            long expected = (long)sockets * rounds * payloadBytes;

            var measured = new TaskCompletionSource<(double User, double System, long Sends)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var sender = new Thread(() =>
            {
                try
                {
                    if (cpu is { } pinned)
                    {
                        CpuPinning.PinCurrentThread(pinned);
                    }

                    byte[] payload = new byte[payloadBytes];
                    Array.Fill(payload, (byte)'x');
                    payload[^1] = (byte)'\n';
                    long sends = 0;
                    long started = Stopwatch.GetTimestamp();
                    (double user, double system) before = ThreadCpu();
                    for (int round = 0; round < rounds; round++)
                    {
                        // On schedule: round r is due r / rate seconds after the start, however long the sends took.
                        TimeSpan wait = TimeSpan.FromSeconds(round / rate) - Stopwatch.GetElapsedTime(started);
                        if (wait > TimeSpan.Zero)
                        {
                            Thread.Sleep(wait);
                        }

                        foreach (Socket server in servers)
                        {
                            // Non-blocking: the clients drain far faster than 90 bytes a round fill a socket buffer.
                            int sent = server.Send(payload, SocketFlags.None, out SocketError error);
                            if (error != SocketError.Success || sent != payload.Length)
                            {
                                throw new SocketException((int)error);
                            }

                            sends++;
                        }
                    }

                    (double user, double system) after = ThreadCpu();
                    measured.SetResult((after.user - before.user, after.system - before.system, sends));
                }
                catch (Exception e)
                {
                    measured.SetException(e);
                }
            })
            { IsBackground = true, Name = "send cost" };
            sender.Start();
            (double userTime, double systemTime, long totalSends) = await measured.Task;

            // Every byte must have arrived, or the sends did not all happen.
            long deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
            long received;
            while ((received = clients.Sum(c => c!.ReceivedBytes)) < expected && Stopwatch.GetTimestamp() < deadline && clients.All(c => c!.Failure is null))
            {
                await Task.Delay(10);
            }

            return received == expected
                ? new SendCostResult(sockets, rate, rounds, payloadBytes, totalSends, userTime, systemTime)
                : throw new InvalidOperationException($"The send cost measurement's clients received {received} bytes of {expected}.");
        }
        finally
        {
            foreach (LoadClient? client in clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }

            foreach (Socket? socket in servers)
            {
                socket?.Dispose();
            }
        }
    }

    /// <summary>The calling thread's user and system CPU time so far, in microseconds.</summary>
    private static (double User, double System) ThreadCpu()
    {
        const int RUsageThread = 1;
        if (GetRUsage(RUsageThread, out RUsage usage) != 0)
        {
            throw new InvalidOperationException($"getrusage failed: error {Marshal.GetLastPInvokeError()}");
        }

        return (usage.UserSeconds * 1e6 + usage.UserMicroseconds, usage.SystemSeconds * 1e6 + usage.SystemMicroseconds);
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRUsage(int who, out RUsage usage);

    /// <summary>Linux's <c>struct rusage</c> on 64-bit: two <c>timeval</c>s, then fourteen longs this tool does not read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public Rest Unused;
    }

    [InlineArray(14)]
    private struct Rest
    {
        private long _element;
    }
}
