using Dominance.Reload;
using Dominance.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Dominance.Tests.Reload;

/// <summary>The folder watcher alone: what counts as a change, and one report per save.</summary>
public sealed class GameFolderWatcherTests
{
    [Test]
    public async Task ASaveInSeveralStepsIsReportedOnceTheFolderIsQuiet()
    {
        string folder = Directory.CreateTempSubdirectory("dominance-watch-").FullName;
        try
        {
            // The quiet period runs on a clock that moves only when the test moves it.
            var clock = new FakeTimeProvider();
            var reports = new System.Collections.Concurrent.ConcurrentQueue<string>();
            using var watcher = new GameFolderWatcher(folder, TimeSpan.FromSeconds(1), reports.Enqueue, clock);

            // What an editor does on save: write a temporary file, replace the original, touch it.
            string file = Path.Combine(folder, "Game.cs");
            File.WriteAllText(file + ".tmp~", "// one");
            File.Move(file + ".tmp~", file, overwrite: true);
            File.AppendAllText(file, "\n// two");
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
            await Poll.UntilAsync(() => watcher.LastChanged == "Game.cs", "the save was seen");
            File.WriteAllText(Path.Combine(folder, "notes.txt"), "not source");

            clock.Advance(TimeSpan.FromMilliseconds(999));
            Assert.That(reports, Is.Empty, "nothing is reported before the folder has been quiet for the whole period");

            // A step of the save still on its way from the kernel restarts the period; the clock moves on until it ends,
            // 10 ms a poll (a 1 ms step took a thousand polls, 8 s, whenever a late step restarted the period).
            await Poll.UntilAsync(() => { clock.Advance(TimeSpan.FromMilliseconds(10)); return !reports.IsEmpty; }, "the save was reported");
            Assert.That(reports, Is.EqualTo(new[] { "Game.cs" }), "several steps, one report");

            File.AppendAllText(Path.Combine(folder, "Rules.cs"), "// three");
            await Poll.UntilAsync(() => watcher.LastChanged == "Rules.cs", "the second save was seen");
            await Poll.UntilAsync(() => { clock.Advance(TimeSpan.FromSeconds(1)); return reports.Count >= 2; }, "the second save was reported");
            Assert.That(reports, Is.EqualTo(new[] { "Game.cs", "Rules.cs" }), "the next save, the next report");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestCase("Game.cs", true)]
    [TestCase("Rules/Tavern.cs", true)]
    [TestCase("Game.cs.tmp~", false)]
    [TestCase("notes.txt", false)]
    [TestCase("bin/Debug/Game.cs", false)]
    [TestCase("obj/Game.AssemblyInfo.cs", false)]
    [TestCase(".vscode/Game.cs", false)]
    public void OnlyGameSourceCounts(string path, bool isSource) =>
        Assert.That(GameSources.IsSourcePath(path), Is.EqualTo(isSource));
}
