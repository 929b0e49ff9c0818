using System.Net.Sockets;
using System.Text;
using Dominance.Portal.WebSockets;
using Dominance.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Dominance.Tests.Portal;

/// <summary>
/// The portal keeps idle WebSocket connections alive with unsolicited pongs (<see cref="WebSocketKeepAlive"/>), sends
/// none to a connection the game is sending to, and none after a close frame. Seen from raw clients, with the server's
/// clock moved by hand (its timers fire inside <see cref="FakeTimeProvider.Advance"/>).
/// </summary>
public sealed class WebSocketKeepAliveTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(30);

    /// <summary>One tick of the keep-alive's timer: each tick visits one slice of the connections.</summary>
    private static readonly TimeSpan s_tick = s_interval / (WebSocketKeepAlive.VisitsPerInterval * WebSocketKeepAlive.Slices);

    [Test]
    public async Task AnIdleConnectionGetsAPongAfterThreeQuietVisitsAndOneBeingSentToGetsNone()
    {
        var clock = new FakeTimeProvider();
        await using TestServer server = await StartAsync(clock);
        using TcpClient idle = await WebSocketTestClient.ConnectSilentAsync(server.Http);
        using TcpClient busy = await WebSocketTestClient.ConnectSilentAsync(server.Http);
        NetworkStream idleStream = idle.GetStream();
        NetworkStream busyStream = busy.GetStream();
        Assert.That((await WebSocketTestClient.ReadServerFrameAsync(idleStream)).Text, Does.StartWith("Welcome"));
        Assert.That((await WebSocketTestClient.ReadServerFrameAsync(busyStream)).Text, Does.StartWith("Welcome"));

        // Two intervals, a tick at a time: each connection is visited eight times. Each step, the busy connection is
        // sent a reply; its frames are read in order, so a pong sent to it would come before the next reply.
        for (int i = 0; i < 2 * WebSocketKeepAlive.VisitsPerInterval * WebSocketKeepAlive.Slices; i++)
        {
            await EchoAsync(busyStream, $"busy {i}");
            clock.Advance(s_tick);
        }

        await EchoAsync(busyStream, "busy at the end");

        // The idle connection's first visit saw its welcome; visits 2 to 4 and 5 to 7 found nothing sent, and each
        // third sent a pong. Nothing else was sent to it: its next frame is the reply to its own input.
        for (int i = 0; i < 2; i++)
        {
            Assert.That(await WebSocketTestClient.ReadServerFrameAsync(idleStream), Is.EqualTo((0xA, "")), $"pong {i}");
        }

        await EchoAsync(idleStream, "idle at the end");
    }

    [TestCase(null)]
    [TestCase("gmcp.mudstandards.org")]
    [TestCase("telnet.mudstandards.org")]
    public async Task AnIdleConnectionOfEveryFramingIsKeptAlive(string? subprotocol)
    {
        var clock = new FakeTimeProvider();
        await using TestServer server = await StartAsync(clock);
        using TcpClient idle = await WebSocketTestClient.ConnectSilentAsync(server.Http, subprotocol: subprotocol);
        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 1, "the session reached the game");

        // Whatever the session sends first (negotiations, the welcome, out-of-band data) may still be on its way while
        // the clock moves, and each delivery starts the quiet visits again: move it an interval at a time until a pong
        // follows that output.
        Task<List<int>> framesBeforeThePong = ReadUntilPongAsync(idle.GetStream());
        await Poll.UntilAsync(
            () =>
            {
                AdvanceTickByTick(clock, s_interval);
                return framesBeforeThePong.IsCompleted;
            },
            "a pong arrived");
        Assert.That(await framesBeforeThePong, Has.Count.LessThan(50), "frames before the pong");
    }

    [TestCase("/ws")]
    [TestCase("/WS")] // served through HTTP, not by the connection-level takeover: not sent on by the portal's own sender
    public async Task NoPongFollowsTheCloseFrame(string path)
    {
        var clock = new FakeTimeProvider();
        await using TestServer server = await StartAsync(clock);
        using TcpClient client = await WebSocketTestClient.ConnectSilentAsync(server.Http, path);
        NetworkStream stream = client.GetStream();
        Assert.That((await WebSocketTestClient.ReadServerFrameAsync(stream)).Text, Does.StartWith("Welcome"));

        // The server says goodbye and closes; its session waits for the client's answer to the close frame.
        await stream.WriteAsync(WebSocketTestClient.MaskedFrame(0x81, "quit"u8.ToArray()));
        Assert.That(await WebSocketTestClient.ReadServerFrameAsync(stream), Is.EqualTo((1, "Goodbye.\r\n")));
        Assert.That((await WebSocketTestClient.ReadServerFrameAsync(stream)).Opcode, Is.EqualTo(8), "the close frame");

        // Meanwhile two intervals go by: the connection is visited, and finds nothing sent since the goodbye.
        AdvanceTickByTick(clock, 2 * s_interval);

        // The client answers the close; the server ends the connection with nothing after its close frame.
        await stream.WriteAsync(WebSocketTestClient.MaskedFrame(0x88, [0x03, 0xE8]));
        using var deadline = new CancellationTokenSource(Poll.Deadline);
        byte[] rest = new byte[64];
        int read = await stream.ReadAsync(rest, deadline.Token);
        Assert.That(rest[..read], Is.Empty, "bytes after the close frame");
    }

    [Test]
    public async Task WithTheKeepAliveOffNoPongIsSent()
    {
        var clock = new FakeTimeProvider();
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.WebSocketKeepAlive = TimeSpan.Zero, clock: clock);
        using TcpClient idle = await WebSocketTestClient.ConnectSilentAsync(server.Http);
        NetworkStream stream = idle.GetStream();
        Assert.That((await WebSocketTestClient.ReadServerFrameAsync(stream)).Text, Does.StartWith("Welcome"));

        clock.Advance(s_interval * 4);
        await EchoAsync(stream, "after four intervals");
    }

    /// <summary>Moves <paramref name="clock"/> by <paramref name="span"/>, one tick of the keep-alive's timer at a time.</summary>
    private static void AdvanceTickByTick(FakeTimeProvider clock, TimeSpan span)
    {
        for (TimeSpan moved = TimeSpan.Zero; moved < span; moved += s_tick)
        {
            clock.Advance(s_tick);
        }
    }

    /// <summary>Reads frames until a pong; returns the opcodes of the frames before it.</summary>
    private static async Task<List<int>> ReadUntilPongAsync(NetworkStream stream)
    {
        var before = new List<int>();
        (int opcode, _) = await WebSocketTestClient.ReadServerFrameAsync(stream);
        while (opcode != WebSocketFrames.Pong)
        {
            before.Add(opcode);
            (opcode, _) = await WebSocketTestClient.ReadServerFrameAsync(stream);
        }

        return before;
    }

    private static Task<TestServer> StartAsync(FakeTimeProvider clock) =>
        TestServer.StartAsync(
            s =>
            {
                s.Portal.WebSocketKeepAlive = s_interval;
                s.Portal.CommandRateLimit = 0;
            },
            clock: clock);

    /// <summary>Sends <c>echo</c> with <paramref name="text"/> and asserts that the next frame is its reply.</summary>
    private static async Task EchoAsync(NetworkStream stream, string text)
    {
        await stream.WriteAsync(WebSocketTestClient.MaskedFrame(0x81, Encoding.UTF8.GetBytes($"echo {text}")));
        Assert.That(await WebSocketTestClient.ReadServerFrameAsync(stream), Is.EqualTo((1, $"{text}\r\n")), text);
    }
}
