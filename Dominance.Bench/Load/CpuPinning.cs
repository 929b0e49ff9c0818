using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dominance.Bench.Load;

/// <summary>
/// Keeps a server and its load apart on different CPUs (Linux <c>sched_setaffinity</c>). A thread inherits the CPU mask
/// of the thread that creates it, and a child process that of the thread that starts it: so a server started from a
/// thread pinned to CPU 0 runs on CPU 0 from its first instruction, and its runtime sizes itself for one CPU.
/// </summary>
internal static partial class CpuPinning
{
    /// <summary>Whether this machine has the two CPUs needed to keep a server and its load apart.</summary>
    public static bool Possible => OperatingSystem.IsLinux() && (Environment.ProcessorCount >= 2 || IsPinnedTo(1));

    /// <summary>Starts <paramref name="process"/> pinned to <paramref name="cpu"/>; the calling thread's own mask is restored after.</summary>
    public static void StartPinned(Process process, int cpu)
    {
        ulong mask = 0;
        if (SchedGetAffinity(0, sizeof(ulong), ref mask) != 0)
        {
            throw new InvalidOperationException($"sched_getaffinity failed: error {Marshal.GetLastPInvokeError()}");
        }

        PinCurrentThread(cpu);
        try
        {
            process.Start();
        }
        finally
        {
            SchedSetAffinity(0, sizeof(ulong), ref mask);
        }
    }

    /// <summary>Moves the calling thread to <paramref name="cpu"/> alone.</summary>
    public static void PinCurrentThread(int cpu)
    {
        ulong pinned = 1UL << cpu;
        if (SchedSetAffinity(0, sizeof(ulong), ref pinned) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity to CPU {cpu} failed: error {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Whether this process runs on <paramref name="cpu"/> alone.</summary>
    public static bool IsPinnedTo(int cpu)
    {
        ulong mask = 0;
        return OperatingSystem.IsLinux() && SchedGetAffinity(0, sizeof(ulong), ref mask) == 0 && mask == 1UL << cpu;
    }

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int threadId, nint size, ref ulong mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int threadId, nint size, ref ulong mask);
}
