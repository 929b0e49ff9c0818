using Dominance.Tests.Support;
using Microsoft.Playwright;

namespace Dominance.Tests.Game;

/// <summary>The browser client in a real headless Chromium, against the built-in game.</summary>
public sealed class BrowserClientTests
{
    [OneTimeSetUp]
    public void PatientAssertions() => Assertions.SetDefaultExpectTimeout(15_000);

    [Test]
    public async Task APlayerLogsInChatsWithTelnetAndSeesTheMapChangeAfterABattle()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using Browser browser = await Browser.LaunchAsync();
        IPage page = await browser.Instance.NewPageAsync();
        await page.GotoAsync($"http://{server.Http}/");
        await Assertions.Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(page.Locator("#output")).ToContainTextAsync("for everything else.");

        await Type(page, "create Alice secret1");
        await Assertions.Expect(page.Locator("#output")).ToContainTextAsync("Welcome, Alice. You are an admin.");
        await Assertions.Expect(page.Locator("#player")).ToContainTextAsync("Alice · 100 resources");
        await Assertions.Expect(page.Locator("[data-territory=Goldcrest]")).ToHaveAttributeAsync("data-owner", "Alice");
        await Assertions.Expect(page.Locator("#output .c33").First).ToBeVisibleAsync(); // ANSI yellow rendered as a span

        await using TelnetTestClient bob = await server.CreateAsync("Bob", "hunter22");
        await Assertions.Expect(page.Locator("#output")).ToContainTextAsync("Bob has entered the realm.");
        await Type(page, "chat hello from the browser");
        Assert.That(await bob.Lines.WaitForAsync("[chat]"), Is.EqualTo("[chat] Alice: hello from the browser"));
        await bob.SendAsync("chat hello from telnet");
        await Assertions.Expect(page.Locator("#output")).ToContainTextAsync("[chat] Bob: hello from telnet");
        await Assertions.Expect(page.Locator("[data-territory=Thornwood]")).ToHaveAttributeAsync("data-owner", "Bob");

        await Type(page, "train 10");
        await Type(page, "attack Ravenspire 15");
        await Assertions.Expect(page.Locator("#output")).ToContainTextAsync("The battle is fought at the next tick.");
        await Assertions.Expect(page.Locator("[data-territory=Ravenspire]")).ToHaveAttributeAsync("data-owner", "");
        await Type(page, "tick");
        await Assertions.Expect(page.Locator("#output")).ToContainTextAsync("Victory! You have taken Ravenspire");
        await Assertions.Expect(page.Locator("[data-territory=Ravenspire]")).ToHaveAttributeAsync("data-owner", "Alice");
        await Assertions.Expect(page.Locator("#legend")).ToContainTextAsync("Alice: 2");
        Assert.That(await bob.Lines.WaitForAsync("[war]"), Is.EqualTo("[war] Alice has conquered Ravenspire."));

        // The input line keeps a history: up arrow brings back the last command.
        await page.Locator("#input").PressAsync("ArrowUp");
        await Assertions.Expect(page.Locator("#input")).ToHaveValueAsync("tick");
        await page.Locator("#input").PressAsync("ArrowUp");
        await Assertions.Expect(page.Locator("#input")).ToHaveValueAsync("attack Ravenspire 15");
        await page.Locator("#input").PressAsync("ArrowDown");
        await page.Locator("#input").PressAsync("ArrowDown");
        await Assertions.Expect(page.Locator("#input")).ToHaveValueAsync("");
    }

    [Test]
    public async Task PasswordsAreMaskedAndASupersededPageReconnectsByItself()
    {
        await using TestServer server = await GameServer.StartAsync();
        await (await server.CreateAsync("Alice")).DisposeAsync();
        await using Browser browser = await Browser.LaunchAsync();

        IPage first = await browser.Instance.NewPageAsync();
        await first.GotoAsync($"http://{server.Http}/");
        await Assertions.Expect(first.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Type(first, "connect Alice secret1");
        await Assertions.Expect(first.Locator("#output")).ToContainTextAsync("Welcome, Alice.");

        IPage second = await browser.Instance.NewPageAsync();
        await second.GotoAsync($"http://{server.Http}/");
        await Assertions.Expect(second.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Type(second, "connect Alice");
        await Assertions.Expect(second.Locator("#input")).ToHaveAttributeAsync("type", "password");
        await Type(second, "secret1");
        await Assertions.Expect(second.Locator("#output")).ToContainTextAsync("> ********");
        await Assertions.Expect(second.Locator("#output")).Not.ToContainTextAsync("secret1\n");
        await Assertions.Expect(second.Locator("#input")).ToHaveAttributeAsync("type", "text");
        await Assertions.Expect(second.Locator("#output")).ToContainTextAsync("Welcome, Alice.");

        // The first page was taken over: it says why, shows the connection drop, and reconnects on its own.
        await Assertions.Expect(first.Locator("#output")).ToContainTextAsync("connected from another session");
        await Assertions.Expect(first.Locator("#output")).ToContainTextAsync("Connection lost. Reconnecting");
        await Assertions.Expect(first.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(first.Locator("#output .b").Last).ToContainTextAsync("D O M I N A N C E");
    }

    private static async Task Type(IPage page, string line)
    {
        await page.Locator("#input").FillAsync(line);
        await page.Locator("#input").PressAsync("Enter");
    }
}
