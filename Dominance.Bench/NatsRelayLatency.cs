using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime;
using Dominance.Api;
using Dominance.Core;
using Dominance.Hosting;
using Dominance.Nats;
using Dominance.Portal;
using Dominance.Portal.InMemory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dominance.Bench;

/// <summary>
/// <c>./run.sh bench-nats [messages] [recipients]</c>: relay latency through NATS against the in-process hop, per
/// message, p50 to max. One input from a portal session, through the core's game thread (a module whose <c>say</c>
/// sends to a room), to the bytes reaching the last recipient's connection (in-memory connections: no client socket).
/// In process: the inbound channel and the session links. Through NATS: a portal relay and a core relay in this
/// process, talking through a real nats-server on loopback (started here), so every message crosses two TCP hops and the
/// NATS server twice. A distribution, not BenchmarkDotNet's mean: the tail is the point. The measuring thread sleeps
/// while it waits (it does not spin): the NATS path needs several thread-pool threads, and on a small machine a
/// spinning observer takes a core from them (measured so on this 2-core machine: p50 5.9 ms spinning). It is a thread
/// of its own, not one of the thread pool's, for the same reason.
/// </summary>
/// <remarks>
/// It runs with the server's thread-pool setting (<see cref="SpinLimitVariable"/>), in a child process if need be: the
/// relay's latency depends on it more than on anything in the relay (each thread hop wakes a sleeping worker), and the
/// bench's own runtimeconfig does not have it.
/// </remarks>
internal static class NatsRelayLatency
{
    /// <summary>
    /// The thread pool's spin limit, which the server ships at 0 (<c>Dominance.csproj</c>: an idle worker sleeps at once).
    /// Set it in the environment to measure with another value; unset, the measurement runs with the server's 0.
    /// </summary>
    private const string SpinLimitVariable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>
    /// The nats-server to start (default: Debian's): a path, for instance of a script that starts it with other settings
    /// (<c>exec taskset -c 1 nats-server "$@"</c>); it gets the address and port as arguments. Environment variables such
    /// as <c>GOMAXPROCS</c> reach it through this process.
    /// </summary>
    private const string NatsServerVariable = "DOMINANCE_BENCH_NATS_SERVER";

