using System.Runtime.InteropServices;

namespace Dominance.Reload;

/// <summary>
/// Puts the calling thread in Linux's idle scheduling class (<c>SCHED_IDLE</c>): it then runs only when no other
/// thread of any process wants its CPU. For work that must not compete with players, such as warming code up while
/// everyone reconnects after a restart.
/// </summary>
internal static partial class IdleScheduling
{
    private const int SchedIdle = 5;

    /// <summary>
    /// Moves the calling thread to the idle class. Returns <see langword="false"/>, changing nothing, where that is not
    /// available (not Linux, or refused).
    /// </summary>
    public static bool TryEnterForCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        int priority = 0; // struct sched_param { int sched_priority; }: 0, the only priority of SCHED_IDLE
        return SchedSetScheduler(0, SchedIdle, ref priority) == 0; // pid 0: the calling thread (Linux schedules threads)
    }

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, ref int param);
}
