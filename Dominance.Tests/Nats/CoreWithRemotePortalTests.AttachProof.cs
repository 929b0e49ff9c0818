using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Dominance.Nats;
using Dominance.Tests.Support;
using NATS.Client.Core;

namespace Dominance.Tests.Nats;

/// <summary>
/// What another NATS client, allowed on the attach subject, can do with a portal's attach request: learn nothing of the
/// shared secret from it, and not attach with it again.
/// </summary>
public sealed partial class CoreWithRemotePortalTests
{
    [Test]
    public async Task AListenerOnTheAttachSubjectNeverSeesTheSharedSecret()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await StartCoreAsync(nats);
        await using NatsConnection listener = Connect(nats, "test-listener");
        var requests = new ConcurrentQueue<byte[]>();
        await using INatsSub<byte[]> subscription = await CaptureAttachRequestsAsync(listener, requests);

        await using ServerProcess portal = await StartPortalAsync(nats);

        await Poll.UntilAsync(() => !requests.IsEmpty, "the listener sees the portal's attach request");
        byte[] secret = Encoding.UTF8.GetBytes(Secret);
        byte[] tokenKey = HMACSHA256.HashData(secret, "dominance resume tokens v1"u8); // ResumeTokens.FromSecret's key
        foreach (byte[] request in requests)
        {
            Assert.That(request.AsSpan().IndexOf(secret), Is.EqualTo(-1), "the secret");
            Assert.That(request.AsSpan().IndexOf(tokenKey), Is.EqualTo(-1), "the restore tokens' key");
            Assert.That(request.AsSpan().IndexOf(SHA256.HashData(secret)), Is.EqualTo(-1), "the secret's hash (as good as the secret to a core that compares hashes)");
        }
    }

    [Test]
    public async Task AnAttachRequestReplayedByAnotherClientIsRefused()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await StartCoreAsync(nats);
        await using NatsConnection listener = Connect(nats, "test-listener");
        var requests = new ConcurrentQueue<byte[]>();
        await using INatsSub<byte[]> subscription = await CaptureAttachRequestsAsync(listener, requests);
        await using ServerProcess portal = await StartPortalAsync(nats);
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await alice.Lines.WaitForAsync("Welcome");
        await Poll.UntilAsync(() => !requests.IsEmpty, "the listener sees the portal's attach request");
        requests.TryPeek(out byte[]? captured);

        // Sent again as it was, by another client: to the core, the same portal asking to attach again.
        NatsMsg<byte[]> reply = await listener.RequestAsync<byte[], byte[]>(Wire.Attach(new NatsSettings().Subject), captured);

        var r = new WireReader(reply.Data);
        Assert.That(r.Byte(), Is.EqualTo(Wire.Version));
        Assert.That(r.Byte(), Is.Zero, "refused");
        r.String(); // the core's instance
        Assert.That(r.String(), Does.Contain("used before"));
        await Poll.UntilAsync(() => server.Log.Contains("Refused an attach request from portal"), "the core logs the replay");
        await alice.SendAsync("echo still attached");
        await alice.Lines.WaitForAsync("still attached");
        Assert.That(server.TestModule.Disconnected, Is.Empty, "the real portal kept its sessions: it was not attached again");
    }

    private static NatsConnection Connect(NatsServer nats, string name) =>
        new(new NatsSettings { Url = nats.Url, User = nats.User, Password = nats.Password, Secret = Secret }.ClientOptions(name));

    /// <summary>
    /// Subscribes <paramref name="connection"/> to the attach subject (the server has the subscription when this returns),
    /// adding what it hears to <paramref name="requests"/>. The caller keeps the subscription: NATS.Net holds it weakly.
    /// </summary>
    private static async Task<INatsSub<byte[]>> CaptureAttachRequestsAsync(NatsConnection connection, ConcurrentQueue<byte[]> requests)
    {
        INatsSub<byte[]> subscription = await connection.SubscribeCoreAsync<byte[]>(Wire.Attach(new NatsSettings().Subject));
        _ = Task.Run(async () =>
        {
            await foreach (NatsMsg<byte[]> message in subscription.Msgs.ReadAllAsync())
            {
                requests.Enqueue(message.Data ?? []);
            }
        });
        return subscription;
    }
}
