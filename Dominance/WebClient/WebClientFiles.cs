using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Dominance.WebClient;

/// <summary>
/// Serves the browser client at <c>/</c> from the files of this folder, embedded in the server binary (with a
/// manifest, so the folder's layout is kept): no folder to ship, no setup. ASP.NET Core's static files do the HTTP:
/// <c>index.html</c> for <c>/</c>, content types, <c>ETag</c> and <c>If-None-Match</c>, <c>HEAD</c> and ranges.
/// </summary>
internal static class WebClientFiles
{
    /// <summary>Adds the middleware that serves the client's files; other paths pass through.</summary>
    public static IApplicationBuilder UseWebClient(this IApplicationBuilder app)
    {
        var files = new ManifestEmbeddedFileProvider(typeof(WebClientFiles).Assembly, "WebClient");
        var types = new FileExtensionContentTypeProvider();
        foreach (string text in (string[])[".html", ".js", ".css"])
        {
            types.Mappings[text] += "; charset=utf-8";
        }

        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        return app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = types,
            // Revalidate every time: a new server version serves a new client, and the ETag makes the check cheap.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
    }
}
