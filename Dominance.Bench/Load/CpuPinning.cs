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
    public static void StartPinned(Process process, int cpu) => StartPinned(process, 1UL << cpu);

    /// <summary>Starts <paramref name="process"/> on the CPUs of <paramref name="cpus"/> (bit n: CPU n); the calling thread's own mask is restored after.</summary>
    public static void StartPinned(Process process, ulong cpus)
    {
        ulong mask = 0;
        if (SchedGetAffinity(0, sizeof(ulong), ref mask) != 0)
        {
            throw new InvalidOperationException($"sched_getaffinity failed: error {Marshal.GetLastPInvokeError()}");
        }

        SetCurrentThread(cpus);
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
    public static void PinCurrentThread(int cpu) => SetCurrentThread(1UL << cpu);

    /// <summary>
    /// How many CPUs the machine has online (the highest one's number, plus one), whatever this process's own mask:
    /// a tool pinned to one CPU still places servers on the others.
    /// </summary>
    public static int MachineCpuCount { get; } = HighestOnline() + 1;

    /// <summary>
    /// Reads a CPU list as <c>taskset -c</c> takes it (<c>0</c>, <c>0,1</c>, <c>0-3</c>) into a mask, if every CPU in it
    /// is one of this machine's (<see cref="MachineCpuCount"/>, at most 64).
    /// </summary>
    public static bool TryParseList(string text, out ulong cpus)
    {
        cpus = 0;
        int count = Math.Min(MachineCpuCount, 64);
        foreach (string part in text.Split(','))
        {
            string[] ends = part.Split('-');
            if (ends.Length > 2 || !int.TryParse(ends[0], out int first) || !int.TryParse(ends[^1], out int last) ||
                first < 0 || last < first || last >= count)
            {
                cpus = 0;
                return false;
            }

            for (int cpu = first; cpu <= last; cpu++)
            {
                cpus |= 1UL << cpu;
            }
        }

        return cpus != 0;
    }

    /// <summary>The highest CPU number in <c>/sys/devices/system/cpu/online</c> (a list such as <c>0-3,8-11</c>), or this process's count less one without it.</summary>
    private static int HighestOnline()
    {
        string online = File.Exists("/sys/devices/system/cpu/online") ? File.ReadAllText("/sys/devices/system/cpu/online") : "";
        int highest = -1;
        foreach (string number in online.Split([',', '-'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            highest = int.TryParse(number, out int cpu) ? Math.Max(highest, cpu) : highest;
        }

        return highest >= 0 ? highest : Environment.ProcessorCount - 1;
    }

    private static void SetCurrentThread(ulong cpus)
    {
        if (SchedSetAffinity(0, sizeof(ulong), ref cpus) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity to CPUs {cpus:x} (mask) failed: error {Marshal.GetLastPInvokeError()}");
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
