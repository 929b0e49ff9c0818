using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Dominance.Bench.Load;

/// <summary><c>./run.sh load …</c>: parses the options, starts (or finds) the servers, runs the load and prints the results.</summary>
internal static class LoadCommand
{
    /// <summary>The options' defaults, stated once, in <see cref="LoadOptions"/>.</summary>
    private static readonly LoadOptions s_defaults = new();

    public static Task<int> InvokeAsync(string[] args)
    {
        var clients = new Option<int>("--clients", "-n") { Description = "Clients that log in as guests; each receives every chat message.", DefaultValueFactory = _ => s_defaults.Clients };
        var senders = new Option<int>("--senders", "-s") { Description = "How many of the clients send.", DefaultValueFactory = _ => s_defaults.Senders };
        var rate = new Option<double>("--rate", "-r") { Description = "Chat messages per second, all senders together.", DefaultValueFactory = _ => s_defaults.Rate };
        var duration = new Option<double>("--duration", "-d") { Description = "Seconds of measured sending.", DefaultValueFactory = _ => s_defaults.Duration.TotalSeconds };
        var warmUp = new Option<double>("--warmup") { Description = "Seconds of sending before the measured run (not counted).", DefaultValueFactory = _ => s_defaults.WarmUp.TotalSeconds };
        var telnet = new Option<bool>("--telnet") { Description = "Use telnet clients instead of WebSocket clients." };
        var mccp = new Option<bool>("--mccp") { Description = "With --telnet: the clients accept MCCP2, so the server compresses each one's output (and they inflate it)." };
        var baseline = new Option<bool>("--baseline") { Description = "Also run the same load against a hand-written Kestrel WebSocket broadcast server, and show both." };
        var interleave = new Option<double?>("--interleave")
        {
            Description = "With --baseline: start both servers at once and measure them in turns, windows of about this many seconds each "
                + "(A B, B A, ...) until each has had --duration, so that both are measured over the same stretch of the machine's time.",
        };
        var connect = new Option<string?>("--connect")
        {
            Description = "Load an already running server at host:port (its WebSocket port, or its telnet port with --telnet) instead of starting one; "
                + "several, comma-separated (one server's portals), spread the clients over them in turn.",
        };
        var pid = new Option<int?>("--pid") { Description = "With --connect: the server's process id, to report its CPU time." };
        var noPin = new Option<bool>("--no-pin") { Description = "Do not pin the server to CPU 0 and the load tool to CPU 1." };
        var serverCpus = new Option<string>("--server-cpus")
        {
            Description = "The CPUs each server the tool starts runs on, as taskset -c takes them (0, 0,1, 0-1); the tool's own mask stays CPU 1 only. "
                + "0,1 lets a server write its sockets on the second CPU, which it then shares with the tool.",
            DefaultValueFactory = _ => "0",
        };
        var sendCost = new Option<bool>("--send-cost")
        {
            Description = "Also measure what the kernel's sends cost here: one bare thread sending to as many loopback connections at the same rate (Linux).",
        };

        var idleReport = new Option<bool>("--idle-report")
        {
            Description = "Before the first client and once all are logged in and idle for 30 s, make the server collect fully (its diagnostics port) and report "
                + "its resident memory and managed heap per connection (Linux).",
        };

        var timeline = new Option<string?>("--timeline")
        {
            Description = "Also write each server's measured messages to PREFIX.<server>.csv: when each was sent, its recipients, its latency's median and maximum over them, the maximum at the socket, and the send's CLOCK_MONOTONIC reading (perf record -k CLOCK_MONOTONIC).",
            HelpName = "PREFIX",
        };

        var command = new Command("load",
            "Load a server with real clients: N clients log in as guests, S of them send `chat` at a total rate R for D seconds, and every "
            + "client times every message by the send stamp in its text. Without --connect, a fresh Dominance server is started for the run.")
        {
            clients, senders, rate, duration, warmUp, telnet, mccp, baseline, interleave, connect, pid, noPin, serverCpus, sendCost, idleReport, timeline,
        };
        command.SetAction((parse, cancel) =>
        {
            string? error =
                parse.GetValue(clients) < 1 || parse.GetValue(senders) < 1 || parse.GetValue(rate) <= 0 || parse.GetValue(duration) <= 0
                    ? "--clients, --senders, --rate and --duration must be positive."
                : !OperatingSystem.IsLinux() ? "The load tool's clients are read with epoll and stamped by the kernel (SO_TIMESTAMPNS), which needs Linux."
                : parse.GetValue(baseline) && parse.GetValue(telnet) ? "The baseline is a WebSocket server: --baseline cannot be combined with --telnet."
                : parse.GetValue(mccp) && !parse.GetValue(telnet) ? "MCCP2 is telnet's compression: --mccp needs --telnet."
                : parse.GetValue(interleave) is { } window && (!parse.GetValue(baseline) || parse.GetValue(connect) is not null || !(window >= 0.5 && window <= parse.GetValue(duration)))
                    ? "--interleave takes the seconds of one window (0.5 at least: CPU time is counted in 10-ms ticks; at most --duration) and needs --baseline, and the tool to start the servers (no --connect)."
                : parse.GetValue(connect) is { } endpoints && Addresses(endpoints).FirstOrDefault(e => !IPEndPoint.TryParse(e, out IPEndPoint? _)) is { } endpoint
                    ? $"--connect takes host:port, such as 127.0.0.1:4001, or several separated by commas; '{endpoint}' is not one."
                : !CpuPinning.TryParseList(parse.GetValue(serverCpus)!, out _)
                    ? $"--server-cpus takes a list of this machine's CPUs (0 to {Math.Min(CpuPinning.MachineCpuCount, 64) - 1}), such as 0 or 0,1; '{parse.GetValue(serverCpus)}' is not one."
                : parse.GetResult(serverCpus) is { Implicit: false } && (parse.GetValue(noPin) || parse.GetValue(connect) is not null)
                    ? "--server-cpus places the servers the tool starts: it cannot be combined with --no-pin or --connect."
                : parse.GetResult(serverCpus) is { Implicit: false } && !CpuPinning.Possible
                    ? $"--server-cpus needs CPU pinning, which needs Linux and 2 CPUs; this machine has {Environment.ProcessorCount}."
                : null;
            if (error is not null)
            {
                Console.Error.WriteLine($"load: {error}");
                return Task.FromResult(2);
            }

            var options = new LoadOptions
            {
                Clients = parse.GetValue(clients),
                Senders = Math.Min(parse.GetValue(senders), parse.GetValue(clients)),
                Rate = parse.GetValue(rate),
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                WarmUp = TimeSpan.FromSeconds(parse.GetValue(warmUp)),
                Telnet = parse.GetValue(telnet),
                Mccp = parse.GetValue(mccp),
                IdleReport = parse.GetValue(idleReport),
                Timeline = parse.GetValue(timeline),
            };
            bool pin = !parse.GetValue(noPin) && CpuPinning.Possible;
            if (pin && !CpuPinning.IsPinnedTo(1))
            {
                // Run the tool itself on CPU 1 from its start, so that its runtime, too, sizes itself for one CPU.
                return RunPinnedAsync(args);
            }

            CpuPinning.TryParseList(parse.GetValue(serverCpus)!, out ulong cpus);
            return RunAsync(options, parse.GetValue(baseline), parse.GetValue(interleave) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                parse.GetValue(sendCost), parse.GetValue(connect), parse.GetValue(pid), pin ? (parse.GetValue(serverCpus)!, cpus) : null);
        });
        return new RootCommand("Dominance.Bench: the load tool (load) and the BenchmarkDotNet suite (any other arguments).") { command }
            .Parse(["load", .. args]).InvokeAsync();
    }

