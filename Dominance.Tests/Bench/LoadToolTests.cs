using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Dominance.Bench.Load;
using Dominance.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dominance.Tests.Bench;

/// <summary>The load tool (<c>./run.sh load</c>): it must count every delivery, and notice when one is missing.</summary>
[NonParallelizable] // reads a server's metrics, which any other server in this process would share (see TestRun.cs)
public sealed class LoadToolTests
{
    private static readonly LoadOptions s_short = new()
    {
        Clients = 20,
        Senders = 4,
        Rate = 40,
        Duration = TimeSpan.FromSeconds(2),
        WarmUp = TimeSpan.Zero,
        Drain = TimeSpan.FromSeconds(10),
    };

    [TestCase(false, false, TestName = "A short load over WebSocket loses nothing")]
    [TestCase(true, false, TestName = "A short load over telnet loses nothing")]
    [TestCase(true, true, TestName = "A short load over telnet with MCCP2 loses nothing, every client's output compressed")]
    public async Task AShortLoadLosesNothing(bool telnet, bool mccp)
    {
        await using TestServer server = await TestServer.StartFromSourceAsync(null);
        var target = new LoadTarget("test", server.Telnet, server.Http, Environment.ProcessId);

        LoadResult result = await LoadRun.RunAsync(target, s_short with { Telnet = telnet, Mccp = mccp });

        Assert.That(result.Failures, Is.Empty);
        Assert.That(result.Sent, Is.GreaterThan(0), "the senders sent");
        Assert.That(result.Expected, Is.EqualTo(result.Sent * 20), "every client receives every message");
        Assert.That(result.Delivered, Is.EqualTo(result.Expected));
        Assert.That(result.Lost, Is.Zero);
        Assert.That(result.LatencyMilliseconds, Has.Length.EqualTo(result.Delivered), "each delivery is timed");
        Assert.That(result.LatencyMilliseconds, Is.Ordered.And.All.GreaterThan(0));
        Assert.That(result.ArrivalMilliseconds, Has.Length.EqualTo(result.Delivered), "the kernel stamped each delivery's arrival at the socket");
        Assert.That(result.ToolDelayMilliseconds, Has.Length.EqualTo(result.Delivered).And.All.GreaterThan(-1), "read after it arrived (to within the clocks' conversion)");
        Assert.That(LoadResult.Percentile(result.ArrivalMilliseconds, 0.5), Is.LessThanOrEqualTo(result.Percentile(0.5) + 1), "the socket's share is within the latency");
        Assert.That(result.ServerCpu?.Total, Is.GreaterThan(0), "the server's CPU time is read from /proc");
        Assert.That(result.ToolCpu?.Total, Is.GreaterThan(0), "the load tool's own CPU time too");
        Assert.That(result.ToolCpuShare, Is.GreaterThan(0));
        Assert.That(result.ServerRuntime, Is.Not.Null, "Dominance reports its runtime figures at /healthz");
        Assert.That(result.MetricsBefore?.Series, Does.ContainKey("dominance_deliveries_total"), "the server's metrics are read from /metrics");
        Assert.That(
            result.MetricsAfter!.Series["dominance_deliveries_total"] - result.MetricsBefore!.Series["dominance_deliveries_total"],
            Is.GreaterThanOrEqualTo(result.Delivered), "the server counted at least the deliveries the clients timed");
    }

