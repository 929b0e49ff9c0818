using System.Diagnostics;

namespace Dominance.Tests.Support;

/// <summary>Runs <c>mount</c> and <c>umount</c> for the tests that need a real file system to fail. Mounting needs root (CI runs as root).</summary>
internal static class Mounts
{
    /// <summary>Runs a command and returns its exit code; -1 if there is no such command.</summary>
    public static async Task<int> RunAsync(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in command[1..])
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using Process process = Process.Start(start)!;
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
