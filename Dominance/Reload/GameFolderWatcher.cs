namespace Dominance.Reload;

/// <summary>
/// Watches a game folder for changes to <c>.cs</c> files and reports them once the folder has been quiet for a short
/// while: editors save in several steps (write a temporary file, rename, touch), and one save must mean one reload.
/// </summary>
internal sealed class GameFolderWatcher : IDisposable
{
    private readonly FileSystemWatcher _watcher;
    private readonly ITimer _quiet;
    private readonly TimeSpan _debounce;
    private readonly string _folder;
    private string _lastChanged = "";

    /// <summary>
    /// Starts watching; <paramref name="changed"/> runs on a thread-pool thread with the last changed file, once
    /// <paramref name="debounce"/> has passed on <paramref name="clock"/> without another change.
    /// </summary>
    public GameFolderWatcher(string folder, TimeSpan debounce, Action<string> changed, TimeProvider clock)
    {
        _folder = folder;
        _debounce = debounce;
        _quiet = clock.CreateTimer(_ => changed(Volatile.Read(ref _lastChanged)), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _watcher = new FileSystemWatcher(folder)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        _watcher.Changed += OnEvent;
        _watcher.Created += OnEvent;
        _watcher.Deleted += OnEvent;
        _watcher.Renamed += (_, e) =>
        {
            Touch(e.OldFullPath);
            Touch(e.FullPath);
        };
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>The source file changed last (relative to the folder), or empty before any change.</summary>
    public string LastChanged => Volatile.Read(ref _lastChanged);

    public void Dispose()
    {
        _watcher.Dispose();
        _quiet.Dispose();
    }

    private void OnEvent(object sender, FileSystemEventArgs e) => Touch(e.FullPath);

    private void Touch(string path)
    {
        string relative = Path.GetRelativePath(_folder, path);
        if (GameSources.IsSourcePath(relative))
        {
            Volatile.Write(ref _lastChanged, relative);
            _quiet.Change(_debounce, Timeout.InfiniteTimeSpan); // restart the quiet period
        }
    }
}