    [Test]
    public async Task TheTimelineHasARowForEachMessageWithItsRecipientsLatencies()
    {
        await using TestServer server = await TestServer.StartFromSourceAsync(null);
        var target = new LoadTarget("Test", server.Telnet, server.Http, Environment.ProcessId);
        string prefix = Path.Combine(server.Folder, "run");

        LoadResult result = await LoadRun.RunAsync(target, s_short with { Timeline = prefix });

        Assert.That(result.Lost, Is.Zero);
        string[] lines = File.ReadAllLines(prefix + ".test.csv");
        Assert.That(lines[0], Is.EqualTo("sent_ms,recipients,p50_ms,max_ms,max_at_socket_ms,sent_clock_ns"));
        double[][] rows = [.. lines.Skip(1).Select(l => l.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray())];
        Assert.That(rows, Has.Length.EqualTo(result.Sent), "one row per measured message");
        Assert.That(rows.Select(r => r[1]), Is.All.EqualTo(20), "each message reached all 20 clients");
        Assert.That(rows[0][0], Is.Zero, "times from the first message's send");
        Assert.That(rows.Select(r => r[0]), Is.Ordered, "in the order sent");
        Assert.That(rows.Select(r => r[0]).Max(), Is.GreaterThan(1000).And.LessThan(result.SendDuration.TotalMilliseconds), "over the run's 2 s");
        Assert.That(rows.All(r => r[2] > 0 && r[2] <= r[3] && r[4] <= r[3]), Is.True, "median ≤ max, and the socket's share within the max");
        Assert.That(rows.Max(r => r[3]), Is.EqualTo(result.LatencyMilliseconds[^1]).Within(0.001), "the slowest row's max is the run's max");
        Assert.That(rows.Select(r => (r[5] - rows[0][5]) / 1e6), Is.EqualTo(rows.Select(r => r[0])).Within(0.001), "the clock's reading is the send time");
    }

    [Test]
    public async Task TheIdleReportReadsTheServersMemoryAfterAFullCollectionBeforeAndAfterTheClients()
    {
        await using TestServer server = await TestServer.StartFromSourceAsync(null);
        var target = new LoadTarget("test", server.Telnet, server.Http, Environment.ProcessId);
        int gen2 = GC.CollectionCount(2);

        LoadResult result = await LoadRun.RunAsync(target, s_short with { IdleReport = true, IdleWait = TimeSpan.FromSeconds(1) });

        Assert.That(result.Lost, Is.Zero);
        Assert.That(result.Idle, Is.Not.Null, "both readings were taken");
        (IdleMemory before, IdleMemory after) = result.Idle!.Value;
        Assert.That(before.ResidentBytes, Is.GreaterThan(0), "VmRSS is read from /proc");
        Assert.That(after.ResidentBytes, Is.GreaterThan(0));
        Assert.That(before.HeapBytes, Is.GreaterThan(0), "the managed heap is read from /healthz");
        Assert.That(after.HeapBytes, Is.GreaterThan(0));
        Assert.That(GC.CollectionCount(2), Is.GreaterThanOrEqualTo(gen2 + 2), "the diagnostics port made the server collect fully, twice");
    }

    [Test]
    public async Task MessagesTheServerDropsAreCountedAsLost()
    {
        // Each sender sends 10 a second; the server admits 3 inputs a second per session and drops the rest.
        await using TestServer server = await TestServer.StartFromSourceAsync(null, s => s.Portal.CommandRateLimit = 3);
        var target = new LoadTarget("test", server.Telnet, server.Http, Environment.ProcessId);

        LoadResult result = await LoadRun.RunAsync(target, s_short with { Drain = TimeSpan.FromSeconds(1) });

        Assert.That(result.Sent, Is.GreaterThan(70));
        Assert.That(result.Lost, Is.GreaterThan(0));
        Assert.That(result.Delivered + result.Lost, Is.EqualTo(result.Expected));
    }

    [Test]
    public async Task TheCommandComparesDominanceWithTheBaselineAndTheKernelsSendCostAndExitsZero()
    {
        await using ServerProcess tool = StartLoadCommand("--clients", "10", "--senders", "2", "--rate", "20", "--duration", "1", "--warmup", "0", "--baseline", "--send-cost");

        Assert.That(await tool.ExitCodeAsync(TimeSpan.FromMinutes(2)), Is.Zero, tool.Output);
        string output = tool.Output;
        Assert.That(output, Does.Match(@"\s+Dominance\s+baseline\s*\n"), "the two results side by side");
        Assert.That(output, Does.Match(@"lost\s+0\s+0\s*\n"));
        Assert.That(output, Does.Match(@"latency p99\s+[\d.]+ ms\s+[\d.]+ ms"));
        Assert.That(output, Does.Match(@"server CPU per delivery\s+[\d.]+ µs\s+[\d.]+ µs"));
        Assert.That(output, Does.Match(@"load tool CPU per delivery\s+[\d.]+ µs\s+[\d.]+ µs"), "the tool's own cost beside each server's");
        Assert.That(output, Does.Match(@"at the socket p99\s+[\d.]+ ms\s+[\d.]+ ms"), "the latency until the kernel had the bytes");
        Assert.That(output, Does.Match(@"load tool's read delay p99\s+[\d.]+ ms\s+[\d.]+ ms"));
        Assert.That(output, Does.Contain("Dominance's metrics (/metrics), before and after the measured run:"));
        Assert.That(output, Does.Match(@"dominance_inputs_handled_total\s+[\d,]+\s+[\d,]+\s+[\d,]+\n"), "each series before, after, and the change");
        Assert.That(output, Does.Contain(CpuPinning.Possible ? "each server runs on CPU 0 alone, this load tool on CPU 1 alone" : "CPU pinning: off"));
        Assert.That(output, Does.Match(@"Kernel send cost: .* to each of 10 loopback TCP connections in turn, 20 times a second .* uses [\d.]+ µs of CPU per send"), "every byte of the bare sends arrived");
    }

