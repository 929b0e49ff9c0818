using System.Net;
using System.Net.Http.Headers;
using Dominance.Tests.Support;

namespace Dominance.Tests.WebClient;

/// <summary>The browser client's files over HTTP: what a browser's cache relies on.</summary>
public sealed class WebClientFilesTests
{
    [Test]
    public async Task TheClientIsServedWithItsTypeAnETagAndNoCache()
    {
        await using TestServer server = await TestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.Http}/") };

        using HttpResponseMessage page = await http.GetAsync("");
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/html; charset=utf-8"));
        Assert.That(await page.Content.ReadAsStringAsync(), Does.Contain("<title>Dominance</title>"));
        Assert.That(page.Headers.ETag, Is.Not.Null);
        Assert.That(page.Headers.CacheControl?.NoCache, Is.True, "browsers revalidate, so a new server serves a new client");

        using HttpResponseMessage script = await http.GetAsync("client.js");
        Assert.That(script.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/javascript; charset=utf-8"));
        using HttpResponseMessage style = await http.GetAsync("client.css");
        Assert.That(style.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/css; charset=utf-8"));
        using HttpResponseMessage missing = await http.GetAsync("no-such-file.js");
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task ARevalidationWithAMatchingETagGetsNotModified()
    {
        await using TestServer server = await TestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.Http}/") };
        using HttpResponseMessage first = await http.GetAsync("client.js");
        EntityTagHeaderValue etag = first.Headers.ETag!;

        // The tag alone, the tag among others (a cache that holds several versions), and any tag at all.
        foreach (string ifNoneMatch in new[] { etag.Tag, $"\"something-older\", {etag.Tag}", "*" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "client.js");
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
            using HttpResponseMessage again = await http.SendAsync(request);
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotModified), ifNoneMatch);
            Assert.That(await again.Content.ReadAsByteArrayAsync(), Is.Empty);
        }

        using var stale = new HttpRequestMessage(HttpMethod.Get, "client.js");
        stale.Headers.TryAddWithoutValidation("If-None-Match", "\"something-older\"");
        using HttpResponseMessage changed = await http.SendAsync(stale);
        Assert.That(changed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a tag that does not match gets the file");
    }
}
