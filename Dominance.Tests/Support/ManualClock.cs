namespace Dominance.Tests.Support;

/// <summary>
/// A clock that moves only when a test moves it, and counts how often it is read. Timers created through it never
/// fire on their own (the server's timers live in its own queue and read timestamps from here).
/// </summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = 1_000_000_000;
    private int _reads;

    /// <summary>How many times the timestamp was read.</summary>
    public int Reads => Volatile.Read(ref _reads);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        Interlocked.Increment(ref _reads);
        return Interlocked.Read(ref _ticks);
    }

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) + TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
