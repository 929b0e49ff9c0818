using System.Runtime.InteropServices;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Dominance.Api;
using Dominance.Core;
using Dominance.Hosting;
using Dominance.Portal;
using Dominance.Portal.InMemory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dominance.Bench;

/// <summary>
/// Relay latency in process: one input from a portal session, through the inbound channel, the game thread and a
/// module's <c>say</c>, to the bytes being handed to every recipient's connection (in-memory connections: no socket).
/// Measured per message, until the last recipient has its bytes. The baseline, in the same run, is the least any
/// such design can do: a round trip through two channels to a dedicated thread and back.
/// </summary>
/// <remarks>
/// The benchmark thread polls for the result in both, rather than sleeping: on this virtual machine a thread that
/// sleeps for more than a few microseconds takes tens of microseconds to be woken, which would measure the observer,
/// not the relay. The game thread and the baseline's echo thread do sleep between messages, as they would in use.
/// The recipients count down a counter that only the delivering thread touches, each on its own cache line; only the
/// last one writes the flag that the benchmark thread polls. A counter shared with the polling thread would cost every
/// delivery a cache line fetched back from the other core, a cost of the observer, not of the relay.
/// </remarks>
[MemoryDiagnoser]
[ShortRunJob]
public class RelayBenchmarks
{
    private const int Messages = 200;
    private const string Line = "say The north wind brings snow to Highkeep.";

    private GameLoop _core = null!;
    private InMemorySession _sender = null!;
    private Padded _remaining;
    private Padded _done;

    private Channel<int> _there = null!;
    private Channel<int> _back = null!;
    private Channel<int> _pollThere = null!;
    private Channel<int> _pollBack = null!;
    private volatile bool _stopping;

    [Params(1, 10, 100, 1000)]
    public int Recipients { get; set; }

    [GlobalSetup(Target = nameof(Say))]
    public void StartServer()
    {
        var settings = new DominanceSettings();
        settings.Portal.CommandRateLimit = 0;
        _core = new GameLoop(settings.Core, TimeProvider.System, NullLoggerFactory.Instance, new ConfigurationBuilder().Build());
        var portal = new PortalService(settings.Portal, _core.Inbound, TimeProvider.System, NullLogger<PortalService>.Instance);
        _core.Start(new SayModule());
        _core.Started.GetAwaiter().GetResult();

        _sender = new InMemorySession(portal, (_, _) => { });
        _ = _sender.RunAsync();
        for (int i = 0; i < Recipients; i++)
        {
            _ = new InMemorySession(portal, Received).RunAsync();
        }

        SpinWait.SpinUntil(() => _core.OpenSessions == Recipients + 1);
    }

    [GlobalSetup(Target = nameof(TwoChannelRoundTrip))]
    public void StartEcho()
    {
        _there = Channel.CreateBounded<int>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        _back = Channel.CreateBounded<int>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        new Thread(Echo) { IsBackground = true, Name = "echo" }.Start();
    }

    [GlobalSetup(Target = nameof(TwoChannelRoundTripPolling))]
    public void StartPollingEcho()
    {
        _pollThere = Channel.CreateBounded<int>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        _pollBack = Channel.CreateBounded<int>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        new Thread(PollingEcho) { IsBackground = true, Name = "polling echo" }.Start();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public int TwoChannelRoundTrip()
    {
        int sum = 0;
        for (int i = 0; i < Messages; i++)
        {
            _there.Writer.TryWrite(i);
            int back;
            while (!_back.Reader.TryRead(out back))
            {
                Thread.SpinWait(20);
            }

            sum += back;
        }

        return sum;
    }

    /// <summary>
    /// Not a baseline but the floor: the same round trip with the echo thread polling, never sleeping, so that no
    /// thread ever waits to be woken. No design that lets its threads sleep when idle can be this fast.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public int TwoChannelRoundTripPolling()
    {
        int sum = 0;
        for (int i = 0; i < Messages; i++)
        {
            _pollThere.Writer.TryWrite(i);
            int back;
            while (!_pollBack.Reader.TryRead(out back))
            {
                Thread.SpinWait(20);
            }

            sum += back;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public void Say()
    {
        for (int i = 0; i < Messages; i++)
        {
            _remaining.Value = Recipients;
            Volatile.Write(ref _done.Value, 0);
            ValueTask sent = _sender.SendAsync(Line);
            if (!sent.IsCompletedSuccessfully)
            {
                sent.AsTask().Wait();
            }

            while (Volatile.Read(ref _done.Value) == 0)
            {
                Thread.SpinWait(20);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopping = true;
        _there?.Writer.TryComplete();
        _core?.StopAsync().GetAwaiter().GetResult();
    }

    private void Received(FrameKind kind, ReadOnlyMemory<byte> bytes)
    {
        // Interlocked, in case a recipient's write loop ever runs on another thread; uncontended, it stays in this core's cache.
        if (Interlocked.Decrement(ref _remaining.Value) == 0)
        {
            Volatile.Write(ref _done.Value, 1);
        }
    }

    /// <summary>An int alone on its cache line (64 bytes either side), so that no other field shares it.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private struct Padded
    {
        [FieldOffset(64)]
        public int Value;
    }

    private void Echo()
    {
        ChannelReader<int> reader = _there.Reader;
        while (true)
        {
            if (reader.TryRead(out int item))
            {
                _back.Writer.TryWrite(item);
            }
            else if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                return;
            }
        }
    }

    private void PollingEcho()
    {
        while (!_stopping)
        {
            if (_pollThere.Reader.TryRead(out int item))
            {
                _pollBack.Writer.TryWrite(item);
            }
            else
            {
                Thread.SpinWait(20);
            }
        }
    }
}
