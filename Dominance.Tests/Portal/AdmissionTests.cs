using System.Net.WebSockets;
using Dominance.Tests.Support;

namespace Dominance.Tests.Portal;

/// <summary>Connection limits: total connections, and new connections per IP address.</summary>
public sealed class AdmissionTests
{
    [Test]
    public async Task OverMaxConnectionsANewClientIsToldTheServerIsFullAndClosed()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Portal.MaxConnections = 2);
        await using TelnetTestClient first = await server.TelnetAsync();
        await using TelnetTestClient second = await server.TelnetAsync();
        await first.Lines.WaitForAsync("Welcome");
        await second.Lines.WaitForAsync("Welcome");

        await using TelnetTestClient third = await server.TelnetAsync();
        Assert.That(await third.Lines.NextAsync(), Is.EqualTo("The server is full. Try again later."));
        await third.Lines.ClosedAsync();

        await using WebSocketTestClient web = await server.WebSocketAsync();
        Assert.That(await web.Lines.NextAsync(), Is.EqualTo("The server is full. Try again later."));
        await web.Lines.ClosedAsync();
        Assert.That((int?)web.CloseStatus, Is.EqualTo(1013));

        await first.SendAsync("quit");
        await first.Lines.ClosedAsync();
        await Poll.UntilAsync(() => server.Server.Portal.SessionCount == 1, "the first client's seat was freed");
        await using TelnetTestClient fourth = await server.TelnetAsync();
        await fourth.Lines.WaitForAsync("Welcome");
        await Poll.UntilAsync(() => server.Log.Contains("ServerFull"), "refusals were logged");
    }

    [Test]
    public async Task TooManyConnectionsFromOneAddressAreRefusedUntilTheWindowPasses()
    {
        var clock = new ManualClock();
        await using TestServer server = await TestServer.StartAsync(
            s =>
            {
                s.Portal.ConnectionRateLimit = 3;
                s.Portal.ConnectionRateWindow = TimeSpan.FromSeconds(10);
            },
            clock: clock);
        var clients = new List<TelnetTestClient>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                clients.Add(await server.TelnetAsync());
                await clients[^1].Lines.WaitForAsync("Welcome");
            }

            clients.Add(await server.TelnetAsync());
            Assert.That(await clients[^1].Lines.NextAsync(), Is.EqualTo("Too many connections from your address. Wait a few seconds and try again."));
            await clients[^1].Lines.ClosedAsync();

            clock.Advance(TimeSpan.FromSeconds(10));
            clients.Add(await server.TelnetAsync());
            await clients[^1].Lines.WaitForAsync("Welcome");
            Assert.That(server.Server.Portal.Counters.ConnectionsRefused, Is.EqualTo(1));
        }
        finally
        {
            foreach (TelnetTestClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
