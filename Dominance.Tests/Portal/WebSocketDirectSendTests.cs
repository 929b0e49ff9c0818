using System.Net.Sockets;
using System.Text;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>
/// A WebSocket taken over at the connection level is sent on by the portal's sender thread: seen from a raw client
/// that falls far behind, broadcasts arrive whole and in order, and the pongs the framework answers its pings with come
/// after them, never inside a frame.
/// </summary>
public sealed class WebSocketDirectSendTests
{
    [Test]
    public async Task AClientThatFallsBehindGetsEveryBroadcastWholeAndInOrderAndItsPongsAfterThem()
    {
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Portal.SendQueueCapacity = 100_000;
            s.Portal.CommandRateLimit = 0;
        });
        using TcpClient behind = await WebSocketTestClient.ConnectSilentAsync(server.Http);
        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 1, "the raw client connected");
        await using TelnetTestClient active = await server.TelnetAsync();
        await active.Lines.WaitForAsync("Welcome");

        // About 1 MB for a client that reads nothing meanwhile: most of it waits on the server's side of its socket.
        const int Count = 200;
        string filler = new('x', 5000);
        for (int i = 0; i < Count; i++)
        {
            await active.SendAsync($"say {i} {filler}");
        }

        await active.Lines.WaitForAsync($"You say: {Count - 1} ");
        NetworkStream stream = behind.GetStream();
        for (int i = 0; i < 3; i++)
        {
            await stream.WriteAsync(WebSocketTestClient.MaskedFrame(0x89, Encoding.ASCII.GetBytes($"ping {i}")));
        }

        // Everything, in order: the welcome, the broadcasts, then the three pongs.
        (int opcode, string welcome) = await WebSocketTestClient.ReadServerFrameAsync(stream);
        Assert.That((opcode, welcome), Is.EqualTo((1, $"Welcome {server.TestModule.Connected.First()}\r\n")));
        string speaker = $"{server.TestModule.Connected.Last()} says: ";
        for (int i = 0; i < Count; i++)
        {
            Assert.That(await WebSocketTestClient.ReadServerFrameAsync(stream), Is.EqualTo((1, $"{speaker}{i} {filler}\r\n")), $"broadcast {i}");
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.That(await WebSocketTestClient.ReadServerFrameAsync(stream), Is.EqualTo((0xA, $"ping {i}")), $"pong {i}");
        }
    }
}