    private static async Task<int> RunPinnedAsync(string[] args)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet");
        foreach (string arg in (string[])[typeof(LoadCommand).Assembly.Location, "load", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using var tool = new Process { StartInfo = start };
        CpuPinning.StartPinned(tool, 1);
        await tool.WaitForExitAsync();
        return tool.ExitCode;
    }

    private static async Task<int> RunAsync(
        LoadOptions options, bool baseline, TimeSpan? interleave, bool sendCost, string? connect, int? pid, (string List, ulong Mask)? serverCpus)
    {
        Console.WriteLine(
            $"Load: {options.Clients} {(options.Mccp ? "telnet (MCCP2)" : options.Telnet ? "telnet" : "WebSocket")} clients, {options.Senders} senders, "
            + $"{options.Rate:0.#} chat/s in total for {options.Duration.TotalSeconds:0.#} s (after {options.WarmUp.TotalSeconds:0.#} s of warm-up); "
            + "every message goes to every client.");
        if (options.Rate / options.Senders >= 80)
        {
            Console.WriteLine($"  Note: {options.Rate / options.Senders:0.#} chat/s per sender reaches Dominance's default command rate limit (80/s); add senders.");
        }

        if (serverCpus is { } cpus)
        {
            Console.WriteLine(connect is not null
                ? "CPU pinning: this load tool runs on CPU 1 alone; the server was started elsewhere (pin it to another CPU, e.g. taskset -c 0)."
                : cpus.Mask == 1 ? "CPU pinning: each server runs on CPU 0 alone, this load tool on CPU 1 alone."
                : $"CPU pinning: each server runs on CPUs {cpus.List}, this load tool on CPU 1{((cpus.Mask & 2) != 0 ? ", which they share" : " alone")}.");
        }
        else
        {
            Console.WriteLine($"CPU pinning: off ({(CpuPinning.Possible ? "--no-pin" : $"it needs Linux and 2 CPUs; this machine has {Environment.ProcessorCount}")}); servers and load share the CPUs.");
        }

        if (interleave is { } length)
        {
            Console.WriteLine(
                $"Interleaved: both servers run at once, and they take turns in windows of about {length.TotalSeconds:0.##} s, each after a lead-in of a quarter "
                + "of that, not counted; the one not being measured is idle.");
        }

        var results = new List<LoadResult>();
        double?[]? ratios = null;
        string turns = "";
        if (interleave is { } window)
        {
            (LoadServer dominance, LoadTarget dominanceTarget) = await LoadServer.StartDominanceAsync(serverCpus?.Mask);
            await using (dominance)
            {
                (LoadServer other, LoadTarget baselineTarget) = await LoadServer.StartBaselineAsync(serverCpus?.Mask);
                await using (other)
                {
                    (LoadResult a, LoadResult b, ratios, turns) = await LoadRun.RunInterleavedAsync(dominanceTarget, baselineTarget, options, window, Console.Out);
                    results.Add(a);
                    results.Add(b);
                }
            }
        }
        else if (connect is not null)
        {
            LoadTarget[] targets =
            [
                .. Addresses(connect).Select(IPEndPoint.Parse).Select((endpoint, i) => new LoadTarget(
                    i == 0 ? "server" : $"server {i + 1}", options.Telnet ? endpoint : null, endpoint, i == 0 ? pid : null)),
            ];
            results.Add(await LoadRun.RunAsync(targets[0] with { Others = targets[1..] }, options, Console.Out));
        }
        else
        {
            results.Add(await RunStartedAsync(LoadServer.StartDominanceAsync(serverCpus?.Mask), options));
        }

        if (baseline && interleave is null)
        {
            results.Add(await RunStartedAsync(LoadServer.StartBaselineAsync(serverCpus?.Mask), options));
        }

        Print(results);
        if (ratios is not null)
        {
            double[] known = [.. ratios.OfType<double>().Order()];
            Console.WriteLine(
                $"Interleaved: {ratios.Length} windows each, in the order {turns} (A: Dominance, B: baseline), both servers running throughout. "
                + (known.Length > 0
                    ? $"Server CPU per delivery, Dominance ÷ baseline, in each pair of neighbouring windows: median {(known[(known.Length - 1) / 2] + known[known.Length / 2]) / 2:F2}, "
                        + $"from {known[0]:F2} to {known[^1]:F2} ({string.Join(", ", ratios.Select(r => r is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "n/a"))})."
                    : "No window's CPU time was known to compare."));
        }

        foreach (LoadResult result in results)
        {
            if (result is { MetricsBefore: { } metricsBefore, MetricsAfter: { } metricsAfter })
            {
                MetricsSnapshot.Print(Console.Out, result.Target, metricsBefore, metricsAfter);
            }
        }

        if (sendCost)
        {
            // Two seconds of messages at the load's rate (at least 100), so the readers see the same rhythm as in the run.
            int rounds = (int)Math.Max(100, options.Rate * 2);
            int? floorCpu = serverCpus is { } placed ? System.Numerics.BitOperations.TrailingZeroCount(placed.Mask) : null; // the servers' first CPU
            SendCostResult bare = await SendCost.MeasureAsync(options.Clients, options.Rate, rounds, cpu: floorCpu);
            Console.WriteLine(
                $"Kernel send cost: one bare thread{(floorCpu is { } on ? $" on CPU {on}" : "")} sending {bare.PayloadBytes} bytes to each of {bare.Sockets} loopback TCP "
                + $"connections in turn, {bare.Rate:0.#} times a second for {bare.Rounds} rounds, uses {bare.MicrosecondsPerSend:F2} µs of CPU per send "
                + $"(user {bare.UserMicroseconds / bare.Sends:F2} + system {bare.SystemMicroseconds / bare.Sends:F2}).");
        }

        return results.Any(r => r.Lost != 0) ? 1 : 0;
    }

    private static async Task<LoadResult> RunStartedAsync(Task<(LoadServer Server, LoadTarget Target)> starting, LoadOptions options)
    {
        (LoadServer server, LoadTarget target) = await starting;
        await using (server)
        {
            return await LoadRun.RunAsync(target, options, Console.Out);
        }
    }

    private static void Print(IReadOnlyList<LoadResult> results)
    {
        (string Label, Func<LoadResult, string> Value)[] rows =
        [
            ("connect + log in, all clients", r => $"{r.ConnectTime.TotalMilliseconds:F0} ms"),
            ("messages sent", r => $"{r.Sent}"),
            ("deliveries expected", r => $"{r.Expected}"),
            ("deliveries made", r => $"{r.Delivered}"),
            ("lost", r => $"{r.Lost}"),
            ("delivered per second", r => $"{r.DeliveredPerSecond:F0}"),
            ("latency p50", r => Milliseconds(r.Percentile(0.50))),
            ("latency p90", r => Milliseconds(r.Percentile(0.90))),
            ("latency p99", r => Milliseconds(r.Percentile(0.99))),
            ("latency p99.9", r => Milliseconds(r.Percentile(0.999))),
            ("latency max", r => Milliseconds(r.Percentile(1))),
            ("at the socket p50", r => Milliseconds(LoadResult.Percentile(r.ArrivalMilliseconds, 0.50))),
            ("at the socket p99", r => Milliseconds(LoadResult.Percentile(r.ArrivalMilliseconds, 0.99))),
            ("load tool's read delay p50", r => Milliseconds(LoadResult.Percentile(r.ToolDelayMilliseconds, 0.50))),
            ("load tool's read delay p99", r => Milliseconds(LoadResult.Percentile(r.ToolDelayMilliseconds, 0.99))),
            ("server CPU, user + system", r => r.ServerCpu is { } c ? $"{c.User:F2}+{c.System:F2} s" : "n/a"),
            ("server CPU per delivery", r => r.CpuMicrosecondsPerDelivery is { } us ? $"{us:F2} µs" : "n/a"),
            ("server allocated per delivery", r => r.BytesAllocatedPerDelivery is { } b ? $"{b:F1} B" : "n/a"),
            ("server GCs gen0/1/2, pause", r => r.ServerRuntime is { } g ? $"{g.Gen0}/{g.Gen1}/{g.Gen2}, {g.PauseMilliseconds:F0} ms" : "n/a"),
            ("load tool CPU per delivery", r => r.ToolCpuMicrosecondsPerDelivery is { } us ? $"{us:F2} µs" : "n/a"),
            ("load tool CPU, share of 1 CPU", r => r.ToolCpuShare is { } share ? $"{share * 100:F0} %" : "n/a"),
            ("load tool's GCs gen0/1/2", r => $"{r.ToolCollections.Gen0}/{r.ToolCollections.Gen1}/{r.ToolCollections.Gen2}"),
        ];

        const int labelWidth = 30;
        const int columnWidth = 14;
        Console.WriteLine();
        Console.WriteLine("".PadRight(labelWidth) + string.Concat(results.Select(r => r.Target.PadLeft(columnWidth))));
        foreach ((string label, Func<LoadResult, string> value) in rows)
        {
            Console.WriteLine(label.PadRight(labelWidth) + string.Concat(results.Select(r => value(r).PadLeft(columnWidth))));
        }

        foreach (LoadResult result in results.Where(r => r.Failures.Count > 0))
        {
            Console.WriteLine($"{result.Target}: clients failed: {string.Join("; ", result.Failures)}");
        }

        if (results.Any(r => r.Lost != 0))
        {
            Console.WriteLine("Messages were lost.");
        }
    }

    private static string[] Addresses(string connect) => connect.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Milliseconds(double value) => double.IsNaN(value) ? "n/a" : value.ToString("F2", CultureInfo.InvariantCulture) + " ms";
}
