using System.Net.Sockets;
using System.Text;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>Output: no artificial delay, and slow readers cannot hold anybody else back.</summary>
public sealed class OutputTests
{
    [Test]
    public async Task ABurstIsDeliveredWithoutWaitingForAnyTimer()
    {
        // The clock is frozen: no timer, rate window or delay based on the server's clock can ever elapse. If any
        // message waited for one (Evennia's 900 ms batching bug), it would never arrive and this test would fail.
        // (The rate limit is off: against a frozen clock, its window could never end either.)
        var frozen = new ManualClock();
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.CommandRateLimit = 0, clock: frozen);
        await using TelnetTestClient sender = await server.TelnetAsync();
        await using TelnetTestClient listener = await server.TelnetAsync();
        await sender.Lines.WaitForAsync("Welcome");
        await listener.Lines.WaitForAsync("Welcome");

        // 50 commands back to back, in one write.
        await sender.SendRawAsync(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 50).Select(i => $"say burst {i}\r\n"))));
        for (int i = 0; i < 50; i++)
        {
            Assert.That(await listener.Lines.WaitForAsync("says:"), Does.EndWith($"says: burst {i}"));
            Assert.That(await sender.Lines.NextAsync(), Is.EqualTo($"You say: burst {i}"));
        }

        // One at a time: each reply must arrive before the next command exists, so nothing waits to be batched.
        for (int i = 0; i < 50; i++)
        {
            await sender.SendAsync($"say single {i}");
            Assert.That(await listener.Lines.WaitForAsync("says:"), Does.EndWith($"says: single {i}"));
            Assert.That(await sender.Lines.NextAsync(), Is.EqualTo($"You say: single {i}"));
        }
    }

    [TestCase(false, TestName = "A telnet client that stops reading never holds the game thread")]
    [TestCase(true, TestName = "A WebSocket client that stops reading never holds the game thread")]
    public async Task AClientThatStopsReadingNeverHoldsTheGameThread(bool webSocket)
    {
        // Delivery to an idle session runs on the game thread (PortalSession's remarks). The stalled client's queue is
        // made large enough that it is never disconnected here: its write loop ends up waiting on a flush that cannot
        // finish, with output queued behind it, and the game must go on regardless.
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Portal.SendQueueCapacity = 1_000_000;
            s.Portal.TelnetBacklogBytes = int.MaxValue;
        });
        using TcpClient stalled = webSocket
            ? await WebSocketTestClient.ConnectSilentAsync(server.Http)
            : await TelnetTestClient.ConnectSilentAsync(server.Telnet);
        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 1, "the stalled client connected");
        await using TelnetTestClient active = await server.TelnetAsync();
        await active.Lines.WaitForAsync("Welcome");

        // Fill the stalled connection's socket buffers and Kestrel's pipe until output stays queued in its outbox.
        int rounds = 0;
        while (server.Server.Portal.QueuedFrames() < 64)
        {
            Assert.That(++rounds, Is.LessThan(2000), "the stalled client's output never backed up");
            await active.SendAsync("flood 8 16384");
            await active.Lines.WaitForAsync("flooded");
        }

        // The game thread answers while that flush is still pending, and keeps the stalled session.
        for (int i = 0; i < 20; i++)
        {
            await active.SendAsync($"echo still serving {i}");
            Assert.That(await active.Lines.WaitForAsync("still serving"), Is.EqualTo($"still serving {i}"));
        }

        Assert.That(server.Server.Portal.QueuedFrames(), Is.GreaterThanOrEqualTo(64), "the stalled client's output is still waiting");
        Assert.That(server.TestModule.Disconnected, Is.Empty, "nobody was disconnected");
    }

    [TestCase(false, TestName = "A telnet client that stops reading is disconnected at its bound in bytes while others go on")]
    [TestCase(true, TestName = "A WebSocket client that stops reading is disconnected while others go on")]
    public async Task AClientThatStopsReadingIsDisconnectedWhileOthersGoOn(bool webSocket)
    {
        // Telnet: its queue in messages is made too large to matter, so that only its bound in bytes
        // (Portal:TelnetBacklogBytes, 64 KiB, as Kestrel's output pipe held before the portal sent on telnet sockets
        // itself) can cut it off; at 1,000,000 × 4 KiB, as a WebSocket's, it would hold gigabytes first.
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.SendQueueCapacity = webSocket ? 16 : 1_000_000);
        using TcpClient stalled = webSocket
            ? await WebSocketTestClient.ConnectSilentAsync(server.Http)
            : await TelnetTestClient.ConnectSilentAsync(server.Telnet);
        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 1, "the stalled client connected");
        long stalledId = server.TestModule.Connected.Single().Value;
        await using TelnetTestClient active = await server.TelnetAsync();
        await active.Lines.WaitForAsync("Welcome");

        // Each round queues a few 16 KiB messages for everyone; the active client keeps up, the stalled one cannot.
        int rounds = 0;
        while (!server.TestModule.Disconnected.Any(s => s.Value == stalledId))
        {
            Assert.That(++rounds, Is.LessThan(2000), "the stalled client was never disconnected");
            await active.SendAsync("flood 8 16384");
            await active.Lines.WaitForAsync("flooded");
        }

        // Telnet can only have hit its bound in bytes, and the log says which bound it was; a WebSocket may hit either.
        Assert.That(server.Log.Contains(webSocket ? "is not reading its output: send" : "is not reading its output: send backlog full at 1000000 messages or 65536 bytes"), Is.True);
        Assert.That(server.Server.Portal.Counters.SlowClientsDisconnected, Is.EqualTo(1));
        await active.SendAsync("echo still here");
        Assert.That(await active.Lines.WaitForAsync("still here"), Is.EqualTo("still here"));
        Assert.That(server.TestModule.Disconnected.Select(s => s.Value), Is.EqualTo(new[] { stalledId }));
    }

    [Test]
    public async Task ATelnetClientThatReadsIsGivenOneMessageLargerThanItsBacklogBoundWhole()
    {
        // One message of 8 MB: far more than the kernel takes at once (even on loopback) plus Portal:TelnetBacklogBytes
        // (64 KiB). The client reads all along: it must get the whole message, not be cut off as "not reading".
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient reader = await TelnetTestClient.ConnectAsync(server.Telnet, receiveBufferSize: 65536);
        await reader.Lines.WaitForAsync("Welcome");

        await reader.SendAsync("flood 1 8000000");

        var lines = new List<string>();
        while (lines.Count == 0 || lines[^1] != "flooded")
        {
            lines.Add(await reader.Lines.NextAsync());
        }

        Assert.That(lines.Select(l => l.Length), Has.Some.EqualTo(8_000_000), "the whole message, before the reply after it");
        Assert.That(server.Server.Portal.Counters.SlowClientsDisconnected, Is.Zero);
    }

    [Test]
    public async Task ATelnetClientThatDoesNotTakeItsLastOutputWithinTheGraceIsClosedCountedAndLogged()
    {
        // Its goodbye waits behind more than the kernel holds. The close waits for it for Portal:ShutdownGrace (not a
        // fixed time of its own), then drops it, and says so.
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Portal.SendQueueCapacity = 1_000_000;
            s.Portal.TelnetBacklogBytes = int.MaxValue;
            s.Portal.ShutdownGrace = TimeSpan.FromMilliseconds(200);
        });
        using TcpClient stalled = await TelnetTestClient.ConnectSilentAsync(server.Telnet);
        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 1, "the stalled client connected");
        long stalledId = server.TestModule.Connected.Single().Value;
        await using TelnetTestClient active = await server.TelnetAsync();
        await active.Lines.WaitForAsync("Welcome");
        for (int i = 0; i < 4; i++)
        {
            await active.SendAsync("flood 64 65536"); // 16 MiB in all: far more than the kernel's buffers hold
            await active.Lines.WaitForAsync("flooded");
        }

        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes("quit\r\n"));
        await Poll.UntilAsync(() => server.Server.Portal.Counters.ClosesCutShort == 1, "the close gave up on the client");
        await Poll.UntilAsync(() => server.TestModule.Disconnected.Any(s => s.Value == stalledId), "the stalled client left");
        Assert.That(server.Log.Contains($"Telnet session #{stalledId} "), Is.True);
        Assert.That(server.Log.Contains("did not take its last output within 00:00:00.2000000; closing it with"), Is.True);
        Assert.That(server.Server.Portal.Counters.SlowClientsDisconnected, Is.Zero, "it was closed, not cut off as slow");
    }

    /// <summary>
    /// The closing path of a slow client's backlog (<c>PortalSession.OnSendBacklogFull</c> once the session is closing):
    /// the client stopped reading with one large message still unsent (kept whole: one write is never cut off for its own
    /// size), and the goodbye of its <c>quit</c> is more than <c>Portal:TelnetBacklogBytes</c> behind it. That overflow is
    /// a close cut short, counted and logged as one, not a slow client cut off; the session ends, and the others go on.
    /// </summary>
    [Test]
    public async Task ATelnetClientWhoseGoodbyeOverflowsItsBacklogIsCountedAsACloseCutShortWhileOthersGoOn()
    {
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Portal.SendQueueCapacity = 1_000_000; // only the bound in bytes can be reached
            s.Portal.TelnetBacklogBytes = 4096;
        });
        using TcpClient stalled = await TelnetTestClient.ConnectSilentAsync(server.Telnet);
        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 1, "the stalled client connected");
        long stalledId = server.TestModule.Connected.Single().Value;
        await using TelnetTestClient active = await TelnetTestClient.ConnectAsync(server.Telnet, receiveBufferSize: 65536);
        await active.Lines.WaitForAsync("Welcome");
        await active.SendAsync("flood 1 16000000"); // one message of 16 MB to everyone: far more than the kernel holds for the stalled client
        await active.Lines.WaitForAsync("flooded");

        await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes("quit 8192\r\n"));

        await Poll.UntilAsync(() => server.Server.Portal.Counters.ClosesCutShort == 1, "the close is counted as cut short");
        await Poll.UntilAsync(() => server.TestModule.Disconnected.Any(s => s.Value == stalledId), "the stalled client's session ended");
        Assert.That(server.Log.Contains($"Session #{stalledId} (127.0.0.1) did not take its last output: send backlog full at 1000000 messages or 4096 bytes while closing"), Is.True, server.Log.Text);
        Assert.That(server.Server.Portal.Counters.SlowClientsDisconnected, Is.Zero, "it was closing, not cut off as slow");
        await active.SendAsync("echo still here");
        Assert.That(await active.Lines.WaitForAsync("still here"), Is.EqualTo("still here"));
    }
}
