using NATS.Client.Core;

namespace Dominance.Nats;

/// <summary>NATS calls bounded by a cancellation token that they keep to even while the NATS server is gone.</summary>
internal static class NatsCalls
{
    /// <summary>A NATS server's max payload until its INFO says otherwise: nats-server's default, 1 MB.</summary>
    private const int DefaultMaxPayload = 1024 * 1024;

    /// <summary>
    /// The most bytes one message may carry, as the NATS server's INFO says (nats-server's default, 1 MB, until it has
    /// said, or without a connection): NATS.Net refuses a message over it.
    /// </summary>
    public static int MaxPayload(this INatsConnection? nats) => nats?.ServerInfo?.MaxPayload is int max and > 0 ? max : DefaultMaxPayload;

    /// <summary>
    /// Publishes, waiting at most until <paramref name="cancellationToken"/> is cancelled (then throws
    /// <see cref="OperationCanceledException"/>). While the NATS server is unreachable, NATS.Net's publish waits for the
    /// reconnect, and may do so past its own token; the wait here is what bounds it.
    /// </summary>
    public static ValueTask PublishWithinAsync(this INatsConnection nats, string subject, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ValueTask publishing = nats.PublishAsync(subject, data, cancellationToken: cancellationToken);
        if (publishing.IsCompletedSuccessfully)
        {
            publishing.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }

        return new ValueTask(publishing.AsTask().WaitAsync(cancellationToken));
    }

    /// <summary>Disposes the connection, waiting at most <paramref name="deadline"/> (its goodbye to an unreachable server may hang).</summary>
    public static async Task DisposeWithinAsync(this NatsConnection nats, TimeSpan deadline)
    {
        try
        {
            await nats.DisposeAsync().AsTask().WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or NatsException or OperationCanceledException)
        {
        }
    }
}
