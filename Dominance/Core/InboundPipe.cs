using System.Threading.Channels;

namespace Dominance.Core;

/// <summary>
/// The one pipe into the game core: a bounded <see cref="Channel{T}"/> written by every portal session and read only by
/// the game thread.
/// </summary>
/// <remarks>
/// <para>Backpressure: when the channel is full, <see cref="WriteAsync(InboundEvent)"/> waits, so the session stops reading its
/// socket and TCP pushes back on that client. Nothing is dropped and memory stays bounded.</para>
/// <para>The game thread never parks inside the channel. It drains with <see cref="TryRead"/> and sleeps on its own
/// wake-up event, which every successful write sets. This keeps the loop's sleep independent of the channel's waiter
/// machinery (see dotnet/runtime#131141, a .NET 10 regression where a parked reader of a bounded channel under
/// contention may never wake) and lets one sleep wait for inputs, posted continuations and timer deadlines at once.</para>
/// </remarks>
internal sealed class InboundPipe : IInboundSink
{
    private readonly Channel<InboundEvent> _channel;
    private readonly ManualResetEventSlim _wake;

    /// <summary>Creates the pipe with room for <paramref name="capacity"/> events; writes set <paramref name="wake"/>.</summary>
    public InboundPipe(int capacity, ManualResetEventSlim wake)
    {
        _wake = wake;
        _channel = Channel.CreateBounded<InboundEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>The number of events waiting for the game thread.</summary>
    public int Count => _channel.Reader.Count;

    /// <summary>
    /// Queues an event, waiting while the channel is full. Throws <see cref="ChannelClosedException"/> once the core
    /// has stopped.
    /// </summary>
    public ValueTask WriteAsync(InboundEvent item) => WriteAsync(item, CancellationToken.None);

    /// <summary>
    /// As <see cref="WriteAsync(InboundEvent)"/>, but gives up waiting for room when <paramref name="cancellationToken"/>
    /// is cancelled (<see cref="OperationCanceledException"/>): for a writer that must not wait for ever on a game thread
    /// that may not answer (a shutdown's).
    /// </summary>
    public ValueTask WriteAsync(InboundEvent item, CancellationToken cancellationToken)
    {
        if (_channel.Writer.TryWrite(item))
        {
            _wake.Set();
            return ValueTask.CompletedTask;
        }

        return WriteWhenRoomAsync(item, cancellationToken);
    }

    /// <summary>Takes the next event, if any. Game thread only.</summary>
    public bool TryRead(out InboundEvent item) => _channel.Reader.TryRead(out item);

    /// <summary>Refuses further writes; writers waiting for room get <see cref="ChannelClosedException"/>.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    private async ValueTask WriteWhenRoomAsync(InboundEvent item, CancellationToken cancellationToken)
    {
        // Without a token (every writer but the shutdown's): the game thread always drains, and Complete() releases
        // waiters at shutdown.
        await _channel.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        _wake.Set();
    }
}
