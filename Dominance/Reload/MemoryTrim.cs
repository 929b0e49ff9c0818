namespace Dominance.Reload;

/// <summary>
/// Gives memory back once the server has been quiet for <see cref="Quiet"/> after a start, a reload or an
/// <c>eval</c>: runs the trim it is given (the <see cref="ReloadCoordinator"/> drops the compiler's caches there when no
/// game folder is watched), then one full, compacting collection that returns the freed memory to the system.
/// </summary>
/// <remarks>
/// The collection stops every thread, the game thread too, once per start or reload: a few milliseconds for this
/// server's heap, and never in a hot path. It runs on a timer thread, never on the game thread. Each
/// <see cref="Schedule"/> starts the quiet period again, so a burst of reloads trims once, after the last.
/// </remarks>
internal sealed class MemoryTrim : IDisposable
{
    /// <summary>How long nothing must be started, reloaded or evaluated before the trim.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(10);

    private readonly Func<bool> _trim;
    private readonly ITimer _timer;
    private int _collections;

    /// <summary>
    /// Creates the trim, not scheduled. <paramref name="trim"/> runs first on the timer's thread; it returns false to
    /// skip the collection (the server is busy: the next <see cref="Schedule"/> tries again).
    /// </summary>
    public MemoryTrim(TimeProvider time, Func<bool> trim)
    {
        _trim = trim;
        _timer = time.CreateTimer(_ => Run(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Trims that collected so far (for tests).</summary>
    public int Collections => Volatile.Read(ref _collections);

    /// <summary>Trims <see cref="Quiet"/> from now, unless scheduled again meanwhile. Any thread.</summary>
    public void Schedule() => _timer.Change(Quiet, Timeout.InfiniteTimeSpan);

    /// <summary>Stops the timer; a trim already running finishes.</summary>
    public void Dispose() => _timer.Dispose();

    private void Run()
    {
        if (!_trim())
        {
            return;
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true); // Aggressive compacts the large object heap too
        Interlocked.Increment(ref _collections);
    }
}
