using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Dominance.Portal;

namespace Dominance.Bench;

/// <summary>
/// The per-input rate check: Dominance's count-until-limit limiter next to System.Threading.RateLimiting's fixed window
/// and token bucket, and the naive two-point derivative "rate = 1 / (now - last)" from the Evennia post. Every limiter
/// allows 80 inputs per second, and each check goes to one of 16 sessions in turn, as a portal checks many sessions.
/// </summary>
/// <remarks>
/// <para>Accepted: a client at the limit. Dominance's limiter reads the clock once per 80 inputs, exactly as in
/// production (the benchmark's clock pays a real <see cref="Stopwatch.GetTimestamp"/> per reading and moves time on by
/// one window per 80 inputs). The framework limiters never read the clock to accept (a timer replenishes them), so a
/// permit limit too large to run out measures their accepted path at any rate.</para>
/// <para>Rejected: a flood, as the portal sees one: many lines per socket read (here 32), every one over the limit.</para>
/// </remarks>
[MemoryDiagnoser]
[ShortRunJob]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RateLimiterBenchmarks
{
    private const int Sessions = 16;
    private const int Checks = 16 * 1024;
    private const int LinesPerRead = 32;
    private const int Limit = 80;

    private readonly CommandRateLimiter[] _accepting = new CommandRateLimiter[Sessions];
    private readonly CommandRateLimiter[] _flooded = new CommandRateLimiter[Sessions];
    private readonly RateLimiter[] _fixedAccepting = new RateLimiter[Sessions];
    private readonly RateLimiter[] _fixedFlooded = new RateLimiter[Sessions];
    private readonly RateLimiter[] _bucketAccepting = new RateLimiter[Sessions];
    private readonly RateLimiter[] _bucketFlooded = new RateLimiter[Sessions];
    private readonly NaiveRateLimiter[] _naive = new NaiveRateLimiter[Sessions];

    [GlobalSetup]
    public void Setup()
    {
        var paced = new PacedClock(TimeSpan.FromSeconds(1.01));
        var frozen = new PacedClock(TimeSpan.Zero);
        for (int i = 0; i < Sessions; i++)
        {
            _accepting[i] = new CommandRateLimiter(Limit, TimeSpan.FromSeconds(1), paced);
            _flooded[i] = new CommandRateLimiter(Limit, TimeSpan.FromSeconds(1), frozen);
            _fixedAccepting[i] = new FixedWindowRateLimiter(new() { PermitLimit = int.MaxValue, Window = TimeSpan.FromSeconds(1), AutoReplenishment = false });
            _fixedFlooded[i] = new FixedWindowRateLimiter(new() { PermitLimit = Limit, Window = TimeSpan.FromSeconds(1), AutoReplenishment = false });
            _bucketAccepting[i] = new TokenBucketRateLimiter(new() { TokenLimit = int.MaxValue, TokensPerPeriod = Limit, ReplenishmentPeriod = TimeSpan.FromSeconds(1), AutoReplenishment = false });
            _bucketFlooded[i] = new TokenBucketRateLimiter(new() { TokenLimit = Limit, TokensPerPeriod = Limit, ReplenishmentPeriod = TimeSpan.FromSeconds(1), AutoReplenishment = false });
            _naive[i] = new NaiveRateLimiter(Limit);
            long readTime = 0;
            for (int k = 0; k < Limit; k++)
            {
                _flooded[i].Check(ref readTime);
                _fixedFlooded[i].AttemptAcquire().Dispose();
                _bucketFlooded[i].AttemptAcquire().Dispose();
            }
        }
    }

    // Every benchmark walks the same harness: 16 checks unrolled per loop turn (accepted: one per session, sessions in
    // turn; rejected: 32 lines of one read from one session), so that the loop costs the same for every limiter and
    // as little as possible next to the check it measures.

    [Benchmark(Baseline = true, OperationsPerInvoke = Checks)]
    [BenchmarkCategory("Accepted")]
    public int FixedWindowAccepted() => AcquireEachInTurn(_fixedAccepting);

    [Benchmark(OperationsPerInvoke = Checks)]
    [BenchmarkCategory("Accepted")]
    public int TokenBucketAccepted() => AcquireEachInTurn(_bucketAccepting);

    [Benchmark(OperationsPerInvoke = Checks)]
    [BenchmarkCategory("Accepted")]
    public int CountUntilLimitAccepted()
    {
        CommandRateLimiter[] s = _accepting;
        int n = 0;
        long t = 0; // nobody shares a read here; the limiter reads the clock itself once per 80 inputs
        for (int i = 0; i < Checks; i += Sessions)
        {
            n += Accepted(s[0].Check(ref t));
            n += Accepted(s[1].Check(ref t));
            n += Accepted(s[2].Check(ref t));
            n += Accepted(s[3].Check(ref t));
            n += Accepted(s[4].Check(ref t));
            n += Accepted(s[5].Check(ref t));
            n += Accepted(s[6].Check(ref t));
            n += Accepted(s[7].Check(ref t));
            n += Accepted(s[8].Check(ref t));
            n += Accepted(s[9].Check(ref t));
            n += Accepted(s[10].Check(ref t));
            n += Accepted(s[11].Check(ref t));
            n += Accepted(s[12].Check(ref t));
            n += Accepted(s[13].Check(ref t));
            n += Accepted(s[14].Check(ref t));
            n += Accepted(s[15].Check(ref t));
            t = 0;
        }

        return n;
    }

    [Benchmark(OperationsPerInvoke = Checks)]
    [BenchmarkCategory("Accepted")]
    public int NaiveDerivative()
    {
        NaiveRateLimiter[] s = _naive;
        int n = 0;
        for (int i = 0; i < Checks; i += Sessions)
        {
            n += s[0].Check() ? 1 : 0;
            n += s[1].Check() ? 1 : 0;
            n += s[2].Check() ? 1 : 0;
            n += s[3].Check() ? 1 : 0;
            n += s[4].Check() ? 1 : 0;
            n += s[5].Check() ? 1 : 0;
            n += s[6].Check() ? 1 : 0;
            n += s[7].Check() ? 1 : 0;
            n += s[8].Check() ? 1 : 0;
            n += s[9].Check() ? 1 : 0;
            n += s[10].Check() ? 1 : 0;
            n += s[11].Check() ? 1 : 0;
            n += s[12].Check() ? 1 : 0;
            n += s[13].Check() ? 1 : 0;
            n += s[14].Check() ? 1 : 0;
            n += s[15].Check() ? 1 : 0;
        }

        return n;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Checks)]
    [BenchmarkCategory("Rejected")]
    public int FixedWindowRejected() => AcquireFlooded(_fixedFlooded);

    [Benchmark(OperationsPerInvoke = Checks)]
    [BenchmarkCategory("Rejected")]
    public int TokenBucketRejected() => AcquireFlooded(_bucketFlooded);

    [Benchmark(OperationsPerInvoke = Checks)]
    [BenchmarkCategory("Rejected")]
    public int CountUntilLimitRejected()
    {
        int n = 0;
        for (int i = 0; i < Checks; i += LinesPerRead)
        {
            ref CommandRateLimiter l = ref _flooded[(i / LinesPerRead) & (Sessions - 1)];
            long t = 0; // a new socket read: a new time, read once if a check needs it
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
            n += Accepted(l.Check(ref t));
        }

        return n;
    }

    private static int Acquire(RateLimiter limiter)
    {
        using RateLimitLease lease = limiter.AttemptAcquire();
        return lease.IsAcquired ? 1 : 0;
    }

    private static int Accepted(RateVerdict verdict) => verdict == RateVerdict.Accepted ? 1 : 0;

    /// <summary>The accepted harness for a framework limiter: one check per session, sessions in turn.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AcquireEachInTurn(RateLimiter[] s)
    {
        int n = 0;
        for (int i = 0; i < Checks; i += Sessions)
        {
            n += Acquire(s[0]);
            n += Acquire(s[1]);
            n += Acquire(s[2]);
            n += Acquire(s[3]);
            n += Acquire(s[4]);
            n += Acquire(s[5]);
            n += Acquire(s[6]);
            n += Acquire(s[7]);
            n += Acquire(s[8]);
            n += Acquire(s[9]);
            n += Acquire(s[10]);
            n += Acquire(s[11]);
            n += Acquire(s[12]);
            n += Acquire(s[13]);
            n += Acquire(s[14]);
            n += Acquire(s[15]);
        }

        return n;
    }

    /// <summary>The rejected harness for a framework limiter: 32 lines of one read from one flooded session.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AcquireFlooded(RateLimiter[] flooded)
    {
        int n = 0;
        for (int i = 0; i < Checks; i += LinesPerRead)
        {
            RateLimiter l = flooded[(i / LinesPerRead) & (Sessions - 1)];
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
            n += Acquire(l);
        }

        return n;
    }

    /// <summary>The Evennia post's first attempt: a rate from the gap between two inputs. Reads the clock every time.</summary>
    private struct NaiveRateLimiter(int limit)
    {
        private long _last;

        public bool Check()
        {
            long now = Stopwatch.GetTimestamp();
            double rate = Stopwatch.Frequency / (double)Math.Max(1, now - _last);
            _last = now;
            return rate <= limit;
        }
    }

    /// <summary>
    /// A clock that costs what the real one costs (it reads <see cref="Stopwatch"/>) but moves time on by a fixed step per
    /// reading, so that a limiter reading it once per 80 inputs sees 80 inputs a second.
    /// </summary>
    private sealed class PacedClock(TimeSpan step) : TimeProvider
    {
        private long _now = 1;
        private long _sink;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            _sink ^= Stopwatch.GetTimestamp();
            return _now += step.Ticks + (_sink & 0);
        }
    }
}
