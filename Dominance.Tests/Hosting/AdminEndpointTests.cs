using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using Dominance.Tests.Support;

namespace Dominance.Tests.Hosting;

/// <summary>
/// <c>POST /admin/reload</c> answers only a program on the server's machine that has the token: not other machines,
/// not web pages (which may POST to 127.0.0.1 from any site), not a reverse proxy that forwards without the token.
/// </summary>
public sealed class AdminEndpointTests
{
    public const string Token = "test-admin-token-0123456789";

    /// <summary>An HTTP client that presents <see cref="Token"/>.</summary>
    public static HttpClient Client()
    {
        var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    [Test]
    public async Task WebPagesFormContentAndRequestsWithoutTheTokenAreRefusedAndReloadNothing()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, s => s.Reload.AdminToken = Token);
        using HttpClient http = Client();
        string url = $"http://{server.Http}/admin/reload";

        // What a page on any web site can make a browser send to 127.0.0.1, without asking first.
        var fromPage = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("x", null, "text/plain") };
        fromPage.Headers.Add("Origin", "http://evil.example");
        fromPage.Headers.Add("Sec-Fetch-Site", "cross-site");
        await ExpectAsync(http, fromPage, HttpStatusCode.Forbidden, "Reloads are not accepted from web pages.");

        var fetched = new HttpRequestMessage(HttpMethod.Post, url);
        fetched.Headers.Add("Sec-Fetch-Site", "same-site");
        await ExpectAsync(http, fetched, HttpStatusCode.Forbidden, "Reloads are not accepted from web pages.");

        foreach (string type in new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x" })
        {
            var form = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("", null, MediaTypeHeaderValue.Parse(type)) };
            await ExpectAsync(http, form, HttpStatusCode.UnsupportedMediaType, "a content type that web forms can send, is refused.");
        }

        // Loopback alone is not enough: a reverse proxy on this machine forwards from loopback too.
        HttpResponseMessage anonymous = await ExpectAsync(
            new HttpClient(), new HttpRequestMessage(HttpMethod.Post, url), HttpStatusCode.Unauthorized, "Authorization: Bearer <token>");
        Assert.That(anonymous.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        var wrong = new HttpRequestMessage(HttpMethod.Post, url);
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token + "x");
        await ExpectAsync(http, wrong, HttpStatusCode.Unauthorized, "Authorization: Bearer <token>");

        // A script with the token reloads, and none of the above did.
        folder.Write(GameFolder.Source("v2"));
        HttpResponseMessage ok = await http.PostAsync(url, null);
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        JsonElement report = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(report.GetProperty("generation").GetInt32(), Is.EqualTo(2), "only the last request reloaded");
        ok = await http.PostAsync(url, JsonContent.Create(new { }));
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), "JSON is not a form's content type");
    }

    [Test]
    public async Task AReloadThatWouldDropStateIsRefusedUntilForcedWithTheForceParameter()
    {
        using var folder = new GameFolder(GameFolder.Source(
            "v1", stateMembers: "public int Resources { get; set; }", commands: "case \"earn\": _state.Resources += 21; _context.Send(session, \"earned\"); break;"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, s =>
        {
            s.Reload.AdminToken = Token;
            s.Reload.Watch = false; // only the requests reload
        });
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.SendAsync("earn");
        await client.Lines.WaitForAsync("earned");
        using HttpClient http = Client();
        string url = $"http://{server.Http}/admin/reload";

        folder.Write(GameFolder.Source("v2", stateMembers: "public int Treasury { get; set; }"));
        await ExpectAsync(http, new HttpRequestMessage(HttpMethod.Post, url + "?force=maybe"), HttpStatusCode.BadRequest, "force must be true or false, not \"maybe\".");
        HttpResponseMessage refused = await http.PostAsync(url + "?force=false", null);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
        JsonElement report = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(report.GetProperty("errors")[0].GetString(), Is.EqualTo("State.Resources: 1 value(s), and the new code has no such member"));

        HttpResponseMessage forced = await http.PostAsync(url + "?force=true", null);
        Assert.That(forced.StatusCode, Is.EqualTo(HttpStatusCode.OK), await forced.Content.ReadAsStringAsync());
        Assert.That((await forced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("generation").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public async Task WithoutATokenInTheSettingsTheEndpointIsOff()
    {
        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path);
        using HttpClient http = Client();
        await ExpectAsync(
            http, new HttpRequestMessage(HttpMethod.Post, $"http://{server.Http}/admin/reload"), HttpStatusCode.Forbidden,
            "The reload endpoint is off: set Reload:AdminToken to turn it on.");
    }

    [Test]
    public async Task ClientsFromOtherMachinesAreRefused()
    {
        IPAddress? outside = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (outside is null)
        {
            Prerequisite.Missing("This machine has no non-loopback IPv4 address to connect from.");
        }

        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, s =>
        {
            s.Portal.Host = "0.0.0.0";
            s.Reload.AdminToken = Token;
        });
        using HttpClient http = Client();
        await ExpectAsync(
            http, new HttpRequestMessage(HttpMethod.Post, $"http://{outside}:{server.Http.Port}/admin/reload"), HttpStatusCode.Forbidden,
            "Reloads are accepted from this machine only.");
        HttpResponseMessage accepted = await http.PostAsync($"http://127.0.0.1:{server.Http.Port}/admin/reload", null);
        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private static async Task<HttpResponseMessage> ExpectAsync(HttpClient http, HttpRequestMessage request, HttpStatusCode status, string error)
    {
        HttpResponseMessage response = await http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), body);
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), Does.Contain(error));
        return response;
    }
}
