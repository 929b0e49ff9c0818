using Dominance.Portal;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>The count-until-limit limiter alone, on a manual clock.</summary>
public sealed class CommandRateLimiterTests
{
    [Test]
    public void AcceptsUpToTheLimitWithoutReadingTheClock()
    {
        var clock = new ManualClock();
        var limiter = new CommandRateLimiter(80, TimeSpan.FromSeconds(1), clock);
        int readsAtStart = clock.Reads;
        for (int i = 0; i < 80; i++)
        {
            Assert.That(limiter.Check(), Is.EqualTo(RateVerdict.Accepted));
        }

        Assert.That(clock.Reads, Is.EqualTo(readsAtStart), "the clock is read only when the count passes the limit");
    }

    [Test]
    public void WarnsOnceThenDropsUntilTheWindowEndsThenAcceptsAgain()
    {
        var clock = new ManualClock();
        var limiter = new CommandRateLimiter(3, TimeSpan.FromSeconds(1), clock);
        RateVerdict[] verdicts = [.. Enumerable.Range(0, 6).Select(_ => limiter.Check())];
        Assert.That(verdicts, Is.EqualTo(new[]
        {
            RateVerdict.Accepted, RateVerdict.Accepted, RateVerdict.Accepted,
            RateVerdict.RejectedFirst, RateVerdict.Rejected, RateVerdict.Rejected,
        }));

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.That(limiter.Check(), Is.EqualTo(RateVerdict.Rejected), "still inside the window");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        verdicts = [.. Enumerable.Range(0, 5).Select(_ => limiter.Check())];
        Assert.That(verdicts, Is.EqualTo(new[]
        {
            RateVerdict.Accepted, RateVerdict.Accepted, RateVerdict.Accepted,
            RateVerdict.RejectedFirst, RateVerdict.Rejected,
        }), "a new window accepts the limit again and warns again");
    }

    [Test]
    public void ABurstOfTwoCloseTogetherDoesNotTripIt()
    {
        // The seeds' point: two inputs a microsecond apart are not "a million per second". A limiter that computes
        // rate = 1 / (now - last) would refuse the second one.
        var clock = new ManualClock();
        var limiter = new CommandRateLimiter(80, TimeSpan.FromSeconds(1), clock);
        Assert.That(limiter.Check(), Is.EqualTo(RateVerdict.Accepted));
        clock.Advance(TimeSpan.FromTicks(10));
        Assert.That(limiter.Check(), Is.EqualTo(RateVerdict.Accepted));
    }

    [Test]
    public void SlowInputsNeverTripItHoweverManyThereAre()
    {
        var clock = new ManualClock();
        var limiter = new CommandRateLimiter(5, TimeSpan.FromSeconds(1), clock);
        for (int i = 0; i < 1000; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(250)); // 4 per second, under 5 per second
            Assert.That(limiter.Check(), Is.EqualTo(RateVerdict.Accepted), $"input {i}");
        }
    }

    [Test]
    public void ALimitOfZeroTurnsItOff()
    {
        var limiter = new CommandRateLimiter(0, TimeSpan.FromSeconds(1), new ManualClock());
        for (int i = 0; i < 10_000; i++)
        {
            Assert.That(limiter.Check(), Is.EqualTo(RateVerdict.Accepted));
        }
    }

    [Test]
    public void InputsFromOneReadShareOneClockReading()
    {
        var clock = new ManualClock();
        var limiter = new CommandRateLimiter(5, TimeSpan.FromSeconds(1), clock);
        int readsAtStart = clock.Reads;
        long readTime = 0; // one socket read bringing a flood of 100 lines
        int rejected = 0;
        for (int i = 0; i < 100; i++)
        {
            rejected += limiter.Check(ref readTime) == RateVerdict.Accepted ? 0 : 1;
        }

        Assert.That(rejected, Is.EqualTo(95));
        Assert.That(clock.Reads - readsAtStart, Is.EqualTo(1), "95 refusals, one clock reading");
    }
}
