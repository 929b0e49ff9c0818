using Dominance.Reload;
using Microsoft.Extensions.Time.Testing;

namespace Dominance.Tests.Reload;

/// <summary>What the server lets go of when it is idle (issue 16): the compiler's work, and memory after a quiet period.</summary>
public sealed class MemoryTrimTests
{
    private const string Game = "public static class Hello { public static string Say() => \"hello\"; }";

    [Test]
    public async Task NothingKeepsACompilationAliveAfterTheCompile()
    {
        var compiler = new GameCompiler();
        CompileResult result = await compiler.CompileAsync([new SourceFile("Game.cs", Game + $"\n// {Guid.NewGuid()}\n")], generation: 1);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Origin, Is.EqualTo(BuildOrigin.Compiled));
        WeakReference compilation = compiler.LastCompilation!;

        Assert.That(CollectedWithin(compilation), Is.True, "the compilation is still referenced after the compile");
    }

    [Test]
    public async Task AReleasedCompilerCompilesAgain()
    {
        var compiler = new GameCompiler();
        Assert.That((await compiler.CompileAsync([new SourceFile("Game.cs", Game)], generation: 1)).Succeeded, Is.True);
        compiler.Release();

        CompileResult again = await compiler.CompileAsync([new SourceFile("Game.cs", Game + $"\n// {Guid.NewGuid()}\n")], generation: 1);

        Assert.That(again.Errors, Is.Empty);
        Assert.That(again.Origin, Is.EqualTo(BuildOrigin.Compiled));
    }

    [Test]
    public void ATrimRunsOnceAfterTheLastOfSeveralRequestsHasBeenQuiet()
    {
        var clock = new FakeTimeProvider();
        int trims = 0;
        using var trim = new MemoryTrim(clock, () => { trims++; return true; });

        trim.Schedule();
        clock.Advance(MemoryTrim.Quiet / 2);
        trim.Schedule(); // a reload meanwhile starts the quiet period again
        clock.Advance(MemoryTrim.Quiet / 2);
        Assert.That(trims, Is.Zero, "trimmed before the server was quiet");

        clock.Advance(MemoryTrim.Quiet / 2);

        Assert.That(trims, Is.EqualTo(1));
        Assert.That(trim.Collections, Is.EqualTo(1));
        clock.Advance(MemoryTrim.Quiet * 3);
        Assert.That(trims, Is.EqualTo(1), "a trim runs once per quiet period");
    }

    [Test]
    public void ABusyServerSkipsTheCollection()
    {
        var clock = new FakeTimeProvider();
        using var trim = new MemoryTrim(clock, () => false);

        trim.Schedule();
        clock.Advance(MemoryTrim.Quiet);

        Assert.That(trim.Collections, Is.Zero);
    }

    private static bool CollectedWithin(WeakReference reference)
    {
        for (int i = 0; i < 20 && reference.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return !reference.IsAlive;
    }
}
