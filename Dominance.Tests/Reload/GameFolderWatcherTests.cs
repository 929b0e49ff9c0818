using Dominance.Reload;
using Dominance.Tests.Support;

namespace Dominance.Tests.Reload;

/// <summary>The folder watcher alone: what counts as a change, and one report per save.</summary>
public sealed class GameFolderWatcherTests
{
    [Test]
    public async Task ASaveInSeveralStepsIsReportedOnce()
    {
        string folder = Directory.CreateTempSubdirectory("dominance-watch-").FullName;
        try
        {
            int reports = 0;
            string? last = null;
            using var watcher = new GameFolderWatcher(folder, TimeSpan.FromMilliseconds(200), file =>
            {
                last = file;
                Interlocked.Increment(ref reports);
            });

            // What an editor does on save: write a temporary file, replace the original, touch it.
            string file = Path.Combine(folder, "Game.cs");
            File.WriteAllText(file + ".tmp~", "// one");
            File.Move(file + ".tmp~", file, overwrite: true);
            File.AppendAllText(file, "\n// two");
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
            await Poll.UntilAsync(() => Volatile.Read(ref reports) >= 1, "the save was reported");

            // A later save is a second report; a burst reported per event would be well past two by now.
            File.AppendAllText(file, "\n// three");
            await Poll.UntilAsync(() => Volatile.Read(ref reports) >= 2, "the second save was reported");
            Assert.That(Volatile.Read(ref reports), Is.EqualTo(2));
            Assert.That(last, Is.EqualTo("Game.cs"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestCase("Game.cs", true)]
    [TestCase("Rooms/Tavern.cs", true)]
    [TestCase("Game.cs.tmp~", false)]
    [TestCase("notes.txt", false)]
    [TestCase("bin/Debug/Game.cs", false)]
    [TestCase("obj/Game.AssemblyInfo.cs", false)]
    [TestCase(".vscode/Game.cs", false)]
    public void OnlyGameSourceCounts(string path, bool isSource) =>
        Assert.That(GameSources.IsSourcePath(path), Is.EqualTo(isSource));
}
