using BenchmarkDotNet.Attributes;
using Dominance.Portal;

namespace Dominance.Bench;

/// <summary>
/// The portal's count-until-limit check on its accepted path, as a session sees it in production: 80 inputs per second,
/// so the clock is read once per 80 checks.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class RateLimiterBenchmarks
{
    private const int Checks = 8000;
    private CommandRateLimiter _limiter;
    private PacedClock _clock = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Each reading advances a little more than 1/80 s: the limit is reached just as the window ends, every time.
        _clock = new PacedClock(TimeSpan.FromSeconds(1.0 / 80 * 81));
        _limiter = new CommandRateLimiter(80, TimeSpan.FromSeconds(1), _clock);
    }

    [Benchmark(OperationsPerInvoke = Checks)]
    public int CountUntilLimit()
    {
        int accepted = 0;
        for (int i = 0; i < Checks; i++)
        {
            accepted += _limiter.Check() == RateVerdict.Accepted ? 1 : 0;
        }

        return accepted;
    }

    /// <summary>A clock that moves forward by a fixed step at every reading.</summary>
    private sealed class PacedClock(TimeSpan step) : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _now += step.Ticks;
    }
}
