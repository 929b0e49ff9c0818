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
/// wait for anything that needs this connection to read (a request's reply). A handler that throws (at once or later)
/// is reported to the subscription's failure callback and the subscription goes on: an exception reaching NATS.Net would
/// end the subscription, and one malformed message would switch the relay's input off for good.
/// </remarks>
internal sealed class InlineSubscription : NatsSubBase
{
    private readonly Handler _handle;
    private readonly Action<string, Exception> _failed;

    private InlineSubscription(NatsConnection connection, string subject, Handler handle, Action<string, Exception> failed)
        : base(connection, connection.SubscriptionManager, subject, queueGroup: null, opts: null)
    {
        _handle = handle;
        _failed = failed;
    }

    /// <summary>Handles one message: its subject and its payload (valid until the first <c>await</c>).</summary>
    public delegate ValueTask Handler(string subject, ReadOnlySequence<byte> payload);

    /// <summary>
    /// Subscribes; returns once the NATS server has the subscription. <paramref name="failed"/> hears of every exception
    /// the handler throws (with the message's subject); the subscription itself goes on.
    /// </summary>
    public static async Task<InlineSubscription> SubscribeAsync(
        NatsConnection connection, string subject, Handler handle, Action<string, Exception> failed, CancellationToken cancellationToken)
    {
        var subscription = new InlineSubscription(connection, subject, handle, failed);
        await connection.AddSubAsync(subscription, cancellationToken).ConfigureAwait(false);
        return subscription;
    }

    protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer)
    {
        ValueTask handled;
        try
        {
            handled = _handle(subject, payloadBuffer);
        }
        catch (Exception e)
        {
            _failed(subject, e);
            return ValueTask.CompletedTask;
        }

        return handled.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitAsync(handled, subject);
    }

    private async ValueTask AwaitAsync(ValueTask handled, string subject)
    {
        try
        {
            await handled.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _failed(subject, e);
        }
    }

    protected override void TryComplete()
    {
    }
}
