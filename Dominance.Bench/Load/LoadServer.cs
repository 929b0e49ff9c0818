using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Dominance.Bench.Load;

/// <summary>
/// A server for the load tool to run against, started as a child process: Dominance (the <c>dominance.dll</c> built
/// beside this tool) or the hand-written baseline. It is pinned to CPU 0 when the machine allows it.
/// </summary>
internal sealed partial class LoadServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string? _workingDirectory;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _output = [];
    private readonly Regex _readyLine;

    private LoadServer(Process process, Regex readyLine, string? workingDirectory)
    {
        _process = process;
        _readyLine = readyLine;
        _workingDirectory = workingDirectory;
    }

    /// <summary>
    /// Starts Dominance with the built-in game on ephemeral ports, in a fresh temporary folder (its database too), with
    /// the settings a load test needs: no per-IP connection rate (every client comes from 127.0.0.1) and no idle logoff. The per-session
    /// command rate limit stays at its default, as in production.
    /// </summary>
    /// <param name="cpus">The CPUs it runs on from its start (bit n: CPU n), or <see langword="null"/> for any.</param>
    public static Task<(LoadServer Server, LoadTarget Target)> StartDominanceAsync(ulong? cpus)
    {
        string folder = Directory.CreateTempSubdirectory("dominance-load-").FullName;
        string[] args =
        [
            Path.Combine(AppContext.BaseDirectory, "dominance.dll"),
            "--telnet-port", "0", "--http-port", "0",
            "--Portal:ConnectionRateLimit=0", "--Core:IdleTimeout=00:00:00", "--Reload:Watch=false",
            $"--Persistence:SqliteFile={Path.Combine(folder, "dominance.db")}",
        ];
        return StartAsync("Dominance", args, DominanceRunning(), folder, cpus, match => new LoadTarget(
            "Dominance", IPEndPoint.Parse(match.Groups["telnet"].Value), IPEndPoint.Parse(match.Groups["http"].Value), null));
    }

    /// <summary>Starts the hand-written Kestrel broadcast server (<see cref="BaselineServer"/>) on an ephemeral port.</summary>
    /// <param name="cpus">The CPUs it runs on from its start (bit n: CPU n), or <see langword="null"/> for any.</param>
    public static Task<(LoadServer Server, LoadTarget Target)> StartBaselineAsync(ulong? cpus) =>
        StartAsync("baseline", [typeof(LoadServer).Assembly.Location, "baseline-server", "0"], BaselineListening(), null, cpus, match =>
        {
            var url = new Uri(match.Groups["url"].Value);
            return new LoadTarget("baseline", null, new IPEndPoint(IPAddress.Parse(url.Host), url.Port), null);
        });

    private static async Task<(LoadServer, LoadTarget)> StartAsync(
        string name, string[] args, Regex readyLine, string? workingDirectory, ulong? cpus, Func<Match, LoadTarget> target)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        args.ToList().ForEach(start.ArgumentList.Add);
        var server = new LoadServer(new Process { StartInfo = start }, readyLine, workingDirectory);
        server._process.OutputDataReceived += (_, e) => server.OnOutput(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.OnOutput(e.Data);
        if (cpus is { } mask)
        {
            CpuPinning.StartPinned(server._process, mask);
        }
        else
        {
            server._process.Start();
        }

        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();

        Task first = await Task.WhenAny(server._ready.Task, server._process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != server._ready.Task)
        {
            string output = string.Join(Environment.NewLine, server.Output());
            await server.DisposeAsync();
            throw new InvalidOperationException($"The {name} server did not start. Its output:{Environment.NewLine}{output}");
        }

        Match match = readyLine.Match(await server._ready.Task);
        return (server, target(match) with { ProcessId = server._process.Id });
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }

        if (_readyLine.IsMatch(line))
        {
            _ready.TrySetResult(line);
        }
    }

    private string[] Output()
    {
        lock (_output)
        {
            return [.. _output];
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        if (_workingDirectory is not null)
        {
            Directory.Delete(_workingDirectory, recursive: true);
        }
    }

    [GeneratedRegex(@"Dominance is running .*Telnet: (?<telnet>\S+)\s+Web: http://(?<http>[^/]+)/")]
    private static partial Regex DominanceRunning();

    [GeneratedRegex(BaselineServer.ListeningPrefix + @"(?<url>\S+)")]
    private static partial Regex BaselineListening();
}
