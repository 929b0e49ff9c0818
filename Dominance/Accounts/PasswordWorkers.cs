using System.Threading.Channels;

namespace Dominance.Accounts;

/// <summary>What a password job is for: which queue it waits in.</summary>
internal enum PasswordWork : byte
{
    /// <summary>Checking a login's password. Served before any create, so that a flood of creates never delays a login.</summary>
    Login,

    /// <summary>Hashing a new account's password.</summary>
    Create,
}

/// <summary>
/// Runs password hashing, which is slow on purpose (600,000 PBKDF2 iterations), on a fixed number of workers with
/// bounded queues in front of them. However many logins and creates arrive at once, hashing never takes more than
/// those workers' share of the CPU, and work that finds its queue full is refused at once rather than waiting.
/// </summary>
/// <remarks>
/// <para>Invariant: at most <c>workers</c> jobs run at a time, and at most <c>queue</c> more wait in each of the two
/// queues, one for logins and one for creates. A free worker always takes a waiting login first: creates are what an
/// attacker can send without knowing a password, so they must not stand between a player and the game.</para>
/// <para>A worker is a thread of its own (<see cref="ThreadName"/>), not the thread pool's: a hash is about 0.2 s of CPU
/// (600,000 PBKDF2-SHA256 iterations on a 2.3 GHz Xeon), and on a pool thread it would hold one of the threads that
/// carry every connection's input (with one CPU the pool keeps one, and each login would stop all input until its hash
/// was done). On a thread of its own it only shares the CPU. The semaphore counts the jobs queued; each job is released
/// to it once, after it is queued. Thread-safe; <see cref="TryRun{T}"/> never blocks.</para>
/// </remarks>
internal sealed class PasswordWorkers : IDisposable
{
    private readonly Channel<Job> _logins;
    private readonly Channel<Job> _creates;
    private readonly SemaphoreSlim _queued = new(0);
    private readonly CancellationTokenSource _stop = new();

    /// <summary>The workers' thread name (as the operating system shows it, at most 15 characters).</summary>
    internal const string ThreadName = "password hash";

    /// <summary>Starts <paramref name="workers"/> workers behind two queues of <paramref name="queue"/> jobs each.</summary>
    public PasswordWorkers(int workers, int queue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queue, 1);
        _logins = Channel.CreateBounded<Job>(new BoundedChannelOptions(queue) { FullMode = BoundedChannelFullMode.Wait });
        _creates = Channel.CreateBounded<Job>(new BoundedChannelOptions(queue) { FullMode = BoundedChannelFullMode.Wait });
        for (int i = 0; i < workers; i++)
        {
            new Thread(Work) { Name = ThreadName, IsBackground = true }.Start();
        }
    }

    /// <summary>Jobs waiting for a worker in both queues (not those running).</summary>
    public int Waiting => _logins.Reader.Count + _creates.Reader.Count;

    /// <summary>
    /// Queues <paramref name="work"/> and returns the task of its result, or <see langword="null"/> if its queue is
    /// full (the caller tells the player the server is busy). Never blocks.
    /// </summary>
    public Task<T>? TryRun<T>(PasswordWork kind, Func<T> work)
    {
        var job = new Job<T>(work);
        if (!(kind == PasswordWork.Login ? _logins : _creates).Writer.TryWrite(job))
        {
            return null;
        }

        _queued.Release();
        return job.Task;
    }

    /// <summary>Stops the workers; jobs still queued fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        foreach (Channel<Job> queue in (Channel<Job>[])[_logins, _creates])
        {
            queue.Writer.TryComplete();
            while (queue.Reader.TryRead(out Job? job))
            {
                job.Abandon();
            }
        }
    }

    private void Work()
    {
        try
        {
            while (true)
            {
                _queued.Wait(_stop.Token);
                if (_logins.Reader.TryRead(out Job? job) || _creates.Reader.TryRead(out job))
                {
                    job.Run();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private abstract class Job
    {
        public abstract void Run();

        public abstract void Abandon();
    }

    private sealed class Job<T>(Func<T> work) : Job
    {
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _result.Task;

        public override void Run()
        {
            try
            {
                _result.SetResult(work());
            }
            catch (Exception e)
            {
                _result.SetException(e);
            }
        }

        public override void Abandon() => _result.TrySetException(new ObjectDisposedException(nameof(PasswordWorkers)));
    }
}
