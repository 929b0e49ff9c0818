using NATS.Client.Core;

namespace Dominance.Nats;

/// <summary>NATS calls bounded by a cancellation token that they keep to even while the NATS server is gone.</summary>
internal static class NatsCalls
{
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
