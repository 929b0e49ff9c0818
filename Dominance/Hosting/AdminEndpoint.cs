using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dominance.Reload;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Dominance.Hosting;

/// <summary>
/// <c>POST /admin/reload</c>: reloads the game and answers with the report, for scripts and editors on the server's
/// machine; <c>POST /admin/reload?force=true</c> lets the new code drop game state it does not keep, as the admin
/// command <c>reload force</c> does (without it, such a reload is refused with the members and values it would drop).
/// A request must pass every check, in this order:
/// <list type="number">
/// <item>It comes from this machine (a loopback address).</item>
/// <item>It does not come from a web page. Browsers add <c>Origin</c> to a POST, and <c>Sec-Fetch-Site</c> to what a
/// page sends; a page on any site may POST to 127.0.0.1 without asking first, as long as the body is one of the three
/// content types a form can send, so those are refused too.</item>
/// <item>It carries the token of <see cref="ReloadSettings.AdminToken"/> (<c>Authorization: Bearer</c>). Loopback alone
/// is not enough: a reverse proxy on the same machine makes every request arrive from loopback. With no token set, the
/// endpoint is off.</item>
/// </list>
/// </summary>
internal static class AdminEndpoint
{
    private static readonly string[] s_formContentTypes = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"];

    /// <summary>Maps <c>POST /admin/reload</c>.</summary>
    public static void Map(WebApplication app, ReloadSettings settings) =>
        app.MapPost("/admin/reload", (Delegate)((HttpContext http) => ReloadAsync(http, settings.AdminToken, app.Services.GetService<ReloadCoordinator>())));

    private static async Task<IResult> ReloadAsync(HttpContext http, string token, ReloadCoordinator? reloads)
    {
        if (Refuse(http, token) is { } refusal)
        {
            return refusal;
        }

        if (reloads is null)
        {
            return Error(StatusCodes.Status409Conflict, "This server runs a built-in module that cannot be reloaded.");
        }

        string? forceText = http.Request.Query["force"];
        bool force = false;
        if (forceText is not null && !bool.TryParse(forceText, out force))
        {
            return Error(StatusCodes.Status400BadRequest, $"force must be true or false, not \"{forceText}\".");
        }

        ReloadReport report = await reloads.ReloadAsync(force ? "POST /admin/reload?force=true" : "POST /admin/reload", force).ConfigureAwait(false);
        return Results.Json(report, statusCode: report.Succeeded ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity);
    }

    /// <summary>The answer to a request that may not reload, or <see langword="null"/> if it may.</summary>
    private static IResult? Refuse(HttpContext http, string token)
    {
        IPAddress? remote = http.Connection.RemoteIpAddress;
        if (remote is null || !IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            return Error(StatusCodes.Status403Forbidden, "Reloads are accepted from this machine only.");
        }

        IHeaderDictionary headers = http.Request.Headers;
        if (headers.Origin.Count > 0 || headers["Sec-Fetch-Site"] is { Count: > 0 } site && site != "none")
        {
            return Error(StatusCodes.Status403Forbidden, "Reloads are not accepted from web pages.");
        }

        if (MediaTypeHeaderValue.TryParse(http.Request.ContentType, out MediaTypeHeaderValue? type)
            && s_formContentTypes.Contains(type.MediaType.Value, StringComparer.OrdinalIgnoreCase))
        {
            return Error(
                StatusCodes.Status415UnsupportedMediaType,
                $"Send no body (or JSON): {type.MediaType.Value}, a content type that web forms can send, is refused.");
        }

        if (token.Length == 0)
        {
            return Error(StatusCodes.Status403Forbidden, "The reload endpoint is off: set Reload:AdminToken to turn it on.");
        }

        string presented = headers.Authorization.ToString();
        if (!presented.StartsWith("Bearer ", StringComparison.Ordinal)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented[7..]), Encoding.UTF8.GetBytes(token)))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Error(StatusCodes.Status401Unauthorized, "Send the token of Reload:AdminToken as: Authorization: Bearer <token>.");
        }

        return null;
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