    [Test]
    public async Task InterleavedTheTwoServersTakeTurnsAndEachResultIsTheSumOfItsWindows()
    {
        await using ServerProcess tool = StartLoadCommand(
            "--clients", "10", "--senders", "2", "--rate", "20", "--duration", "2", "--warmup", "0", "--baseline", "--interleave", "0.5");

        Assert.That(await tool.ExitCodeAsync(TimeSpan.FromMinutes(2)), Is.Zero, tool.Output);
        string output = tool.Output;
        Assert.That(output, Does.Match(@"\s+Dominance\s+baseline\s*\n"), "the two results side by side");
        Assert.That(output, Does.Match(@"messages sent\s+40\s+40\s*\n"), "four windows of 0.5 s at 20 a second, summed for each server");
        Assert.That(output, Does.Match(@"deliveries made\s+400\s+400\s*\n"));
        Assert.That(output, Does.Match(@"lost\s+0\s+0\s*\n"));
        Assert.That(output, Does.Contain("Interleaved: 4 windows each, in the order AB BA AB BA (A: Dominance, B: baseline)"), "each server measured first in turn");
        Assert.That(output, Does.Match(@"Interleaved: .*(\((([\d.]+|n/a), ){3}([\d.]+|n/a)\)|No window's CPU time was known to compare)\."), "a ratio (or n/a) for each pair of windows");
    }

    [Test]
    public async Task TheCommandExitsNonZeroWhenMessagesAreLost()
    {
        await using TestServer server = await TestServer.StartFromSourceAsync(null, s => s.Portal.CommandRateLimit = 3);
        await using ServerProcess tool = StartLoadCommand(
            "--connect", server.Http.ToString(), "--clients", "10", "--senders", "2", "--rate", "20", "--duration", "1", "--warmup", "0", "--no-pin");

        Assert.That(await tool.ExitCodeAsync(TimeSpan.FromMinutes(2)), Is.EqualTo(1), tool.Output);
        Assert.That(tool.Output, Does.Contain("Messages were lost."));
    }

