using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dominance.Api;
using Dominance.Tests.Support;
using Microsoft.Playwright;

namespace Dominance.Tests.Game;

/// <summary>
/// The browser client in a real headless Chromium (one browser for the fixture, a fresh context per page), against the
/// built-in game or the test module. Every test also asserts that the page logged no error.
/// </summary>
public sealed partial class BrowserClientTests : BrowserFixture
{
    [Test]
    public async Task APlayerLogsInChatsWithTelnetAndSeesTheMapChangeAfterABattle()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        IPage page = client.Page;
        await Assertions.Expect(client.Output).ToContainTextAsync("for everything else.");

        await client.TypeAsync("create Alice secret1");
        await Assertions.Expect(client.Output).ToContainTextAsync("Welcome, Alice. You are an admin.");
        await Assertions.Expect(page.Locator("#player")).ToContainTextAsync("Alice · 100 resources");
        await Assertions.Expect(page.Locator("#map [data-territory=Goldcrest]")).ToHaveAttributeAsync("data-owner", "Alice");
        await Assertions.Expect(page.Locator("#output button.link[data-territory=Goldcrest]").First).ToBeVisibleAsync(); // yellow: a territory
        await Assertions.Expect(client.Output).Not.ToContainTextAsync("[0m");

        await using TelnetTestClient bob = await server.CreateAsync("Bob", "hunter22");
        await Assertions.Expect(client.Output).ToContainTextAsync("Bob has entered the realm.");
        await client.TypeAsync("chat hello from the browser");
        Assert.That(await bob.Lines.WaitForAsync("[chat]"), Is.EqualTo("[chat] Alice: hello from the browser"));
        await bob.SendAsync("chat hello from telnet");
        await Assertions.Expect(client.Output).ToContainTextAsync("[chat] Bob: hello from telnet");
        await Assertions.Expect(page.Locator("#map [data-territory=Thornwood]")).ToHaveAttributeAsync("data-owner", "Bob");

        await client.TypeAsync("train 10");
        await client.TypeAsync("attack Ravenspire 15");
        await Assertions.Expect(client.Output).ToContainTextAsync("The battle is fought at the next tick.");
        await Assertions.Expect(page.Locator("#map [data-territory=Ravenspire]")).ToHaveAttributeAsync("data-owner", "");
        await client.TypeAsync("tick");
        await Assertions.Expect(client.Output).ToContainTextAsync("Victory! You have taken Ravenspire");
        await Assertions.Expect(page.Locator("#map [data-territory=Ravenspire]")).ToHaveAttributeAsync("data-owner", "Alice");
        await Assertions.Expect(page.Locator("#holdings")).ToContainTextAsync("Alice: 2");
        Assert.That(await bob.Lines.WaitForAsync("[war]"), Is.EqualTo("[war] Alice has conquered Ravenspire."));

