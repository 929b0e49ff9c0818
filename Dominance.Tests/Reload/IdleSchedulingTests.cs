using Dominance.Reload;

namespace Dominance.Tests.Reload;

/// <summary>
/// The serializer warm-up's thread gives way to every other thread: the kernel itself is asked which scheduling class a
/// thread is in (<c>/proc/thread-self/stat</c>, field 41: 0 is the normal class, 5 is <c>SCHED_IDLE</c>).
/// </summary>
[TestFixture]
public sealed class IdleSchedulingTests
{
    [Test]
    public void AThreadThatEntersTheIdleClassIsScheduledAsIdleAndOtherThreadsAreNot()
    {
        Assume.That(OperatingSystem.IsLinux(), "SCHED_IDLE is Linux's");
        int before = -1, after = -1;
        bool entered = false;
        var thread = new Thread(() =>
        {
            before = CurrentPolicy();
            entered = IdleScheduling.TryEnterForCurrentThread();
            after = CurrentPolicy();
        });
        thread.Start();
        Assert.That(thread.Join(TimeSpan.FromSeconds(30)), Is.True, "the thread ended");

        Assert.Multiple(() =>
        {
            Assert.That(entered, Is.True, "sched_setscheduler succeeded");
            Assert.That(before, Is.EqualTo(0), "a new thread starts in the normal class");
            Assert.That(after, Is.EqualTo(5), "the thread is now SCHED_IDLE");
            Assert.That(CurrentPolicy(), Is.EqualTo(0), "only the calling thread changed, not the test's own");
        });
    }

    private static int CurrentPolicy()
    {
        string stat = File.ReadAllText("/proc/thread-self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields[0] is field 3 (state)
        return int.Parse(fields[41 - 3]);
    }
}
