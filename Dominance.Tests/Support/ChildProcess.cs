using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dominance.Tests.Support;

/// <summary>
/// A program the tests run as a child process, with its standard output and error captured line by line: the one way
/// the tests start processes (servers, the load tool, PostgreSQL's tools, mount).
/// </summary>
internal sealed partial class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _disposed;

    private ChildProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Called with each line the process writes to stdout or stderr, on a thread-pool thread.</summary>
    public event Action<string>? LineWritten;

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

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

    /// <summary>Completes when the process has exited.</summary>
    public Task Exited => _process.WaitForExitAsync();

    /// <summary>
    /// Starts <paramref name="file"/> with <paramref name="args"/> in <paramref name="workingDirectory"/> (the temporary
    /// folder by default). <paramref name="environment"/> is added to this process's environment, or with
    /// <paramref name="clearEnvironment"/> is the whole of it.
    /// </summary>
    public static ChildProcess Start(
        string file,
        IEnumerable<string> args,
        IDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        bool clearEnvironment = false,
        Action<string>? onLine = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
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

        var child = new ChildProcess(new Process { StartInfo = start });
        child.LineWritten += onLine;
        child._process.OutputDataReceived += (_, e) => child.Append(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// Runs a command to its end and returns its exit code and output; the exit code is -1 if there is no such program.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] command)
    {
        ChildProcess child;
        try
        {
            child = Start(command[0], command[1..]);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }

        await using (child)
        {
            await child.Exited;
            return (child._process.ExitCode, child.Output);
        }
    }

    /// <summary>As <see cref="RunAsync"/>, failing with the command's output unless it exits 0.</summary>
    public static async Task<string> RunCheckedAsync(params string[] command)
    {
        (int exit, string output) = await RunAsync(command);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} failed ({exit}):\n{output}");
        }

        return output;
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGINT = 2, SIGKILL = 9).</summary>
    public void Signal(int signal) => Assert.That(Kill(_process.Id, signal), Is.Zero, "kill() failed");

    /// <summary>Waits for the process to exit and returns its exit code; fails the test at the deadline.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Poll.Deadline * 2);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{_process.StartInfo.FileName} did not exit. Output:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Kills the process (and its children) if it is still running. Once: later calls do nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

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

        LineWritten?.Invoke(line);
    }
}
