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
            await stream.WriteAsync(MaskedPing(Encoding.ASCII.GetBytes($"ping {i}")));
        }

        // Everything, in order: the welcome, the broadcasts, then the three pongs.
        (int opcode, string welcome) = await ReadFrameAsync(stream);
        Assert.That((opcode, welcome), Is.EqualTo((1, $"Welcome {server.TestModule.Connected.First()}\r\n")));
        string speaker = $"{server.TestModule.Connected.Last()} says: ";
        for (int i = 0; i < Count; i++)
        {
            Assert.That(await ReadFrameAsync(stream), Is.EqualTo((1, $"{speaker}{i} {filler}\r\n")), $"broadcast {i}");
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.That(await ReadFrameAsync(stream), Is.EqualTo((0xA, $"ping {i}")), $"pong {i}");
        }
    }

    private static byte[] MaskedPing(byte[] payload)
    {
        byte[] frame = new byte[6 + payload.Length];
        frame[0] = 0x89; // FIN, ping
        frame[1] = (byte)(0x80 | payload.Length);
        byte[] mask = [1, 2, 3, 4];
        mask.CopyTo(frame, 2);
        for (int i = 0; i < payload.Length; i++)
        {
            frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        }

        return frame;
    }

    /// <summary>Reads one unmasked server frame: its opcode and its payload as text.</summary>
    private static async Task<(int Opcode, string Text)> ReadFrameAsync(NetworkStream stream)
    {
        using var deadline = new CancellationTokenSource(Poll.Deadline);
        byte[] head = new byte[2];
        await stream.ReadExactlyAsync(head, deadline.Token);
        Assert.That(head[0] & 0x80, Is.Not.Zero, "a final frame");
        Assert.That(head[1] & 0x80, Is.Zero, "unmasked");
        long length = head[1] & 0x7F;
        if (length >= 126)
        {
            byte[] extended = new byte[length == 126 ? 2 : 8];
            await stream.ReadExactlyAsync(extended, deadline.Token);
            length = 0;
            foreach (byte b in extended)
            {
                length = (length << 8) | b;
            }
        }

        byte[] payload = new byte[length];
        await stream.ReadExactlyAsync(payload, deadline.Token);
        return (head[0] & 0x0F, Encoding.UTF8.GetString(payload));
    }
}
