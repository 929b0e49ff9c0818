using Microsoft.Playwright;

namespace Dominance.Tests.Support;

/// <summary>
/// The browser client open in a page of its own (a fresh browser context: its own storage and viewport), with every
/// console error and uncaught page error recorded, so that a test can assert there were none.
/// </summary>
internal sealed class ClientPage : IAsyncDisposable
{
    /// <summary>A desktop window.</summary>
    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };

    /// <summary>A phone held upright (an iPhone 12 to 15's CSS pixels).</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    private ClientPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                Record($"console: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => Record($"page error: {error}");
    }

    public IPage Page { get; }

    /// <summary>The page's browser context: its storage, and its network (<c>SetOfflineAsync</c>).</summary>
    public IBrowserContext Context => _context;

    public ILocator Output => Page.Locator("#output");

    public ILocator Input => Page.Locator("#input");

    /// <summary>The console errors and page errors so far.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>
    /// Opens the client from <paramref name="server"/> and waits until it is connected. With
    /// <paramref name="plainWebSocket"/>, the page's WebSocket asks for no subprotocol, as behind a proxy that drops it:
    /// the client then speaks plain WebSocket (no GMCP).
    /// </summary>
    public static async Task<ClientPage> OpenAsync(Browser browser, TestServer server, ViewportSize? viewport = null, bool phone = false, bool plainWebSocket = false)
    {
        IBrowserContext context = await browser.Instance.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = viewport ?? (phone ? Phone : Desktop),
            IsMobile = phone,
            HasTouch = phone,
            DeviceScaleFactor = 1,
        });
        if (plainWebSocket)
        {
            await context.AddInitScriptAsync("window.WebSocket = class extends window.WebSocket { constructor(url) { super(url); } };");
        }

        var client = new ClientPage(context, await context.NewPageAsync());
        await client.Page.GotoAsync($"http://{server.Http}/");
        await Assertions.Expect(client.Page.Locator("#status")).ToHaveAttributeAsync("data-state", "connected");
        return client;
    }

    /// <summary>Types a line into the input and presses Enter.</summary>
    public async Task TypeAsync(string line)
    {
        await Input.FillAsync(line);
        await Input.PressAsync("Enter");
    }

    /// <summary>Fails the test if the page logged an error or threw.</summary>
    public void AssertNoErrors() => Assert.That(Errors, Is.Empty, "the page logged errors");

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();

    private void Record(string error)
    {
        lock (_errors)
        {
            _errors.Add(error);
        }
    }
}
