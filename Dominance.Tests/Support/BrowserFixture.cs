using Microsoft.Playwright;

namespace Dominance.Tests.Support;

/// <summary>
/// A test fixture with one headless Chromium for all its tests (each test opens its own context through
/// <see cref="ClientPage"/>), launched before the first test and closed after the last.
/// </summary>
public abstract class BrowserFixture
{
    /// <summary>The fixture's browser.</summary>
    private protected Browser _browser = null!;

    [OneTimeSetUp]
    public async Task LaunchAsync()
    {
        Assertions.SetDefaultExpectTimeout(15_000);
        _browser = await Browser.LaunchAsync();
    }

    [OneTimeTearDown]
    public async Task CloseAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
    }
}
