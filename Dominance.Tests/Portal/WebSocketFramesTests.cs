using System.Net.WebSockets;
using System.Text;
using Dominance.Portal.WebSockets;

namespace Dominance.Tests.Portal;

/// <summary>
/// The session's own WebSocket frames, read back by the framework's client-side WebSocket: whatever it accepts, a
/// browser accepts. Lengths on each side of the header's size steps (125/126, 65535/65536).
/// </summary>
public sealed class WebSocketFramesTests
{
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(125)]
    [TestCase(126)]
    [TestCase(65_535)]
    [TestCase(65_536)]
    [TestCase(200_000)]
    public async Task AFrameOfAnyLengthReadsBackWhole(int length)
    {
        byte[] payload = [.. Enumerable.Range(0, length).Select(i => (byte)('a' + (i % 26)))];
        var frames = new WebSocketFrames();
        frames.Append(WebSocketFrames.Binary, payload);

        List<(WebSocketMessageType Type, byte[] Bytes)> messages = await ReadBackAsync(frames.Complete(), 1);

        Assert.That(messages, Has.Count.EqualTo(1));
        Assert.That(messages[0].Type, Is.EqualTo(WebSocketMessageType.Binary));
        Assert.That(messages[0].Bytes, Is.EqualTo(payload));
    }

    [Test]
    public async Task QueuedTextIsOneMessageAndOtherMessagesKeepTheirPlace()
    {
        var frames = new WebSocketFrames();
        frames.Append(WebSocketFrames.Text, "one\r\n"u8);
        frames.Append(WebSocketFrames.Text, "two\r\n"u8);
        frames.AppendMessage(WebSocketFrames.Text, "Client.Echo {\"enabled\":false}"u8);
        frames.Append(WebSocketFrames.Binary, "three\r\n"u8);
        frames.Append(WebSocketFrames.Binary, Encoding.UTF8.GetBytes(new string('x', 300)));

        List<(WebSocketMessageType Type, byte[] Bytes)> messages = await ReadBackAsync(frames.Complete(), 3);

        Assert.That(messages.Select(m => (m.Type, Encoding.UTF8.GetString(m.Bytes))), Is.EqualTo(new[]
        {
            (WebSocketMessageType.Text, "one\r\ntwo\r\n"),
            (WebSocketMessageType.Text, "Client.Echo {\"enabled\":false}"),
            (WebSocketMessageType.Binary, "three\r\n" + new string('x', 300)),
        }));
    }

    [Test]
    public async Task AClearedBufferStartsAfresh()
    {
        var frames = new WebSocketFrames();
        frames.Append(WebSocketFrames.Text, Encoding.UTF8.GetBytes(new string('y', 200_000)));
        frames.Complete();
        frames.Clear();
        frames.Append(WebSocketFrames.Text, "after\r\n"u8);

        List<(WebSocketMessageType Type, byte[] Bytes)> messages = await ReadBackAsync(frames.Complete(), 1);

        Assert.That(messages.Select(m => Encoding.UTF8.GetString(m.Bytes)), Is.EqualTo(new[] { "after\r\n" }));
    }

    /// <summary>Reads <paramref name="count"/> messages, then checks that the wire held nothing more.</summary>
    private static async Task<List<(WebSocketMessageType, byte[])>> ReadBackAsync(ReadOnlyMemory<byte> wire, int count)
    {
        using var stream = new MemoryStream(wire.ToArray());
        using WebSocket client = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false });
        var messages = new List<(WebSocketMessageType, byte[])>();
        byte[] buffer = new byte[300_000];
        for (int i = 0; i < count; i++)
        {
            int length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await client.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                length += result.Count;
            }
            while (!result.EndOfMessage);

            messages.Add((result.MessageType, buffer[..length]));
        }

        Assert.That(
            async () => await client.ReceiveAsync(buffer.AsMemory(), CancellationToken.None),
            Throws.InstanceOf<WebSocketException>(),
            "nothing follows the last message (the stream ends there)");
        return messages;
    }
}
