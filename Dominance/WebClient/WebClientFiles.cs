using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dominance.WebClient;

/// <summary>
/// Serves the browser client at <c>/</c> from files embedded in the server binary: no folder to ship, no setup.
/// </summary>
internal static class WebClientFiles
{
    private static readonly Dictionary<string, (byte[] Content, string ContentType, string ETag)> s_files = Load();

    /// <summary>Maps <c>/</c> and the client's files.</summary>
    public static void Map(WebApplication app)
    {
        app.MapGet("/", (HttpContext http) => Serve(http, "index.html"));
        app.MapGet("/{file}", (HttpContext http, string file) => Serve(http, file));
    }

    private static IResult Serve(HttpContext http, string file)
    {
        if (!s_files.TryGetValue(file, out (byte[] Content, string ContentType, string ETag) found))
        {
            return Results.NotFound();
        }

        http.Response.Headers.CacheControl = "no-cache"; // revalidate: a new server version serves a new client
        http.Response.Headers.ETag = found.ETag;
        return http.Request.Headers.IfNoneMatch == found.ETag
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : Results.Bytes(found.Content, found.ContentType);
    }

    private static Dictionary<string, (byte[], string, string)> Load()
    {
        Assembly host = typeof(WebClientFiles).Assembly;
        var files = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        foreach (string name in host.GetManifestResourceNames().Where(n => n.StartsWith("web/", StringComparison.Ordinal)))
        {
            using Stream stream = host.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] content = copy.ToArray();
            string file = name["web/".Length..];
            string type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                ".ico" => "image/x-icon",
                _ => "application/octet-stream",
            };
            files[file] = (content, type, $"\"{Convert.ToHexString(SHA256.HashData(content))[..16]}\"");
        }

        return files;
    }
}