    /// <summary>
    /// The shortest warm-up of each relay measurement. The JIT's tiering (tier 0, instrumented, tier 1) runs in the
    /// background for about three seconds after a path is first used, and each of its compilations takes a vCPU for a
    /// millisecond or more; a warm-up of a tenth of the messages (0.6 s through NATS) left it inside the measurement, where
    /// on this 2-vCPU machine it made most of the messages over 1 ms (issue-15f). A server runs for hours after it.
    /// </summary>
    private static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args)
    {
        if (Environment.GetEnvironmentVariable(SpinLimitVariable) is not { } spinLimit)
        {
            return await RunWithServerSettingAsync(args);
        }

        bool floor = args.Contains("--floor");
        string[] numbers = [.. args.Where(a => a != "--floor")];
        int messages = numbers.Length > 0 ? int.Parse(numbers[0]) : 20_000;
        int recipients = numbers.Length > 1 ? int.Parse(numbers[1]) : 1;
        string? binary = Environment.GetEnvironmentVariable(NatsServerVariable) is { Length: > 0 } chosen
            ? chosen
            : new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            Console.Error.WriteLine("nats-server is not installed (apt-get install nats-server)");
            return 1;
        }

        int port = FreePort();
        using Process nats = Process.Start(new ProcessStartInfo(binary, ["-a", "127.0.0.1", "-p", port.ToString()]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        try
        {
            await WaitForPortAsync(port);
            Console.WriteLine($"{messages:N0} messages, {recipients} recipient(s), after a warm-up of {messages / 10:N0} and at least {WarmUpTime.TotalSeconds:0} s, {SpinLimitVariable}={spinLimit}, nats-server {binary}; times in microseconds");
            string url = $"nats://127.0.0.1:{port}";
            Report("in process", await MeasureAsync(null, messages, recipients));
            Report("through NATS", await MeasureAsync(url, messages, recipients));
            Report("2 NATS pings", await MeasurePingsAsync(url, messages));
            if (floor)
            {
                Report("floor, raw", NatsFloor.MeasureRaw(port, messages));
                Report("floor, NATS.Net", await NatsFloor.MeasureNatsNetAsync(url, messages));
                Report("floor, inline", await NatsFloor.MeasureNatsNetInlineAsync(url, messages));
            }
        }
        finally
        {
            nats.Kill();
        }

        return 0;
    }

    /// <summary>Runs this measurement again in a child process with the server's thread-pool setting.</summary>
    private static async Task<int> RunWithServerSettingAsync(string[] args)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet");
        foreach (string arg in (string[])[typeof(NatsRelayLatency).Assembly.Location, "nats-relay", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[SpinLimitVariable] = "0";
        using Process child = Process.Start(start)!;
        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    private static async Task<double[]> MeasureAsync(string? natsUrl, int messages, int recipients)
    {
        var settings = new DominanceSettings();
        settings.Portal.CommandRateLimit = 0;
        settings.Nats.Url = natsUrl ?? "";
        settings.Nats.Secret = "bench-secret-0123456789";
        var core = new GameLoop(settings.Core, TimeProvider.System, NullLoggerFactory.Instance, new ConfigurationBuilder().Build());
        core.Start(new SayModule());
        await core.Started;
        CoreRelay? coreRelay = null;
        PortalRelay? portalRelay = null;
        PortalService portal;
        if (natsUrl is null)
        {
            portal = new PortalService(settings.Portal, core.Inbound, TimeProvider.System, NullLogger<PortalService>.Instance);
        }
        else
        {
            ResumeTokens tokens = ResumeTokens.FromSecret(settings.Nats.Secret);
            coreRelay = new CoreRelay(settings.Nats, core, tokens, TimeProvider.System, NullLogger<CoreRelay>.Instance);
            await coreRelay.StartAsync(CancellationToken.None);
            portalRelay = new PortalRelay(settings.Nats, 4096, TimeProvider.System, NullLogger<PortalRelay>.Instance);
            portal = new PortalService(settings.Portal, portalRelay, TimeProvider.System, NullLogger<PortalService>.Instance, firstSessionId: portalRelay.FirstSessionId);
            await portalRelay.StartAsync(portal, CancellationToken.None);
            while (!portalRelay.Attached)
            {
                await Task.Delay(10);
            }
        }

        int remaining = 0;
        using var done = new ManualResetEventSlim(false, spinCount: 1);
        var sender = new InMemorySession(portal, (_, _) => { });
        _ = sender.RunAsync();
        for (int i = 0; i < recipients; i++)
        {
            _ = new InMemorySession(portal, (_, _) =>
            {
                if (Interlocked.Decrement(ref remaining) == 0)
                {
                    done.Set();
                }
            }).RunAsync();
        }

        while (core.OpenSessions < recipients + 1)
        {
            await Task.Delay(10);
        }

        int warmUp = messages / 10;
        var times = new double[messages];
        long jitBefore = 0, jitAfter = 0;
        // On a thread of its own: the measuring loop blocks while it waits, and a blocked thread-pool thread would take
        // one of the few (two on a 2-core machine) that the relay's own tasks run on.
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var measuring = new Thread(() =>
        {
            try
            {
                Measure();
                finished.SetResult();
            }
            catch (Exception e)
            {
                finished.SetException(e);
            }
        }) { Name = "measuring", IsBackground = true };
        measuring.Start();
        await finished.Task;

        void Measure()
        {
            long warmingSince = Stopwatch.GetTimestamp();
            for (int i = 0; i < warmUp || Stopwatch.GetElapsedTime(warmingSince) < WarmUpTime; i++)
            {
                SendOne();
            }

            jitBefore = JitInfo.GetCompiledMethodCount();
            for (int i = 0; i < messages; i++)
            {
                times[i] = SendOne();
            }

            jitAfter = JitInfo.GetCompiledMethodCount();
        }

        double SendOne()
        {
            Volatile.Write(ref remaining, recipients);
            done.Reset();
            long start = Stopwatch.GetTimestamp();
            ValueTask sent = sender.SendAsync("say The north wind brings snow to Highkeep.");
            if (!sent.IsCompletedSuccessfully)
            {
                sent.AsTask().GetAwaiter().GetResult();
            }

            done.Wait();
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        if (portalRelay is not null)
        {
            await portalRelay.DisposeAsync();
        }

        if (coreRelay is not null)
        {
            await coreRelay.DisposeAsync();
        }

        await core.StopAsync();
        if (jitAfter > jitBefore)
        {
            Console.WriteLine($"  ({jitAfter - jitBefore} methods compiled by the JIT while {(natsUrl is null ? "in process" : "through NATS")} was measured)");
        }

        Array.Sort(times);
        return times;
    }

    /// <summary>
    /// The floor under the relay: two NATS pings in turn (client → nats-server → client, twice), the same four loopback
    /// TCP hops as a relayed message, with none of the relay's code or thread hops.
    /// </summary>
    private static async Task<double[]> MeasurePingsAsync(string natsUrl, int messages)
    {
        await using var nats = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with { Url = natsUrl });
        await nats.ConnectAsync();
        var times = new double[messages];
        for (int i = -messages / 10; i < messages; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await nats.PingAsync();
            await nats.PingAsync();
            if (i >= 0)
            {
                times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(times);
        return times;
    }

    private static void Report(string name, double[] sorted)
    {
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
        Console.WriteLine($"{name,-15} p50 {At(0.50),8:F1}   p90 {At(0.90),8:F1}   p99 {At(0.99),8:F1}   p99.9 {At(0.999),8:F1}   max {sorted[^1],9:F1}");
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (int i = 0; i < 200; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }

        throw new TimeoutException("nats-server did not start");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
