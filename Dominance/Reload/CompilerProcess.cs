using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Dominance.Reload;

/// <summary>
/// The server's side of its compiler process (<see cref="CompileWorker"/>, the hidden verb <c>dominance
/// compile-worker</c> of the server's own binary), as the C# compiler server runs beside a build: Roslyn, its caches and
/// the tens of thousands of methods the JIT compiles for it live there, and go with the process, so that a server that
/// compiled its game at start idles as small as one that loaded it from the compile cache.
/// </summary>
/// <remarks>
/// The process is started by the first compile and kept for the next (it keeps its parsed files: an edit parses only
/// the file that changed) until it has been idle for <c>keepAlive</c>; a zero <c>keepAlive</c> stops it as soon as
/// it has answered. Its input closing stops it, so it never outlives the server, even one that is killed. If it dies
/// (killed, out of memory), the next compile starts another; a compile it had already started before it died is asked
/// again of a new one, once. All I/O with it is asynchronous: no thread waits for the compiler. One compile at a time.
/// </remarks>
internal sealed class CompilerProcess : IDisposable
{
    /// <summary>How long a stopped process gets to exit by itself before it is killed.</summary>
    private static readonly TimeSpan s_exitGrace = TimeSpan.FromSeconds(5);

    private readonly TimeSpan _keepAlive;
    private readonly ILogger _log;
    private readonly ITimer _idle;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private Worker? _worker;
    private volatile bool _disposed;

