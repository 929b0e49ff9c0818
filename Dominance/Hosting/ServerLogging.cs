using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Dominance.Hosting;

/// <summary>
/// The console log of every Dominance process (a core, with or without its portal, and a portal of its own), so that an
/// operator reads one format across a cluster: every line dated in UTC, the formatter chosen by
/// <c>Logging:Console:FormatterName</c> (simple, json, systemd), and lines dropped rather than waited for.
/// </summary>
internal static class ServerLogging
{
    /// <summary>Replaces <paramref name="builder"/>'s log providers with the console, set up from <paramref name="configuration"/>.</summary>
    public static void Configure(WebApplicationBuilder builder, IConfiguration configuration)
    {
        builder.Logging.ClearProviders();
        // Every line has its date and time, in UTC. These are defaults: they are registered before the console, whose
        // own configuration (Logging:Console:FormatterOptions) is applied after them and wins.
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddConsole();
        // The slim builder sets the console's formatter to "simple" in code, after the console's configuration is bound,
        // which made Logging:Console:FormatterName have no effect. The setting decides.
        builder.Services.PostConfigure<ConsoleLoggerOptions>(o =>
            o.FormatterName = configuration["Logging:Console:FormatterName"] is { Length: > 0 } formatter ? formatter : ConsoleFormatterNames.Simple);
        // The game thread logs; a console that cannot keep up must drop lines rather than block it.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // NATS.Net reports each connection attempt at Information; the relays log what matters to an operator themselves.
        builder.Logging.AddFilter("NATS", LogLevel.Warning);
        // The hosting layer starts an Activity for every request while its logger is on at any level (for the logs'
        // trace ids), and a WebSocket's request lasts as long as the connection: 200 B and more held per connection.
        // It logs nothing above Information per request; a failed start is reported by the caller.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // A failed start (a port in use) is reported by the caller in one clear line; the host's own report is a
        // stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
    }
}
