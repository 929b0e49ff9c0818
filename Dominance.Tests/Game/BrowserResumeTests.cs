using Dominance.Portal.WebSockets;
using Dominance.Tests.Support;
using Microsoft.Playwright;

namespace Dominance.Tests.Game;

/// <summary>
/// Session resume in a real headless Chromium against the built-in game: a connection the server kills, or a network
/// that drops in the browser, gives the player the same character back with no <c>connect</c>, and what was said
/// meanwhile shows once; after the grace period the client is told to log in again. No page errors throughout.
/// </summary>
public sealed class BrowserResumeTests : BrowserFixture
{
    [Test]
    public async Task WhenTheServerKillsTheSocketTheClientResumesTheSameCharacter()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await using ClientPage client = await LogInAsync(server);

        foreach (WebSocketSession session in server.Server.Portal.Sessions.OfType<WebSocketSession>())
        {
            session.Abort("the test kills the connection");
        }

        await Poll.UntilAsync(() => server.Log.Contains("(Alice) lost its connection"), "the server parks Alice's session");
        await bob.SendAsync("chat while you were away");
        await ExpectResumedAsync(client, bob);
    }

    [Test]
    public async Task WhenTheBrowserLosesTheNetworkTheClientResumesTheSameCharacter()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await using ClientPage client = await LogInAsync(server);

        await client.Context.SetOfflineAsync(true);
        await Assertions.Expect(client.Page.Locator("#status")).ToHaveAttributeAsync("data-state", "disconnected");
        await Poll.UntilAsync(() => server.Log.Contains("(Alice) lost its connection"), "the server notices and parks Alice's session");
        await bob.SendAsync("chat while you were away");
        await bob.Lines.WaitForAsync("[chat] Bob: while you were away");
        await client.Context.SetOfflineAsync(false);
        await ExpectResumedAsync(client, bob);
    }

    [Test]
    public async Task AfterTheGracePeriodTheClientIsToldToLogInAgain()
    {
        await using TestServer server = await GameServer.StartAsync(s => s.Core.ResumeGrace = TimeSpan.FromMilliseconds(500));
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await using ClientPage client = await LogInAsync(server);

        await client.Context.SetOfflineAsync(true);
        await Poll.UntilAsync(() => server.Log.Contains("(Alice) did not come back within"), "the grace period ends");
        await bob.Lines.WaitForAsync("Alice has left the realm.");
        await client.Context.SetOfflineAsync(false);

        await Assertions.Expect(client.Output).ToContainTextAsync("Your session has ended: you were away longer than 0.5 seconds, or it was closed. Please log in again.");
        await Assertions.Expect(client.Page.Locator("#output .b").Last).ToContainTextAsync("D O M I N A N C E");
        await Assertions.Expect(client.Page.Locator("body")).ToHaveAttributeAsync("data-realm", "overview");
        Assert.That(await client.Page.EvaluateAsync<string?>("sessionStorage.getItem('dominance.resume')"), Is.Null, "the refused token is forgotten");
        client.AssertNoErrors();
    }

    /// <summary>Opens the client and creates Alice in it; returns once the page holds her resume token.</summary>
    private async Task<ClientPage> LogInAsync(TestServer server)
    {
        ClientPage client = await ClientPage.OpenAsync(_browser, server);
        await client.TypeAsync("create Alice secret1");
        await Assertions.Expect(client.Output).ToContainTextAsync("Welcome, Alice.");
        await Assertions.Expect(client.Page.Locator("body")).ToHaveAttributeAsync("data-realm", "live");
        await Poll.UntilAsync(
            async () => await client.Page.EvaluateAsync<string?>("sessionStorage.getItem('dominance.resume')") is { Length: > 0 },
            "the page keeps its resume token");
        return client;
    }

    /// <summary>Checks that the page is back in Alice's session: no login, the chat it missed once, and the map.</summary>
    private static async Task ExpectResumedAsync(ClientPage client, TelnetTestClient bob)
    {
        IPage page = client.Page;
        await Assertions.Expect(client.Output).ToContainTextAsync("[chat] Bob: while you were away");
        await Assertions.Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(page.Locator("#player")).ToContainTextAsync("Alice");
        await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-realm", "live");
        await Assertions.Expect(page.Locator("#map [aria-current=location]")).ToHaveCountAsync(1);

        // A later line marks the end of what the resume delivered; nothing in it came twice.
        await bob.SendAsync("chat marker");
        await Assertions.Expect(client.Output).ToContainTextAsync("[chat] Bob: marker");
        string text = await client.Output.InnerTextAsync();
        Assert.That(Count(text, "[chat] Bob: while you were away"), Is.EqualTo(1), text);
        Assert.That(Count(text, "Welcome, Alice."), Is.EqualTo(1), "no second login");
        Assert.That(Count(text, "D O M I N A N C E"), Is.EqualTo(1), "no second welcome screen");
        Assert.That(text, Does.Not.Contain("Please log in again"));

        await client.TypeAsync("chat I am back");
        Assert.That(await bob.Lines.WaitForAsync("I am back"), Is.EqualTo("[chat] Alice: I am back"));
        Assert.That(bob.Lines.Seen, Has.None.Contains("Alice has left the realm."));
        client.AssertNoErrors();
    }

    private static int Count(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
