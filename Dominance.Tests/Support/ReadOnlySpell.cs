namespace Dominance.Tests.Support;

/// <summary>
/// A folder made read-only for a while, even to root: a read-only bind mount of the folder onto itself. Files opened
/// before stay writable through their open descriptors, as after a <c>chmod</c> or a remount; every new open by path is
/// read-only. Disposing ends the spell. Needs root (CI runs as root).
/// </summary>
internal sealed class ReadOnlySpell : IAsyncDisposable
{
    private readonly string _folder;
    private bool _ended;

    private ReadOnlySpell(string folder) => _folder = folder;

    public static async Task<ReadOnlySpell> BeginAsync(string folder)
    {
        if ((await ChildProcess.RunAsync("mount", "--bind", folder, folder)).ExitCode != 0)
        {
            Prerequisite.Missing("Cannot bind-mount a folder to make it read-only (the read-only test needs root).");
        }

        var spell = new ReadOnlySpell(folder);
        if ((await ChildProcess.RunAsync("mount", "-o", "remount,bind,ro", folder)).ExitCode != 0)
        {
            await spell.DisposeAsync();
            Assert.Fail($"Could not remount {folder} read-only.");
        }

        Assert.That(() => File.WriteAllText(Path.Combine(folder, "probe"), ""), Throws.InstanceOf<IOException>(), "the folder is read-only, even to root");
        return spell;
    }

    /// <summary>
    /// Makes the folder writable again. The unmount is lazy: files opened read-only during the spell keep their
    /// descriptors, as they would after a <c>chmod</c> back.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!_ended)
        {
            _ended = true;
            Assert.That((await ChildProcess.RunAsync("umount", "-l", _folder)).ExitCode, Is.Zero, $"umount {_folder}");
        }
    }
}
