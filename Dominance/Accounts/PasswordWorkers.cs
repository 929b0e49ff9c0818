using System.Threading.Channels;

namespace Dominance.Accounts;

/// <summary>
/// Runs password hashing, which is slow on purpose (600,000 PBKDF2 iterations), on a fixed number of workers with a
/// bounded queue in front of them. However many logins and creates arrive at once, hashing never takes more than
/// those workers' share of the CPU, and work that finds the queue full is refused at once rather than waiting.
/// </summary>
/// <remarks>
/// Invariant: at most <c>workers</c> jobs run at a time and at most <c>queue</c> more wait. A worker is a loop on the
/// thread pool that holds a pool thread only while it runs a job. Thread-safe; <see cref="TryRun{T}"/> never blocks.
/// </remarks>
internal sealed class PasswordWorkers : IDisposable
{
    private readonly Channel<Job> _queue;

    /// <summary>Starts <paramref name="workers"/> workers behind a queue of <paramref name="queue"/> jobs.</summary>
    public PasswordWorkers(int workers, int queue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queue, 1);
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(queue) { FullMode = BoundedChannelFullMode.Wait });
        for (int i = 0; i < workers; i++)
        {
            _ = Task.Run(WorkAsync);
        }
    }

    /// <summary>Jobs waiting for a worker (not those running).</summary>
    public int Waiting => _queue.Reader.Count;

    /// <summary>
    /// Queues <paramref name="work"/> and returns the task of its result, or <see langword="null"/> if the queue is
    /// full (the caller tells the player the server is busy). Never blocks.
    /// </summary>
    public Task<T>? TryRun<T>(Func<T> work)
    {
        var job = new Job<T>(work);
        return _queue.Writer.TryWrite(job) ? job.Task : null;
    }

    /// <summary>Stops taking work; jobs still queued fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out Job? job))
        {
            job.Abandon();
        }
    }

    private async Task WorkAsync()
    {
        await foreach (Job job in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            job.Run();
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
