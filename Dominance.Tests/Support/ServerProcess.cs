using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Dominance.Tests.Support;

/// <summary>The real <c>dominance</c> server as a child process, as a user runs it.</summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Match> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _temporary;

    private ServerProcess(Process process)
    {
        _process = process;
    }

    public IPEndPoint Telnet { get; private set; } = null!;

    public IPEndPoint Http { get; private set; } = null!;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>dominance</c> (the build under test) with <paramref name="args"/> and, unless told otherwise, ephemeral
    /// ports. Unless <paramref name="args"/> name a database, it gets a SQLite file of its own in a new temporary folder.
    /// </summary>
    public static ServerProcess Start(IEnumerable<string> args, IDictionary<string, string>? environment = null, bool ephemeralPorts = true, string? workingDirectory = null)
    {
        string[] given = [.. args];
        string? database = given.Any(a => a.StartsWith("--Persistence:", StringComparison.Ordinal))
            ? null
            : Directory.CreateTempSubdirectory("dominance-process-").FullName;
        ServerProcess server = StartExecutable(
            Environment.ProcessPath ?? "dotnet",
            [
                Path.Combine(AppContext.BaseDirectory, "dominance.dll"),
                .. given,
                .. (ephemeralPorts ? (string[])["--telnet-port", "0", "--http-port", "0"] : []),
                .. (database is null ? (string[])[] : [$"--Persistence:SqliteFile={Path.Combine(database, "dominance.db")}"]),
            ],
            environment,
            workingDirectory ?? Path.GetTempPath(),
            clearEnvironment: false);
        server._temporary = database;
        return server;
    }

    /// <summary>Starts any executable, capturing its output; with <paramref name="clearEnvironment"/>, only <paramref name="environment"/> is passed.</summary>
    public static ServerProcess StartExecutable(string file, IEnumerable<string> args, IDictionary<string, string>? environment, string workingDirectory, bool clearEnvironment)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (clearEnvironment)
        {
            start.Environment.Clear();
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var server = new ServerProcess(new Process { StartInfo = start });
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.Start();
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        return server;
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Waits for the "Dominance is running" line and reads the addresses from it.</summary>
    public async Task WaitUntilRunningAsync()
    {
        Task exited = _process.WaitForExitAsync();
        Task first = await Task.WhenAny(_ready.Task, exited, Task.Delay(Poll.Deadline * 2));
        Assert.That(first, Is.SameAs(_ready.Task), $"the server did not report that it was running. Output:\n{Output}");
        Match match = await _ready.Task;
        Telnet = IPEndPoint.Parse(match.Groups["telnet"].Value);
        Http = IPEndPoint.Parse(match.Groups["http"].Value);
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGINT = 2) to the server.</summary>
    public void Signal(int signal) => Assert.That(Kill(_process.Id, signal), Is.Zero, "kill() failed");

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Poll.Deadline * 2);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The server did not exit. Output:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (_temporary is not null)
        {
            Directory.Delete(_temporary, recursive: true);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"Dominance is running .*\. Telnet: (?<telnet>\S+)\s+Web: http://(?<http>[^/\s]+)/")]
    private static partial Regex RunningLine();

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (RunningLine().Match(line) is { Success: true } match)
        {
            _ready.TrySetResult(match);
        }
    }
}
