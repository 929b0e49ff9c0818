using System.Buffers;
using NATS.Client.Core;

namespace Dominance.Nats;

/// <summary>
/// A NATS subscription whose messages are handled on the connection's socket reader, as they are parsed, instead of
/// going through the client's per-subscription channel to a reading loop: one thread hop less per message on the
/// relay's hot paths (the core's inbound batches, a portal's output batches).
/// </summary>
/// <remarks>
/// The handler gets the payload as the socket reader's buffer: it must be done with it (decode or copy it) before its
/// first <c>await</c>. While the handler's task runs the connection reads nothing more, which is the backpressure the
/// channel's <see cref="System.Threading.Channels.BoundedChannelFullMode.Wait"/> gave before; so the handler must not
/// wait for anything that needs this connection to read (a request's reply). It must not throw.
/// </remarks>
internal sealed class InlineSubscription : NatsSubBase
{
    private readonly Handler _handle;

    private InlineSubscription(NatsConnection connection, string subject, Handler handle)
        : base(connection, connection.SubscriptionManager, subject, queueGroup: null, opts: null)
    {
        _handle = handle;
    }

    /// <summary>Handles one message: its subject and its payload (valid until the first <c>await</c>).</summary>
    public delegate ValueTask Handler(string subject, ReadOnlySequence<byte> payload);

    /// <summary>Subscribes; returns once the NATS server has the subscription.</summary>
    public static async Task<InlineSubscription> SubscribeAsync(NatsConnection connection, string subject, Handler handle, CancellationToken cancellationToken)
    {
        var subscription = new InlineSubscription(connection, subject, handle);
        await connection.AddSubAsync(subscription, cancellationToken).ConfigureAwait(false);
        return subscription;
    }

    protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer) =>
        _handle(subject, payloadBuffer);

    protected override void TryComplete()
    {
    }
}
