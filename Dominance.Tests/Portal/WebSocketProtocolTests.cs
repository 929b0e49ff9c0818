using System.Net.WebSockets;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>The WebSocket close handshake over a real socket, started by either side.</summary>
public sealed class WebSocketProtocolTests
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task AClientThatClosesGetsTheServersCloseFrame(bool gmcp)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient client = await server.WebSocketAsync(gmcp);
        await client.Lines.WaitForAsync("Welcome");

        await client.CloseAsync();

        await client.Lines.ClosedAsync();
        Assert.That(client.ReadError, Is.Null, "the server completed the close handshake instead of dropping the connection");
        Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
        await Poll.UntilAsync(() => server.TestModule.Disconnected.Count == 1, "the game saw the session end");
    }

    [Test]
    public async Task AServerThatClosesGetsTheClientsCloseFrame()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient client = await server.WebSocketAsync();
        await client.Lines.WaitForAsync("Welcome");

        await client.SendAsync("quit");

        await client.Lines.ClosedAsync();
        Assert.That(client.ReadError, Is.Null);
        Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
        await Poll.UntilAsync(() => server.TestModule.Disconnected.Count == 1, "the game saw the session end");
        Assert.That(server.Log.Text, Does.Not.Contain("aborted"), "closed, not aborted");
    }
}
