namespace Dominance.Core;

/// <summary>
/// Where a portal writes its sessions' events: the core's <see cref="InboundPipe"/> in process, or a relay to a core in
/// another process (<c>Dominance.Nats</c>).
/// </summary>
/// <remarks>Per session, events are written one at a time, in the order they happened, and a sink keeps that order.</remarks>
internal interface IInboundSink
{
    /// <summary>
    /// Queues an event, waiting while there is no room (backpressure). Throws
    /// <see cref="System.Threading.Channels.ChannelClosedException"/> once the receiving side has stopped for good.
    /// </summary>
    ValueTask WriteAsync(InboundEvent item);
}