        // The input line keeps a history: up arrow brings back the last command, and a reload keeps it, but never a
        // password.
        Assert.That(await page.EvaluateAsync<string>("localStorage.getItem('dominance.history')"), Does.Contain("tick").And.Not.Contain("secret1"));
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await client.Input.PressAsync("ArrowUp");
        await Assertions.Expect(client.Input).ToHaveValueAsync("tick");
        await client.Input.PressAsync("ArrowUp");
        await Assertions.Expect(client.Input).ToHaveValueAsync("attack Ravenspire 15");
        await client.Input.PressAsync("ArrowDown");
        await client.Input.PressAsync("ArrowDown");
        await Assertions.Expect(client.Input).ToHaveValueAsync("");
        client.AssertNoErrors();
    }

    [Test]
    public async Task PasswordsAreMaskedAndASupersededPageReconnectsByItself()
    {
        await using TestServer server = await GameServer.StartAsync();
        await (await server.CreateAsync("Alice")).DisposeAsync();

        await using ClientPage first = await ClientPage.OpenAsync(_browser, server);
        await first.TypeAsync("connect Alice secret1");
        await Assertions.Expect(first.Output).ToContainTextAsync("Welcome, Alice.");

        await using ClientPage second = await ClientPage.OpenAsync(_browser, server);
        await second.TypeAsync("connect Alice");
        await Assertions.Expect(second.Input).ToHaveAttributeAsync("type", "password");
        await second.TypeAsync("secret1");
        await Assertions.Expect(second.Output).ToContainTextAsync("> ********");
        await Assertions.Expect(second.Output).Not.ToContainTextAsync("secret1\n");
        await Assertions.Expect(second.Input).ToHaveAttributeAsync("type", "text");
        await Assertions.Expect(second.Output).ToContainTextAsync("Welcome, Alice.");
        Assert.That(await second.Page.EvaluateAsync<string>("localStorage.getItem('dominance.history')"), Does.Not.Contain("secret1"));

        // The first page was taken over: it says why, shows the connection drop, and reconnects on its own.
        await Assertions.Expect(first.Output).ToContainTextAsync("connected from another session");
        await Assertions.Expect(first.Output).ToContainTextAsync("Connection lost. Reconnecting");
        await Assertions.Expect(first.Page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(first.Page.Locator("#output .b").Last).ToContainTextAsync("D O M I N A N C E");
        first.AssertNoErrors();
        second.AssertNoErrors();
    }

    [Test]
    public async Task OnPlainWebSocketThePasswordIsMaskedToo()
    {
        await using TestServer server = await GameServer.StartAsync();
        await (await server.CreateAsync("Alice")).DisposeAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server, plainWebSocket: true);
        Assert.That(server.Server.Portal.Sessions.Select(s => (s.Info.Protocol, s.Info.SupportsOutOfBand)),
            Is.EqualTo(new[] { (ClientProtocol.WebSocket, false) }), "the page's one session is plain WebSocket, without GMCP");

        await client.TypeAsync("connect Alice");
        await Assertions.Expect(client.Input).ToHaveAttributeAsync("type", "password");
        await client.TypeAsync("secret1");
        await Assertions.Expect(client.Output).ToContainTextAsync("Welcome, Alice.");
        await Assertions.Expect(client.Input).ToHaveAttributeAsync("type", "text");
        await Assertions.Expect(client.Output).Not.ToContainTextAsync("secret1");
        await Assertions.Expect(client.Output).Not.ToContainTextAsync("echo;");
        client.AssertNoErrors();
    }

    [TestCase(false, TestName = "TheMapIsUsableAndTheInputStaysOnScreenAtDesktopSize")]
    [TestCase(true, TestName = "TheMapIsUsableAndTheInputStaysOnScreenAtPhoneSize")]
    public async Task TheMapIsUsableAndTheInputStaysOnScreen(bool phone)
    {
        await using TestServer server = await GameServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server, phone: phone);
        IPage page = client.Page;
        PageViewportSizeResult viewport = page.ViewportSize!;
        await client.TypeAsync("create Alice secret1");
        await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-realm", "live");
        await Assertions.Expect(page.Locator("#player")).ToHaveTextAsync("Alice · 100 resources");
        await Assertions.Expect(page.Locator("#player")).ToBeInViewportAsync(new() { Ratio = 1 });
        Assert.That(await page.Locator("#player").EvaluateAsync<bool>("e => e.scrollWidth <= e.clientWidth"), Is.True, "the player's name and resources are not cut off");

        ILocator tiles = page.Locator("#map [data-territory]");
        if (phone)
        {
            // The text fills the screen; the map is one tap away, and the input line stays under both.
            await Assertions.Expect(tiles.First).Not.ToBeVisibleAsync();
            await page.Locator("#views button[data-view=map]").TapAsync();
        }

        await Assertions.Expect(tiles).ToHaveCountAsync(16);
        foreach (ILocator tile in await tiles.AllAsync())
        {
            await Assertions.Expect(tile).ToBeInViewportAsync(new() { Ratio = 1 });
        }

        await Assertions.Expect(client.Input).ToBeInViewportAsync(new() { Ratio = 1 });
        ILocator highkeep = page.Locator("#map [data-territory=Highkeep]");
        await (phone ? highkeep.TapAsync() : highkeep.ClickAsync());
        await Assertions.Expect(page.Locator("#details h3")).ToHaveTextAsync("Highkeep");
        await Assertions.Expect(page.Locator("#details")).ToContainTextAsync("Yields 9 resources a tick.");
        if (phone)
        {
            await page.Locator("#views button[data-view=text]").TapAsync();
        }

        // Fifty lines and more of output: the page does not grow, only the text scrolls, and the input stays on screen.
        for (int i = 1; i <= 50; i++)
        {
            await client.TypeAsync($"say line {i}");
        }

        await Assertions.Expect(client.Output).ToContainTextAsync("You say: line 50");
        Assert.That(await page.EvaluateAsync<int>("document.documentElement.scrollHeight"), Is.LessThanOrEqualTo(viewport.Height));
        await Assertions.Expect(client.Input).ToBeInViewportAsync(new() { Ratio = 1 });
        await Assertions.Expect(page.Locator("#output span", new() { HasTextString = "You say: line 50" })).ToBeInViewportAsync();
        LocatorBoundingBoxResult box = (await client.Input.BoundingBoxAsync())!;
        Assert.That(box.Y + box.Height, Is.LessThanOrEqualTo(viewport.Height));
        client.AssertNoErrors();
    }

    [Test]
    public async Task EachTerritorysMapColourIsTheTextMapsColourForItsOwner()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        await client.TypeAsync("create Alice secret1");
        // Territories go to players in the order they come in: Alice must be in (on her map) before Bob is created.
        await Assertions.Expect(client.Page.Locator("#map [data-kind=yours]")).ToHaveCountAsync(1);
        await using TelnetTestClient bob = await server.CreateAsync("Bob", "hunter22");
        await using TelnetTestClient carol = await server.CreateAsync("Carol", "hunter22");
        await Assertions.Expect(client.Page.Locator("#map [data-kind=others]")).ToHaveCountAsync(2);

        await client.TypeAsync("map");
        await Assertions.Expect(client.Output).ToContainTextAsync("The realm at tick 0.");
        // The text map's cells ("*Goldcrest     5") each in their owner's colour, and the map's tiles.
        var colours = await client.Page.EvaluateAsync<Dictionary<string, string[]>>("""
            () => {
              const cells = [...document.querySelectorAll('#output span')].filter(s => /^[ *][A-Za-z]+ +\d+$/.test(s.textContent)).slice(-16);
              return Object.fromEntries(cells.map(cell => {
                const name = cell.textContent.slice(1).trim().split(/ +/)[0];
                const tile = document.querySelector(`#map [data-territory="${name}"]`);
                return [name, [getComputedStyle(cell).color, getComputedStyle(tile).backgroundColor, tile.dataset.kind]];
              }));
            }
            """);
        Assert.That(colours, Has.Count.EqualTo(16));
        foreach ((string name, string[] found) in colours)
        {
            Assert.That(found[1], Is.EqualTo(found[0]), $"{name} ({found[2]}): map colour against text map colour");
        }

        Assert.That(colours["Goldcrest"][2], Is.EqualTo("yours"));
        Assert.That(colours["Thornwood"][2], Is.EqualTo("others"));
        Assert.That(colours.Values.Count(c => c[2] == "neutral"), Is.EqualTo(13));
        Assert.That(colours.Values.Select(c => c[0]).Distinct().Count(), Is.EqualTo(3), "yours, others' and neutral each have a colour");

        // The legend names the same three colours.
        foreach (string kind in new[] { "yours", "others", "neutral" })
        {
            string swatch = await client.Page.Locator($"#legend i[data-kind={kind}]").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
            Assert.That(swatch, Is.EqualTo(colours.Values.First(c => c[2] == kind)[1]), kind);
        }

        client.AssertNoErrors();
    }

    [Test]
    public async Task TwoHundredFiftySixColoursTrueColourUnderlineAndReverseVideoAreRendered()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        await Assertions.Expect(client.Output).ToContainTextAsync("Welcome");
        await client.TypeAsync("ansi");
        await Assertions.Expect(client.Output).ToContainTextAsync("red256 bg256 true truebg under reverse greendefault end");
        await Assertions.Expect(client.Output).Not.ToContainTextAsync("[38;5;");
        await Assertions.Expect(client.Output).Not.ToContainTextAsync("[0m");

        Assert.That(await Style(client, "red256", "color"), Is.EqualTo("rgb(255, 0, 0)"));
        Assert.That(await Style(client, "bg256", "backgroundColor"), Is.EqualTo("rgb(0, 0, 255)"));
        Assert.That(await Style(client, "true", "color"), Is.EqualTo("rgb(255, 128, 0)"));
        Assert.That(await Style(client, "truebg", "backgroundColor"), Is.EqualTo("rgb(0, 64, 0)"));
        Assert.That(await Style(client, "under", "textDecorationLine"), Is.EqualTo("underline"));
        string text = await client.Output.EvaluateAsync<string>("e => getComputedStyle(e).color");
        string background = await client.Page.Locator("body").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
        Assert.That(await Style(client, "reverse", "color"), Is.EqualTo(background), "reverse video: the background colour on the text colour");
        Assert.That(await Style(client, "reverse", "backgroundColor"), Is.EqualTo(text));
        Assert.That(await Style(client, "green", "color"), Is.EqualTo("rgb(152, 195, 121)"));
        Assert.That(await Style(client, "default", "color"), Is.EqualTo(text), "39 resets the foreground");
        Assert.That(await Style(client, "default", "fontWeight"), Is.EqualTo("700"), "but not bold");
        Assert.That(await Style(client, " end", "fontWeight"), Is.EqualTo("400"), "0 resets everything");

        // Colours can be turned off in the settings, and the choice is kept.
        await client.Page.Locator("#settings-open").ClickAsync();
        await client.Page.Locator("#colours").UncheckAsync();
        await client.Page.Keyboard.PressAsync("Escape");
        Assert.That(await Style(client, "red256", "color"), Is.EqualTo(text));
        await client.Page.ReloadAsync();
        await Assertions.Expect(client.Page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected"); // a line typed before is refused: "Not connected."
        await client.TypeAsync("ansi");
        await Assertions.Expect(client.Output).ToContainTextAsync("red256");
        Assert.That(await Style(client, "red256", "color"), Is.EqualTo(text));
        client.AssertNoErrors();
    }

    [Test]
    public async Task AColourLeftOnByOneConnectionDoesNotColourTheNext()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        await Assertions.Expect(client.Output).ToContainTextAsync("Welcome");
        await client.TypeAsync("echo \u001b[31mred, and never reset");
        await Assertions.Expect(client.Output).ToContainTextAsync("red, and never reset");
        await client.TypeAsync("quit");
        await Assertions.Expect(client.Output).ToContainTextAsync("Connection lost. Reconnecting");
        await Assertions.Expect(client.Page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(client.Page.Locator("#output span", new() { HasTextRegex = new Regex("^Welcome") })).ToHaveCountAsync(2);

        string text = await client.Output.EvaluateAsync<string>("e => getComputedStyle(e).color");
        string welcome = await client.Page.Locator("#output span", new() { HasTextRegex = new Regex("^Welcome") }).Last.EvaluateAsync<string>("e => getComputedStyle(e).color");
        Assert.That(welcome, Is.EqualTo(text));
        client.AssertNoErrors();
    }

    [Test]
    public async Task TheClientReportsItsColumnsRowsAndColourDepthLikeNaws()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        await Assertions.Expect(client.Output).ToContainTextAsync("Welcome");

        (int desktopWidth, int desktopHeight, string terminal) = await InfoAsync(client);
        Assert.That(terminal, Is.EqualTo("XTERM-TRUECOLOR"));
        int expected = await client.Page.EvaluateAsync<int>("""
            () => {
              const output = document.getElementById('output');
              const probe = document.createElement('span');
              probe.textContent = '0'.repeat(100);
              output.appendChild(probe);
              const cell = probe.getBoundingClientRect().width / 100;
              probe.remove();
              const style = getComputedStyle(output);
              return Math.floor((output.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)) / cell);
            }
            """);
        Assert.That(desktopWidth, Is.EqualTo(expected), "columns of the output's font that fit its width");
        Assert.That(desktopHeight, Is.GreaterThan(20));

        // A narrower window, and a larger font, are reported again, as a NAWS client reports a resize.
        await client.Page.SetViewportSizeAsync(ClientPage.Phone.Width, ClientPage.Phone.Height);
        await Poll.UntilAsync(async () => (await InfoAsync(client)).Width < desktopWidth / 2, "the phone width was reported");
        int phoneWidth = (await InfoAsync(client)).Width;
        await client.Page.Locator("#settings-open").ClickAsync();
        await client.Page.Locator("#font-size").SelectOptionAsync("20");
        await client.Page.Keyboard.PressAsync("Escape");
        await Poll.UntilAsync(async () => (await InfoAsync(client)).Width < phoneWidth, "the larger font's width was reported");
        client.AssertNoErrors();
    }

    [Test]
    public async Task TheMapCanBeUsedWithTheKeyboardAlone()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        IPage page = client.Page;
        await page.Keyboard.TypeAsync("create Alice secret1"); // the input line has the focus from the start
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-realm", "live");

        // The map is one tab stop, on the player's own territory.
        for (int i = 0; i < 40 && await FocusedAsync(page, "dataset.territory") is null; i++)
        {
            await page.Keyboard.PressAsync("Shift+Tab");
        }

        Assert.That(await FocusedAsync(page, "dataset.territory"), Is.EqualTo("Goldcrest"));
        await Assertions.Expect(page.Locator("#details h3")).ToHaveTextAsync("Goldcrest");

        // The arrow keys reach every territory, and the details follow the focus.
        var visited = new HashSet<string>();
        foreach (string key in new[] { "ArrowUp", "ArrowLeft", "ArrowLeft", "ArrowLeft" })
        {
            await page.Keyboard.PressAsync(key);
        }

        Assert.That(await FocusedAsync(page, "dataset.territory"), Is.EqualTo("Frostpeak"));
        for (int row = 0; row < 4; row++)
        {
            for (int step = 0; step < 4; step++)
            {
                string name = (await FocusedAsync(page, "dataset.territory"))!;
                visited.Add(name);
                await Assertions.Expect(page.Locator("#details h3")).ToHaveTextAsync(name);
                if (step < 3)
                {
                    await page.Keyboard.PressAsync(row % 2 == 0 ? "ArrowRight" : "ArrowLeft");
                }
            }

            await page.Keyboard.PressAsync("ArrowDown");
        }

        Assert.That(visited, Has.Count.EqualTo(16));
        await Assertions.Expect(page.Locator("#map [tabindex='0']")).ToHaveCountAsync(1);

        // From Duskfen (the last row ends there) to Sunreach, Goldcrest's southern neighbour; Tab leaves the map for
        // the details.
        Assert.That(await FocusedAsync(page, "dataset.territory"), Is.EqualTo("Duskfen"));
        foreach (string key in new[] { "ArrowRight", "ArrowRight", "ArrowRight", "ArrowUp" })
        {
            await page.Keyboard.PressAsync(key);
        }

        Assert.That(await FocusedAsync(page, "dataset.territory"), Is.EqualTo("Sunreach"));
        await Assertions.Expect(page.Locator("#details")).ToContainTextAsync("Neutral: nobody holds it.");
        for (int i = 0; i < 10 && await FocusedAsync(page, "textContent") != "Go to Sunreach"; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            Assert.That(await page.EvaluateAsync<bool>("document.getElementById('details').contains(document.activeElement)"), Is.True);
        }

        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(client.Output).ToContainTextAsync("> go Sunreach");
        await Assertions.Expect(page.Locator("#map [aria-current=location]")).ToHaveAttributeAsync("data-territory", "Sunreach");
        client.AssertNoErrors();
    }

    [Test]
    public async Task CommandsAndExitsInTheTextCanBeClicked()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        IPage page = client.Page;

        // "connect guest" is a whole command: a click sends it. "create <name> <password>" is filled in to finish.
        await page.Locator("#output button.link", new() { HasTextString = "create <name> <password>" }).ClickAsync();
        await Assertions.Expect(client.Input).ToHaveValueAsync("create ");
        await Assertions.Expect(client.Input).ToBeFocusedAsync();
        await page.Locator("#output button.link", new() { HasTextString = "connect guest" }).ClickAsync();
        await Assertions.Expect(client.Output).ToContainTextAsync("> connect guest");
        await Assertions.Expect(client.Output).ToContainTextAsync("Exits:");

        // An exit's direction walks there; a territory's name shows it on the map.
        string exit = await page.Locator("#output button.link[data-command]").Filter(new() { HasTextRegex = DirectionPattern() }).Last.InnerTextAsync();
        string here = (await page.Locator("#map [aria-current=location]").GetAttributeAsync("data-territory"))!;
        await page.Locator("#output button.link[data-command]").Filter(new() { HasTextRegex = DirectionPattern() }).Last.ClickAsync();
        await Assertions.Expect(client.Output).ToContainTextAsync($"> {exit}");
        await Assertions.Expect(page.Locator("#map [aria-current=location]")).Not.ToHaveAttributeAsync("data-territory", here);
        await page.Locator($"#output button.link[data-territory={here}]").Last.ClickAsync();
        await Assertions.Expect(page.Locator("#details h3")).ToHaveTextAsync(here);
        await Assertions.Expect(page.Locator($"#map [data-territory={here}]")).ToBeFocusedAsync();
        client.AssertNoErrors();
    }

    [Test]
    public async Task AfterTheServerDropsTheConnectionTheClientReconnectsWithNothingStale()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient root = await server.CreateAsync("Root"); // the first account: an admin
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        IPage page = client.Page;

        // Before login the map is an overview of the land: no owners, nobody here.
        await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-realm", "overview");
        await Assertions.Expect(page.Locator("#map [data-kind=unknown]")).ToHaveCountAsync(16);
        await Assertions.Expect(page.Locator("#realm-note")).ToHaveTextAsync("Log in to see who holds what, and where you are.");

        await client.TypeAsync("create Alice secret1");
        await Assertions.Expect(page.Locator("#map [aria-current=location]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#map [data-kind=yours]")).ToHaveCountAsync(1);
        string home = (await page.Locator("#map [data-kind=yours]").GetAttributeAsync("data-territory"))!;
        await page.Locator("#map [data-territory=Highkeep]").ClickAsync();
        await Assertions.Expect(page.Locator("#details h3")).ToHaveTextAsync("Highkeep");

        // What the page shows at the moment the connection drops, recorded by the page itself.
        await page.EvaluateAsync("""
            () => new MutationObserver(() => {
              if (document.getElementById('status').dataset.state === 'disconnected' && !window.atDrop) {
                window.atDrop = {
                  realm: document.body.dataset.realm,
                  tiles: document.querySelectorAll('#map [data-territory]').length,
                  here: document.querySelectorAll('#map [aria-current]').length,
                  details: document.getElementById('details').textContent,
                  player: document.getElementById('player').textContent,
                };
              }
            }).observe(document.getElementById('status'), { attributes: true })
            """);
        await root.SendAsync("kick Alice");
        await Assertions.Expect(client.Output).ToContainTextAsync("You have been kicked by Root.");
        await Assertions.Expect(client.Output).ToContainTextAsync("Connection lost. Reconnecting");
        JsonElement atDrop = await page.EvaluateAsync<JsonElement>("window.atDrop");
        Assert.That(atDrop.GetProperty("realm").GetString(), Is.EqualTo("offline"));
        Assert.That(atDrop.GetProperty("tiles").GetInt32(), Is.Zero, "no stale territories");
        Assert.That(atDrop.GetProperty("here").GetInt32(), Is.Zero, "no stale location");
        Assert.That(atDrop.GetProperty("details").GetString(), Is.Empty);
        Assert.That(atDrop.GetProperty("player").GetString(), Is.Empty);

        // Back, and logged out: the overview again, with the world as it is now.
        await Assertions.Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-realm", "overview");
        await Assertions.Expect(page.Locator("#map [data-kind=unknown]")).ToHaveCountAsync(16);
        await Assertions.Expect(page.Locator("#map [aria-current]")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#player")).ToHaveTextAsync("");

        await client.TypeAsync("connect Alice secret1");
        await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-realm", "live");
        await Assertions.Expect(page.Locator("#map [aria-current=location]")).ToHaveAttributeAsync("data-territory", home);
        await Assertions.Expect(page.Locator($"#map [data-territory={home}]")).ToHaveAttributeAsync("data-kind", "yours");
        client.AssertNoErrors();
    }

    /// <summary>
    /// Plays a short scene and photographs it for the README (<c>docs/screenshots</c>, committed), at desktop and phone
    /// size; each view is checked with axe-core (WCAG 2.1 A and AA, and best practices) as it is photographed.
    /// </summary>
    [Test]
    public async Task TheReadmeScreenshotsShowTheRealPageWhichPassesAxe()
    {
        string axe = Path.Combine(Repository.Root, "Dominance.Tests", "node_modules", "axe-core", "axe.min.js");
        string folder = Path.Combine(Repository.Root, "docs", "screenshots");
        Directory.CreateDirectory(folder);
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient bob = await server.CreateAsync("Bob", "hunter22");
        await using ClientPage client = await ClientPage.OpenAsync(_browser, server);
        IPage page = client.Page;
        await Assertions.Expect(client.Output).ToContainTextAsync("for everything else."); // the same picture every time
        await client.TypeAsync("create Alice secret1");
        await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-realm", "live");
        await bob.SendAsync("chat Welcome to the realm, Alice. Stonebridge is mine next.");
        await Assertions.Expect(client.Output).ToContainTextAsync("Stonebridge is mine next.");
        await client.TypeAsync("chat We will see about that.");
        await client.TypeAsync("map");
        await Assertions.Expect(client.Output).ToContainTextAsync("The realm at tick 0.");
        await page.Locator("#map [data-territory=Stonebridge]").ClickAsync();
        await client.Input.FocusAsync();

        var shots = new List<string>();
        foreach ((string name, ViewportSize size, string? view) in new (string, ViewportSize, string?)[]
        {
            ("desktop", ClientPage.Desktop, null), ("phone", ClientPage.Phone, "text"), ("phone-map", ClientPage.Phone, "map"),
        })
        {
            await page.SetViewportSizeAsync(size.Width, size.Height);
            if (view is not null)
            {
                await page.Locator($"#views button[data-view={view}]").ClickAsync();
                await Assertions.Expect(page.Locator("body")).ToHaveAttributeAsync("data-view", view);
            }

            string file = Path.Combine(folder, name + ".png");
            await Screenshot.SaveAsync(page, file);
            shots.Add(file);
            if (File.Exists(axe))
            {
                await AssertAccessibleAsync(page, axe, name);
            }
        }

        string readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        foreach (string shot in shots)
        {
            Assert.That(new FileInfo(shot).Length, Is.GreaterThan(10_000), shot);
            Assert.That(readme, Does.Contain($"docs/screenshots/{Path.GetFileName(shot)}"), "the README shows it");
        }

        client.AssertNoErrors();
        if (!File.Exists(axe))
        {
            Prerequisite.Missing($"axe-core is not installed at {axe} (./run.sh test runs npm ci in Dominance.Tests).");
        }
    }

    [Test]
    public async Task TheFaviconIsServed()
    {
        await using TestServer server = await GameServer.StartAsync();
        using var http = new HttpClient();
        using HttpResponseMessage icon = await http.GetAsync($"http://{server.Http}/favicon.ico");
        Assert.That(icon.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(icon.Content.Headers.ContentType?.MediaType, Is.EqualTo("image/x-icon"));
        Assert.That((await icon.Content.ReadAsByteArrayAsync())[..4], Is.EqualTo(new byte[] { 0, 0, 1, 0 }));
        using HttpResponseMessage svg = await http.GetAsync($"http://{server.Http}/favicon.svg");
        Assert.That(svg.Content.Headers.ContentType?.MediaType, Is.EqualTo("image/svg+xml"));
    }

    /// <summary>Runs axe-core in the page and fails with every violation it finds, named and located.</summary>
    private static async Task AssertAccessibleAsync(IPage page, string axe, string view)
    {
        if (!await page.EvaluateAsync<bool>("typeof axe !== 'undefined'"))
        {
            await page.AddScriptTagAsync(new() { Path = axe });
        }

        string[] violations = await page.EvaluateAsync<string[]>("""
            async () => (await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }))
              .violations.flatMap(v => v.nodes.map(n => `${v.id} (${v.impact}): ${n.target.join(' ')}: ${n.failureSummary}`))
            """);
        Assert.That(violations, Is.Empty, $"axe-core on the {view} view");
    }

    /// <summary>A computed style property of the last output span whose text is exactly <paramref name="text"/>.</summary>
    private static Task<string> Style(ClientPage client, string text, string property) =>
        client.Page.EvaluateAsync<string>(
            "([text, property]) => getComputedStyle([...document.querySelectorAll('#output span')].filter(s => s.textContent === text).at(-1))[property]",
            new[] { text, property });

    /// <summary>The session's width, height and terminal type as the game sees them (the test module's <c>size</c>).</summary>
    private static async Task<(int Width, int Height, string Terminal)> InfoAsync(ClientPage client)
    {
        ILocator lines = client.Page.Locator("#output span").Filter(new() { HasTextRegex = InfoPattern() });
        int before = await lines.CountAsync();
        await client.TypeAsync("size"); // one word: the portal wraps text to the reported width, and never breaks a word
        await Assertions.Expect(lines).ToHaveCountAsync(before + 1);
        Match match = InfoPattern().Match((await lines.Last.TextContentAsync())!);
        return (int.Parse(match.Groups["width"].Value), int.Parse(match.Groups["height"].Value), match.Groups["terminal"].Value);
    }

    private static Task<string?> FocusedAsync(IPage page, string property) =>
        page.EvaluateAsync<string?>($"document.activeElement?.{property} ?? null");

    [GeneratedRegex(@"size=(?<width>\d+)x(?<height>\d+);terminal=(?<terminal>\S*)")]
    private static partial Regex InfoPattern();

    [GeneratedRegex("^(north|south|east|west)$")]
    private static partial Regex DirectionPattern();
}
