using System.Net.WebSockets;
using System.Text;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>
/// A WebSocket client with the GMCP subprotocol reports its window size and terminal type (<c>Client.Size</c>,
/// <c>Client.Terminal</c>) as a telnet client does with NAWS and TTYPE: the portal keeps them in the session's info.
/// </summary>
public sealed class WebSocketClientReportTests
{
    [Test]
    public async Task WindowSizeAndTerminalTypeReachTheSessionInfoAndNotTheGame()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient client = await server.WebSocketAsync(gmcp: true);
        await client.Lines.WaitForAsync("Welcome");

        // Reports travel to the core through the same ordered pipe as input, so an input sent after them sees them.
        await SendGmcpAsync(client, "Client.Size {\"width\":132,\"height\":43}");
        await SendGmcpAsync(client, "client.terminal {\"type\":\"XTERM-TRUECOLOR\"}"); // GMCP package names ignore case
        await client.SendAsync("info");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("info protocol=WebSocket width=132 height=43 terminal=XTERM-TRUECOLOR oob=True"));

        // A resize replaces the size; the terminal type stays.
        await SendGmcpAsync(client, "Client.Size {\"width\":90,\"height\":20}");
        await client.SendAsync("info");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("info protocol=WebSocket width=90 height=20 terminal=XTERM-TRUECOLOR oob=True"));

        // Other packages still go to the game; the reports above never did (the game answers every data message).
        await SendGmcpAsync(client, "Test.Hello {\"client\":\"web\"}");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("got data Test.Hello {\"client\":\"web\"}"));
        Assert.That(client.Lines.Seen.Where(line => line.StartsWith("got data", StringComparison.Ordinal)), Has.Exactly(1).Items);
    }

    [TestCase("Client.Size {\"width\":-1,\"height\":40}", "Client.Size needs")]
    [TestCase("Client.Size {\"width\":70000,\"height\":40}", "Client.Size needs")]
    [TestCase("Client.Size {\"width\":80}", "Client.Size needs")]
    [TestCase("Client.Size {\"width\":\"80\",\"height\":24}", "Client.Size needs")]
    [TestCase("Client.Size {broken", "Client.Size needs")]
    [TestCase("Client.Size", "Client.Size needs")]
    [TestCase("Client.Terminal {\"type\":\"\"}", "Client.Terminal needs")]
    [TestCase("Client.Terminal {\"type\":\"A\\u001bB\"}", "Client.Terminal needs")]
    [TestCase("Client.Terminal [\"XTERM\"]", "Client.Terminal needs")]
    public async Task AMalformedReportGetsAClearAnswerAndChangesNothing(string message, string answer)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient client = await server.WebSocketAsync(gmcp: true);
        await client.Lines.WaitForAsync("Welcome");
        await SendGmcpAsync(client, "Client.Size {\"width\":100,\"height\":30}");

        await SendGmcpAsync(client, message);
        Assert.That(await client.Lines.NextAsync(), Does.StartWith(answer));
        await client.SendAsync("info");
        Assert.That(await client.Lines.NextAsync(), Is.EqualTo("info protocol=WebSocket width=100 height=30 terminal= oob=True"));
        Assert.That(server.Log.Contains("malformed Client."), Is.True);
    }

    [Test]
    public async Task ATerminalTypeLongerThanTelnetKeepsIsRefused()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using WebSocketTestClient client = await server.WebSocketAsync(gmcp: true);
        await client.Lines.WaitForAsync("Welcome");

        await SendGmcpAsync(client, $"Client.Terminal {{\"type\":\"{new string('X', 65)}\"}}");
        Assert.That(await client.Lines.NextAsync(), Does.StartWith("Client.Terminal needs"));
        await SendGmcpAsync(client, $"Client.Terminal {{\"type\":\"{new string('X', 64)}\"}}");
        await client.SendAsync("info");
        Assert.That(await client.Lines.NextAsync(), Does.Contain($"terminal={new string('X', 64)} "));
    }

    private static Task SendGmcpAsync(WebSocketTestClient client, string message) =>
        client.SendFrameAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text);
}