    /// <summary>
    /// A compiler process that is started on demand and stopped after <paramref name="keepAlive"/> without a compile
    /// (zero: right after each).
    /// </summary>
    public CompilerProcess(TimeSpan keepAlive, ILogger log, TimeProvider? time = null)
    {
        _keepAlive = keepAlive;
        _log = log;
        _idle = (time ?? TimeProvider.System).CreateTimer(_ => StopIfIdle(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The process id of the compiler process, if one is running (for tests and the log).</summary>
    public int? ProcessId => Volatile.Read(ref _worker)?.Id;

    /// <summary>
    /// The command that starts the compiler process: the server's own single-file executable (or apphost) with the verb,
    /// or the <c>dotnet</c> host with the server's assembly (as <c>dotnet dominance.dll</c> runs it, and in tests).
    /// </summary>
    public static (string File, IReadOnlyList<string> Arguments) Command()
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("The server's executable is unknown, so it cannot start its compiler process.");
#pragma warning disable IL3000 // empty in a single-file app, as intended: the executable is then the server itself
        string assembly = typeof(CompilerProcess).Assembly.Location;
#pragma warning restore IL3000
        if (assembly.Length == 0 || Path.GetFileNameWithoutExtension(host) == Path.GetFileNameWithoutExtension(assembly))
        {
            return (host, [CompileProtocol.Verb]); // a single-file server has no assembly path: it is its executable
        }

        string dotnet = Path.GetFileNameWithoutExtension(host) == "dotnet" ? host
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } given ? given
            : "dotnet";
        return (dotnet, [assembly, CompileProtocol.Verb]);
    }

    /// <summary>Compiles <paramref name="files"/> in the compiler process, starting one if none runs.</summary>
    public async Task<CompileResult> CompileAsync(IReadOnlyList<SourceFile> files, int generation)
    {
        long started = Stopwatch.GetTimestamp();
        byte[] request = CompileProtocol.Request(CompileProtocol.Toolchain, generation, files);
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            _idle.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            while (true)
            {
                if (_disposed)
                {
                    return Failed("The server is stopping: nothing was compiled.", started);
                }

                Worker worker;
                try
                {
                    worker = _worker ??= Worker.Start(_log);
                }
                catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
                {
                    return Failed($"The compiler process could not start: {e.Message}", started);
                }

                bool reused = worker.Answered > 0;
                try
                {
                    byte[] answer = await worker.AskAsync(request).ConfigureAwait(false);
                    return CompileProtocol.ReadAnswer(answer, Stopwatch.GetElapsedTime(started));
                }
                catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException or InvalidDataException)
                {
                    _worker = null;
                    string why = worker.Kill();
                    if (reused && !_disposed)
                    {
                        _log.LogWarning("The compiler process (pid {Pid}) ended ({Why}); asking a new one", worker.Id, why);
                        continue;
                    }

                    _log.LogError("The compiler process (pid {Pid}) ended before it answered: {Why}", worker.Id, why);
                    return Failed($"The compiler process ended before it answered: {why}", started);
                }
            }
        }
        finally
        {
            if (_keepAlive <= TimeSpan.Zero)
            {
                Stop("its compile is done");
            }
            else if (_worker is not null && !_disposed)
            {
                _idle.Change(_keepAlive, Timeout.InfiniteTimeSpan);
            }

            _oneAtATime.Release();
        }
    }

    /// <summary>Stops the compiler process, if one runs (it exits once its input closes). The next compile starts another.</summary>
    public void Stop(string reason)
    {
        if (Interlocked.Exchange(ref _worker, null) is { } worker)
        {
            _log.LogInformation("Stopping the compiler process (pid {Pid}): {Reason}", worker.Id, reason);
            _ = worker.StopAsync(s_exitGrace);
        }
    }

    /// <summary>
    /// Stops the compiler process and waits (briefly) until it has exited, so that the server leaves none behind. One
    /// that is compiling is killed: nobody waits for its answer any more (a start that failed, a server stopping).
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _idle.Dispose();
        if (Interlocked.Exchange(ref _worker, null) is { } worker)
        {
            if (_oneAtATime.CurrentCount == 0)
            {
                worker.Kill();
            }
            else
            {
                worker.StopAsync(s_exitGrace).Wait();
            }
        }
    }

    private void StopIfIdle()
    {
        if (!_oneAtATime.Wait(0))
        {
            return; // a compile runs; it sets the timer again when it ends
        }

        try
        {
            Stop($"idle for {_keepAlive}");
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private static CompileResult Failed(string error, long started) => new(null, null, [error], Stopwatch.GetElapsedTime(started));

    /// <summary>One compiler process: its pipes, and the last lines it wrote to standard error.</summary>
    private sealed class Worker
    {
        private const int KeptErrorLines = 20;

        private readonly Process _process;
        private readonly Queue<string> _errorLines = new();
        private readonly Stream _input;
        private readonly Stream _output;

        private Worker(Process process)
        {
            _process = process;
            _input = process.StandardInput.BaseStream;
            _output = process.StandardOutput.BaseStream;
            Id = process.Id;
        }

        public int Id { get; }

        /// <summary>How many requests this process has answered.</summary>
        public int Answered { get; private set; }

        public static Worker Start(ILogger log)
        {
            (string file, IReadOnlyList<string> arguments) = Command();
            var start = new ProcessStartInfo(file)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            // Without dynamic PGO (its instrumented stage and the profiles it keeps), the compiler process holds about
            // 30 MB less while it waits for edits, and edits go live as fast (BENCHMARKS.md, issue 16c). An explicit
            // setting in the server's environment is passed on as it is.
            if (Environment.GetEnvironmentVariable("DOTNET_TieredPGO") is null)
            {
                start.Environment["DOTNET_TieredPGO"] = "0";
            }

            var process = new Process { StartInfo = start };
            process.Start();
            var worker = new Worker(process);
            process.ErrorDataReceived += (_, line) => worker.Remember(line.Data);
            process.BeginErrorReadLine();
            log.LogInformation("Started the compiler process (pid {Pid}): {Command}", worker.Id, string.Join(' ', [file, .. arguments]));
            return worker;
        }

        /// <summary>Sends a request frame and reads the answer's payload.</summary>
        public async Task<byte[]> AskAsync(byte[] request)
        {
            await _input.WriteAsync(request).ConfigureAwait(false);
            await _input.FlushAsync().ConfigureAwait(false);
            byte[] header = new byte[4];
            await _output.ReadExactlyAsync(header).ConfigureAwait(false);
            byte[] payload = new byte[CompileProtocol.LengthOf(header)];
            await _output.ReadExactlyAsync(payload).ConfigureAwait(false);
            Answered++;
            return payload;
        }

        /// <summary>Closes the process's input, which ends it, and kills it if it has not exited within <paramref name="grace"/>.</summary>
        public async Task StopAsync(TimeSpan grace)
        {
            try
            {
                _input.Dispose();
                using var timeout = new CancellationTokenSource(grace);
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                Kill();
            }
            finally
            {
                _process.Dispose();
            }
        }

        /// <summary>Kills the process if it still runs, and says how it ended: its exit code and its last words.</summary>
        public string Kill()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill();
                }

                _process.WaitForExit(1000);
                string code = _process.HasExited ? $"exit code {_process.ExitCode}" : "did not exit";
                string[] last;
                lock (_errorLines)
                {
                    last = [.. _errorLines];
                }

                return last.Length == 0 ? code : $"{code}: {string.Join(" / ", last)}";
            }
            catch (Exception e) when (e is InvalidOperationException or Win32Exception)
            {
                return e.Message; // already disposed, or gone meanwhile
            }
            finally
            {
                _process.Dispose();
            }
        }

        private void Remember(string? line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                return;
            }

            lock (_errorLines)
            {
                _errorLines.Enqueue(line);
                if (_errorLines.Count > KeptErrorLines)
                {
                    _errorLines.Dequeue();
                }
            }
        }
    }
}
