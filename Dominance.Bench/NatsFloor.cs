using System.Buffers;
using System.Diagnostics;
using Dominance.Nats;
using NATS.Client.Core;

namespace Dominance.Bench;

/// <summary>
/// <c>./run.sh bench-nats [n] [r] --floor</c>: what the relay's shape costs through nats-server with no relay code. A
/// relayed message goes portal → nats-server → core, and the core's answer core → nats-server → portal; here A publishes
/// a <see cref="PayloadSize"/>-byte message, B receives it and publishes one back, A receives that: the same four
/// loopback TCP hops and two crossings of the NATS server, once with the least client there is
/// (<see cref="RawNatsClient"/>: blocking calls on two dedicated threads, one per connection), and twice with NATS.Net
/// (its subscription channels and reading loops; and as the relay reads, on the socket reader,
/// <see cref="InlineSubscription"/>, with the measuring thread waiting as the relay bench's does).
/// </summary>
internal static class NatsFloor
{
    /// <summary>About the size of a relayed input event and of an output batch of one line.</summary>
    private const int PayloadSize = 64;

    /// <summary>The raw client: A's thread publishes and blocks in <c>recv</c>; B's thread blocks in <c>recv</c> and publishes back.</summary>
    public static double[] MeasureRaw(int port, int messages)
    {
        byte[] inbound = "floor.in"u8.ToArray();
        byte[] outbound = "floor.out"u8.ToArray();
        using var a = new RawNatsClient(port);
        using var b = new RawNatsClient(port);
        b.Subscribe("floor.in", 1);
        a.Subscribe("floor.out", 1);
        var echo = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    b.Publish(outbound, b.Receive());
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or EndOfStreamException)
            {
            }
        }) { Name = "floor B", IsBackground = true };
        echo.Start();

        var payload = new byte[PayloadSize];
        var times = new double[messages];
        double[]? result = null;
        var measuring = new Thread(() =>
        {
            for (int i = -messages / 10; i < messages; i++)
            {
                long start = Stopwatch.GetTimestamp();
                a.Publish(inbound, payload);
                a.Receive();
                if (i >= 0)
                {
                    times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }
            }

            result = times;
        }) { Name = "floor A", IsBackground = true };
        measuring.Start();
        measuring.Join();
        b.Dispose();
        echo.Join();
        Array.Sort(result!);
        return result!;
    }

    /// <summary>NATS.Net as its README uses it: B's reading loop publishes back; A publishes and awaits its subscription's next message.</summary>
    public static async Task<double[]> MeasureNatsNetAsync(string url, int messages)
    {
        await using var a = new NatsConnection(NatsOpts.Default with { Url = url, Name = "floor A" });
        await using var b = new NatsConnection(NatsOpts.Default with { Url = url, Name = "floor B" });
        await using INatsSub<byte[]> bIn = await b.SubscribeCoreAsync<byte[]>("floor.in");
        await using INatsSub<byte[]> aOut = await a.SubscribeCoreAsync<byte[]>("floor.out");
        await a.PingAsync();
        await b.PingAsync();
        Task echo = Task.Run(async () =>
        {
            await foreach (NatsMsg<byte[]> msg in bIn.Msgs.ReadAllAsync())
            {
                await b.PublishAsync("floor.out", msg.Data);
            }
        });

        var payload = new byte[PayloadSize];
        var times = new double[messages];
        for (int i = -messages / 10; i < messages; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await a.PublishAsync("floor.in", payload);
            await aOut.Msgs.ReadAsync();
            if (i >= 0)
            {
                times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        await bIn.UnsubscribeAsync();
        await echo;
        Array.Sort(times);
        return times;
    }

    /// <summary>
    /// NATS.Net as the relay uses it: both subscriptions handled on the socket reader (<see cref="InlineSubscription"/>),
    /// B publishing back from there, and the measuring thread (a thread of its own) waiting for A's to signal.
    /// </summary>
    public static async Task<double[]> MeasureNatsNetInlineAsync(string url, int messages)
    {
        await using var a = new NatsConnection(NatsOpts.Default with { Url = url, Name = "floor A" });
        await using var b = new NatsConnection(NatsOpts.Default with { Url = url, Name = "floor B" });
        using var arrived = new ManualResetEventSlim(false, spinCount: 1);
        Action<string, Exception> failed = (subject, e) => Console.Error.WriteLine($"{subject}: {e}");
        await using InlineSubscription bIn = await InlineSubscription.SubscribeAsync(
            b, "floor.in", (_, data) => b.PublishAsync("floor.out", data.ToArray()), failed, CancellationToken.None);
        await using InlineSubscription aOut = await InlineSubscription.SubscribeAsync(
            a, "floor.out", (_, _) =>
            {
                arrived.Set();
                return ValueTask.CompletedTask;
            }, failed, CancellationToken.None);
        await a.PingAsync();
        await b.PingAsync();

        var payload = new byte[PayloadSize];
        var times = new double[messages];
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var measuring = new Thread(() =>
        {
            for (int i = -messages / 10; i < messages; i++)
            {
                arrived.Reset();
                long start = Stopwatch.GetTimestamp();
                ValueTask sent = a.PublishAsync("floor.in", payload);
                if (!sent.IsCompletedSuccessfully)
                {
                    sent.AsTask().GetAwaiter().GetResult();
                }

                arrived.Wait();
                if (i >= 0)
                {
                    times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }
            }

            finished.SetResult();
        }) { Name = "floor A", IsBackground = true };
        measuring.Start();
        await finished.Task;
        Array.Sort(times);
        return times;
    }
}
