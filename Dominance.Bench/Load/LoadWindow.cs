namespace Dominance.Bench.Load;

/// <summary>One measured window of a <see cref="LoadSession"/>: deliveries made and the server's CPU time over it.</summary>
internal readonly record struct LoadWindow(long Delivered, CpuTime? ServerCpu)
{
    /// <summary>The server's CPU time per delivery in this window, in microseconds, if its process was known.</summary>
    public double? CpuMicrosecondsPerDelivery => ServerCpu is { } cpu && Delivered > 0 ? cpu.Total * 1e6 / Delivered : null;
}
