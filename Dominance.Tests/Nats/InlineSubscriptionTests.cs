using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Dominance.Nats;
using Dominance.Tests.Support;
using NATS.Client.Core;

namespace Dominance.Tests.Nats;

/// <summary>
/// The relay's inline subscriptions (handlers run on the NATS connection's socket reader): a handler that throws must not
/// end the subscription, or one bad message on the core's inbound subject would switch off every portal's input for good.
/// </summary>
public sealed class InlineSubscriptionTests
{
    [Test]
    public async Task AHandlerThatThrowsAtOnceOrLaterIsReportedAndTheNextMessagesStillArrive()
    {
        await using NatsServer server = await NatsServer.StartAsync();
        await using var connection = new NatsConnection(new NatsOpts
        {
            Url = server.Url,
            AuthOpts = new NatsAuthOpts { Username = server.User, Password = server.Password },
        });
        await connection.ConnectAsync();

        var handled = new ConcurrentQueue<string>();
        var failures = new ConcurrentQueue<string>();
        await InlineSubscription.SubscribeAsync(
            connection,
            "test.inline",
            (subject, payload) =>
            {
                string text = Encoding.UTF8.GetString(payload.ToArray());
                return text switch
                {
                    "throw now" => throw new ArgumentOutOfRangeException(nameof(payload), "thrown at once"),
                    "throw later" => new ValueTask(ThrowLaterAsync()),
                    _ => Handle(text),
                };
            },
            (subject, e) => failures.Enqueue($"{subject}: {e.Message}"),
            CancellationToken.None);

        ValueTask Handle(string text)
        {
            handled.Enqueue(text);
            return ValueTask.CompletedTask;
        }

        foreach (string text in new[] { "first", "throw now", "second", "throw later", "third" })
        {
            await connection.PublishAsync("test.inline", Encoding.UTF8.GetBytes(text));
        }

        await Poll.UntilAsync(() => Task.FromResult(handled.Count == 3 && failures.Count == 2), "three messages handled and two failures reported");
        Assert.That(handled, Is.EqualTo(new[] { "first", "second", "third" }));
        Assert.That(failures, Has.Some.Contains("thrown at once").And.Some.Contains("thrown later"));
        Assert.That(failures, Has.All.StartsWith("test.inline: "));
    }

    private static async Task ThrowLaterAsync()
    {
        await Task.Yield();
        throw new InvalidOperationException("thrown later");
    }
}