    [Test]
    public async Task TheWarmUpReadsTheServersMetricsAndHealthRepeatedlyUntilItEnds()
    {
        // A server that only counts what it is asked for (the baseline answers neither: 404 is fine).
        var asked = new ConcurrentDictionary<string, int>();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using WebApplication app = builder.Build();
        app.Run(context =>
        {
            asked.AddOrUpdate(context.Request.Path.Value ?? "", 1, (_, n) => n + 1);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        var target = new LoadTarget("counting", null, new IPEndPoint(IPAddress.Loopback, address.Port), null);

        using var warmUp = new CancellationTokenSource();
        Task scrapes = LoadSession.ScrapeAsync(target, warmUp.Token);
        long deadline = Environment.TickCount64 + 10_000;
        while ((asked.GetValueOrDefault("/metrics") < 2 || asked.GetValueOrDefault("/healthz") < 2) && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }

        await warmUp.CancelAsync();
        await scrapes.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(asked.GetValueOrDefault("/metrics"), Is.GreaterThanOrEqualTo(2), "read again");
        Assert.That(asked.GetValueOrDefault("/healthz"), Is.GreaterThanOrEqualTo(2));
        Assert.That(asked.Keys, Is.EquivalentTo(new[] { "/metrics", "/healthz" }), "nothing else is asked for");
    }

    [TestCase("--baseline cannot be combined with --telnet", "--baseline", "--telnet")]
    [TestCase("--mccp needs --telnet", "--mccp")]
    [TestCase("--interleave takes the seconds of one window", "--interleave", "2")]
    [TestCase("--interleave takes the seconds of one window", "--baseline", "--interleave", "0.4")]
    [TestCase("--interleave takes the seconds of one window", "--baseline", "--interleave", "NaN")]
    [TestCase("--interleave takes the seconds of one window", "--baseline", "--interleave", "20", "--duration", "10")]
    [TestCase("--server-cpus takes a list of this machine's CPUs", "--server-cpus", "0,4096")]
    [TestCase("--server-cpus takes a list of this machine's CPUs", "--server-cpus", "one")]
    [TestCase("it cannot be combined with --no-pin or --connect", "--server-cpus", "0", "--no-pin")]
    public async Task BadOptionsAreRefusedWithAReason(string reason, params string[] args)
    {
        await using ServerProcess tool = StartLoadCommand(args);

        Assert.That(await tool.ExitCodeAsync(), Is.EqualTo(2));
        Assert.That(tool.Output, Does.Contain(reason));
    }

    [TestCase("0", 0b1ul)]
    [TestCase("0,1", 0b11ul)]
    [TestCase("0-1", 0b11ul)]
    [TestCase("1", 0b10ul)]
    [TestCase("1,0-1", 0b11ul)]
    [TestCase("", 0ul)]
    [TestCase("0,", 0ul)]
    [TestCase("1-0", 0ul)]
    [TestCase("0-1-2", 0ul)]
    [TestCase("-1", 0ul)]
    [TestCase("64", 0ul)]
    public void ACpuListIsReadAsTasksetReadsIt(string list, ulong mask)
    {
        Assume.That(CpuPinning.MachineCpuCount, Is.GreaterThanOrEqualTo(2), "the lists name CPUs 0 and 1");

        Assert.That(CpuPinning.TryParseList(list, out ulong read), Is.EqualTo(mask != 0));
        Assert.That(read, Is.EqualTo(mask));
    }

    [Test]
    public async Task TheServerCanBeGivenBothCpusWhileTheToolKeepsTheSecond()
    {
        Assume.That(CpuPinning.Possible, Is.True, "two CPUs to place the server and the tool on");
        await using ServerProcess tool = StartLoadCommand("--clients", "10", "--senders", "2", "--rate", "20", "--duration", "1", "--warmup", "0", "--server-cpus", "0,1");

        Assert.That(await tool.ExitCodeAsync(TimeSpan.FromMinutes(2)), Is.Zero, tool.Output);
        Assert.That(tool.Output, Does.Contain("each server runs on CPUs 0,1, this load tool on CPU 1, which they share"), "the list is read by the tool pinned to CPU 1, too");
        Assert.That(tool.Output, Does.Match(@"lost\s+0\s*\n"));
    }

    [Test]
    public async Task AServerStartedOnACpuListRunsOnThoseCpus()
    {
        Assume.That(OperatingSystem.IsLinux() && Environment.ProcessorCount >= 2, Is.True, "sched_setaffinity, two CPUs");
        var start = new ProcessStartInfo("grep", ["Cpus_allowed_list", "/proc/self/status"]) { RedirectStandardOutput = true };

        Assume.That(CpuPinning.IsPinnedTo(1), Is.False, "this thread may run on CPU 0");

        using var both = new Process { StartInfo = start };
        CpuPinning.StartPinned(both, 0b11ul);
        using var second = new Process { StartInfo = start };
        CpuPinning.StartPinned(second, 0b10ul);
        Assert.That(CpuPinning.IsPinnedTo(1), Is.False, "the caller's own CPUs are given back");

        Assert.That((await both.StandardOutput.ReadToEndAsync()).Trim(), Does.EndWith("\t0-1").Or.EndWith("\t0,1"));
        Assert.That((await second.StandardOutput.ReadToEndAsync()).Trim(), Does.EndWith("\t1"));
    }

    private static ServerProcess StartLoadCommand(params string[] args) => ServerProcess.StartExecutable(
        Environment.ProcessPath ?? "dotnet",
        [Path.Combine(AppContext.BaseDirectory, "Dominance.Bench.dll"), "load", .. args],
        environment: null,
        Path.GetTempPath(),
        clearEnvironment: false);
}
