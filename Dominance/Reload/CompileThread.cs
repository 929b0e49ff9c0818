namespace Dominance.Reload;

/// <summary>
/// Runs a compile's CPU work (Roslyn in this process, an <c>eval</c>'s snippet, loading a generation and compiling its
/// methods ahead of the swap) on a thread of its own (<see cref="Name"/>), never on the thread pool.
/// </summary>
/// <remarks>
/// That work takes from tens of milliseconds (loading a generation) to seconds (Roslyn's first compile) of CPU, and
/// does not yield. On a pool thread it would hold one of the threads that carry every connection's input: with one CPU
/// the pool keeps one, and players' input would wait for the whole compile (BENCHMARKS.md, "A reload and an eval under
/// load, on one CPU"). On a thread of its own it only shares the CPU. Compiles are few and one at a time (the
/// <see cref="ReloadCoordinator"/> runs one reload or <c>eval</c> at once), so a thread each costs nothing that matters.
/// </remarks>
internal static class CompileThread
{
    /// <summary>The thread's name (as the operating system shows it, at most 15 characters).</summary>
    internal const string Name = "game compile";

    /// <summary>Runs <paramref name="work"/> on a new thread; its result or exception comes back in the task.</summary>
    public static Task<T> Run<T>(Func<T> work) => Task.Factory.StartNew(
        () =>
        {
            Thread.CurrentThread.Name = Name; // a new thread each time (LongRunning on the default scheduler)
            return work();
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
        TaskScheduler.Default);
}
