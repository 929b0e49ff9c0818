using Dominance.Core;
using Dominance.Tests.Support;

namespace Dominance.Tests.Core;

/// <summary>The timer queue alone, on a manual clock.</summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class TimerQueueTests
{
    private readonly ManualClock _clock = new();
    private readonly List<string> _fired = [];

    [Test]
    public void FiresInDeadlineOrderAndInScheduleOrderForEqualDeadlines()
    {
        var timers = new TimerQueue(_clock);
        timers.Schedule(TimeSpan.FromMilliseconds(30), TimeSpan.Zero, () => _fired.Add("30"), 1);
        timers.Schedule(TimeSpan.FromMilliseconds(10), TimeSpan.Zero, () => _fired.Add("10a"), 1);
        timers.Schedule(TimeSpan.FromMilliseconds(20), TimeSpan.Zero, () => _fired.Add("20"), 1);
        timers.Schedule(TimeSpan.FromMilliseconds(10), TimeSpan.Zero, () => _fired.Add("10b"), 1);

        Assert.That(timers.RunDue(_clock.GetTimestamp(), Fail), Is.Zero);
        Assert.That(timers.MillisecondsUntilNext(), Is.EqualTo(10));
        _clock.Advance(TimeSpan.FromMilliseconds(25));
        Assert.That(timers.RunDue(_clock.GetTimestamp(), Fail), Is.EqualTo(3));
        Assert.That(_fired, Is.EqualTo(new[] { "10a", "10b", "20" }));
        Assert.That(timers.MillisecondsUntilNext(), Is.EqualTo(5));
    }

    [Test]
    public void RepeatingTimersKeepTheirCadenceAndSkipMissedTicks()
    {
        var timers = new TimerQueue(_clock);
        timers.Schedule(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), () => _fired.Add("tick"), 1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        timers.RunDue(_clock.GetTimestamp(), Fail);
        Assert.That(_fired, Has.Count.EqualTo(1));
        _clock.Advance(TimeSpan.FromSeconds(5.5)); // the loop was away for five periods
        timers.RunDue(_clock.GetTimestamp(), Fail);
        Assert.That(_fired, Has.Count.EqualTo(2), "missed ticks are skipped, not burst");
        Assert.That(timers.MillisecondsUntilNext(), Is.EqualTo(1000));
    }

    [Test]
    public void CancelledTimersNeverFireIncludingFromTheirOwnCallback()
    {
        var timers = new TimerQueue(_clock);
        var once = timers.Schedule(TimeSpan.FromSeconds(1), TimeSpan.Zero, () => _fired.Add("once"), 1);
        Dominance.Api.GameTimer? self = null;
        self = timers.Schedule(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), () =>
        {
            _fired.Add("self");
            self!.Cancel();
        }, 1);
        once.Cancel();
        Assert.That(once.IsActive, Is.False);
        for (int i = 0; i < 5; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            timers.RunDue(_clock.GetTimestamp(), Fail);
        }

        Assert.That(_fired, Is.EqualTo(new[] { "self" }));
        Assert.That(timers.MillisecondsUntilNext(), Is.EqualTo(Timeout.Infinite));
    }

    [Test]
    public void CancelOwnedByCancelsOnlyThatOwnersTimers()
    {
        var timers = new TimerQueue(_clock);
        timers.Schedule(TimeSpan.FromSeconds(1), TimeSpan.Zero, () => _fired.Add("gen1"), 1);
        timers.Schedule(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), () => _fired.Add("gen1 repeating"), 1);
        timers.Schedule(TimeSpan.FromSeconds(1), TimeSpan.Zero, () => _fired.Add("host"), TimerQueue.HostOwner);
        Assert.That(timers.CancelOwnedBy(1), Is.EqualTo(2));
        _clock.Advance(TimeSpan.FromSeconds(3));
        timers.RunDue(_clock.GetTimestamp(), Fail);
        Assert.That(_fired, Is.EqualTo(new[] { "host" }));
    }

    [Test]
    public void ChurnOfCancelledTimersDoesNotGrowTheQueue()
    {
        var timers = new TimerQueue(_clock);
        for (int i = 0; i < 100_000; i++)
        {
            timers.Schedule(TimeSpan.FromMinutes(30), TimeSpan.Zero, () => { }, 1).Cancel();
        }

        Assert.That(timers.Count, Is.LessThan(5000));
    }

    [Test]
    public void AFailingTimerIsReportedAndOthersStillRun()
    {
        var timers = new TimerQueue(_clock);
        var failures = new List<Exception>();
        timers.Schedule(TimeSpan.Zero, TimeSpan.Zero, () => throw new InvalidOperationException("timer boom"), 7);
        timers.Schedule(TimeSpan.Zero, TimeSpan.Zero, () => _fired.Add("after"), 7);
        timers.RunDue(_clock.GetTimestamp(), (_, e) => failures.Add(e));
        Assert.That(failures.Single().Message, Is.EqualTo("timer boom"));
        Assert.That(_fired, Is.EqualTo(new[] { "after" }));
    }

    private static void Fail(int owner, Exception e) => Assert.Fail($"timer of {owner} failed: {e}");
}
