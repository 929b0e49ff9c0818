using System.Net.Sockets;
using System.Text;
using Dominance.Portal.WebSockets;
using Dominance.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Dominance.Tests.Portal;

/// <summary>
/// The portal keeps idle WebSocket connections alive with unsolicited pongs (<see cref="WebSocketKeepAlive"/>), and
/// sends none to a connection the game is sending to. Seen from raw clients, with the server's clock moved by hand.
/// </summary>
public sealed class WebSocketKeepAliveTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AnIdleConnectionGetsAPongEachHalfIntervalAndOneBeingSentToGetsNone()
    {
        var clock = new FakeTimeProvider();
        await using TestServer server = await TestServer.StartAsync(
            s =>
            {
                s.Portal.WebSocketKeepAlive = s_interval;
                s.Portal.CommandRateLimit = 0;
            },
            clock: clock);
        using TcpClient idle = await WebSocketTestClient.ConnectSilentAsync(server.Http);
        using TcpClient busy = await WebSocketTestClient.ConnectSilentAsync(server.Http);
        NetworkStream idleStream = idle.GetStream();
        NetworkStream busyStream = busy.GetStream();
        Assert.That((await WebSocketTestClient.ReadServerFrameAsync(idleStream)).Text, Does.StartWith("Welcome"));
        Assert.That((await WebSocketTestClient.ReadServerFrameAsync(busyStream)).Text, Does.StartWith("Welcome"));

        // Two intervals, a tick at a time (the timer fires inside Advance). Each step, the busy connection is sent a
        // reply; its frames are read in order, so a pong sent to it would come before the next reply.
        TimeSpan tick = s_interval / (2 * WebSocketKeepAlive.Slices);
        for (int i = 0; i < 4 * WebSocketKeepAlive.Slices; i++)
        {
            await EchoAsync(busyStream, $"busy {i}");
            clock.Advance(tick);
        }

        await EchoAsync(busyStream, "busy at the end");

        // The idle connection was checked four times: the first check saw its welcome, the other three found nothing
        // sent and sent a pong. Nothing else was sent to it: its next frame is the reply to its own input.
        for (int i = 0; i < 3; i++)
        {
            Assert.That(await WebSocketTestClient.ReadServerFrameAsync(idleStream), Is.EqualTo((0xA, "")), $"pong {i}");
        }

        await EchoAsync(idleStream, "idle at the end");
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

    /// <summary>Sends <c>echo</c> with <paramref name="text"/> and asserts that the next frame is its reply.</summary>
    private static async Task EchoAsync(NetworkStream stream, string text)
    {
        await stream.WriteAsync(WebSocketTestClient.MaskedFrame(0x81, Encoding.UTF8.GetBytes($"echo {text}")));
        Assert.That(await WebSocketTestClient.ReadServerFrameAsync(stream), Is.EqualTo((1, $"{text}\r\n")), text);
    }
}
