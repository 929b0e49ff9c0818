namespace Dominance.Tests.Support;

/// <summary>A 16 MB tmpfs: a real file system that really fills up. Mounting needs root (CI runs as root).</summary>
internal sealed class TinyDisk : IAsyncDisposable
{
    private TinyDisk(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    public static async Task<TinyDisk> MountAsync()
    {
        string path = Directory.CreateTempSubdirectory("dominance-disk-").FullName;
        if ((await ChildProcess.RunAsync("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", path)).ExitCode != 0)
        {
            Directory.Delete(path);
            Prerequisite.Missing("Cannot mount a tmpfs to fill up (the disk-full test needs root).");
        }

        return new TinyDisk(path);
    }

    /// <summary>Writes until the file system has no room left.</summary>
    public void Fill()
    {
        using var filler = new FileStream(Filler, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1);
        byte[] block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                filler.Write(block);
            }
        }
        catch (IOException)
        {
            // ENOSPC: full. What did not fit is dropped with the exception; write what does, a byte at a time.
            try
            {
                while (true)
                {
                    filler.WriteByte(0);
                }
            }
            catch (IOException)
            {
            }
        }
    }

    public void Free() => File.Delete(Filler);

    public async ValueTask DisposeAsync()
    {
        await ChildProcess.RunAsync("umount", "-l", Path);
        Directory.Delete(Path, recursive: true);
    }
}
