using System.Net;
using System.Text.RegularExpressions;

namespace Dominance.Tests.Support;

/// <summary>The real <c>dominance</c> server (or another program of ours) as a child process, as a user runs it.</summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly TaskCompletionSource<Match> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _temporary;

    private ServerProcess(Func<Action<string>, ChildProcess> start, string? temporary)
    {
        _temporary = temporary;
        _process = start(OnLine);
    }

    public IPEndPoint Telnet { get; private set; } = null!;

    public IPEndPoint Http { get; private set; } = null!;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => _process.Output;

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>
    /// Starts <c>dominance</c> (the build under test) with <paramref name="args"/> and, unless told otherwise, ephemeral
    /// ports. Unless <paramref name="args"/> name a database, it gets a SQLite file of its own in a new temporary folder.
    /// <paramref name="launcher"/>, if given, is a command that runs it (e.g. <c>ip netns exec NAME</c>) and then is it.
    /// </summary>
    public static ServerProcess Start(IEnumerable<string> args, IDictionary<string, string>? environment = null, bool ephemeralPorts = true, string? workingDirectory = null, IReadOnlyList<string>? launcher = null)
    {
        string[] given = [.. args];
        string? database = given.Any(a => a.StartsWith("--Persistence:", StringComparison.Ordinal))
            ? null
            : Directory.CreateTempSubdirectory("dominance-process-").FullName;
        // A process started from a background job inherits SIGINT as ignored (as POSIX shells start background jobs),
        // and .NET keeps it so: then Ctrl-C could not reach the server. env resets it to the default before it starts
        // dotnet, as a user's terminal would have it, and then is dotnet (same process id).
        string[] all =
        [
            "--default-signal=INT",
            Environment.ProcessPath ?? "dotnet",
            Path.Combine(AppContext.BaseDirectory, "dominance.dll"),
            .. given,
            .. (ephemeralPorts ? (string[])["--telnet-port", "0", "--http-port", "0"] : []),
            .. (database is null ? (string[])[] : [$"--Persistence:SqliteFile={Path.Combine(database, "dominance.db")}"]),
        ];
        string file = "/usr/bin/env";
        string[] arguments = all;
        if (launcher is { Count: > 0 })
        {
            file = launcher[0];
            arguments = [.. launcher.Skip(1), "/usr/bin/env", .. all];
        }

        return new ServerProcess(onLine => ChildProcess.Start(file, arguments, environment, workingDirectory, onLine: onLine), database);
    }

    /// <summary>Starts any executable, capturing its output; with <paramref name="clearEnvironment"/>, only <paramref name="environment"/> is passed.</summary>
    public static ServerProcess StartExecutable(string file, IEnumerable<string> args, IDictionary<string, string>? environment, string workingDirectory, bool clearEnvironment) =>
        new(onLine => ChildProcess.Start(file, args, environment, workingDirectory, clearEnvironment, onLine), temporary: null);

    /// <summary>Waits for the "Dominance is running" line and reads the addresses from it.</summary>
    public async Task WaitUntilRunningAsync()
    {
        Task first = await Task.WhenAny(_ready.Task, _process.Exited, Task.Delay(Poll.Deadline * 2));
        Assert.That(first, Is.SameAs(_ready.Task), $"the server did not report that it was running. Output:\n{Output}");
        Match match = await _ready.Task;
        Telnet = IPEndPoint.Parse(match.Groups["telnet"].Value);
        Http = IPEndPoint.Parse(match.Groups["http"].Value);
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGINT = 2) to the server.</summary>
    public void Signal(int signal) => _process.Signal(signal);

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public Task<int> ExitCodeAsync(TimeSpan? deadline = null) => _process.ExitCodeAsync(deadline);

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        if (_temporary is not null)
        {
            Directory.Delete(_temporary, recursive: true);
        }
    }

    [GeneratedRegex(@"Dominance is running .*\. Telnet: (?<telnet>\S+)\s+Web: http://(?<http>[^/\s]+)/")]
    private static partial Regex RunningLine();

    private void OnLine(string line)
    {
        if (RunningLine().Match(line) is { Success: true } match)
        {
            _ready.TrySetResult(match);
        }
    }
}
