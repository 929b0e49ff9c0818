using System.Net;
using Dominance.Api;
using Dominance.Core;
using Dominance.Portal.Telnet;
using Dominance.Portal.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using PortalService = Dominance.Portal.Portal;

namespace Dominance.Hosting;

/// <summary>
/// One Dominance server: the portal (Kestrel: telnet and HTTP/WebSocket listeners) and the game core (the game thread)
/// in one process, on the .NET Generic Host. <c>Program</c> runs one; tests start several on ephemeral ports.
/// </summary>
public sealed class DominanceServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _telnet;
    private readonly ListenOptions _http;

    private DominanceServer(WebApplication app, GameLoop core, PortalService portal, ListenOptions telnet, ListenOptions http)
    {
        _app = app;
        Core = core;
        Portal = portal;
        _telnet = telnet;
        _http = http;
    }

    /// <summary>The telnet listener's bound address (the real port, after <see cref="StartAsync"/>).</summary>
    public IPEndPoint TelnetEndPoint => _telnet.IPEndPoint!;

    /// <summary>The HTTP listener's bound address (the real port, after <see cref="StartAsync"/>).</summary>
    public IPEndPoint HttpEndPoint => _http.IPEndPoint!;

    /// <summary>Completes when the server has been asked to stop (Ctrl-C, SIGTERM, or <see cref="StopAsync"/>).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    internal GameLoop Core { get; }

    internal PortalService Portal { get; }

    /// <summary>
    /// Builds a server from validated <paramref name="settings"/>. <paramref name="configuration"/> is the whole
    /// configuration (its <c>Game</c> section goes to the module); <paramref name="module"/> is the game to run.
    /// </summary>
    public static DominanceServer Create(
        DominanceSettings settings,
        IConfiguration configuration,
        IGameModule module,
        Action<ILoggingBuilder>? configureLogging = null) =>
        Create(settings, configuration, module, TimeProvider.System, configureLogging);

    /// <summary>As the public overload, with the clock every timer and rate window of the server reads.</summary>
    internal static DominanceServer Create(
        DominanceSettings settings,
        IConfiguration configuration,
        IGameModule module,
        TimeProvider clock,
        Action<ILoggingBuilder>? configureLogging)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "dominance",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // The game thread logs; a console that cannot keep up must drop lines rather than block it.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A failed start (a port in use) is reported by the caller in one clear line; the host's own report is a
        // stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        configureLogging?.Invoke(builder.Logging);

        ListenOptions? telnet = null;
        ListenOptions? http = null;
        IPAddress host = IPAddress.Parse(settings.Portal.Host);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(host, settings.Portal.TelnetPort, listen =>
            {
                telnet = listen;
                listen.UseConnectionHandler<TelnetConnectionHandler>();
            });
            kestrel.Listen(host, settings.Portal.HttpPort, listen =>
            {
                http = listen;
                listen.Protocols = HttpProtocols.Http1;
            });
        });

        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(services => new GameLoop(
            settings.Core, module, clock, services.GetRequiredService<ILoggerFactory>(), configuration.GetSection("Game")));
        builder.Services.AddSingleton(services => new PortalService(
            settings.Portal, services.GetRequiredService<GameLoop>().Inbound, clock, services.GetRequiredService<ILogger<PortalService>>()));
        builder.Services.AddHostedService<ServerLifetime>();

        WebApplication app = builder.Build();
        GameLoop core = app.Services.GetRequiredService<GameLoop>();
        PortalService portal = app.Services.GetRequiredService<PortalService>();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.Map("/ws", (HttpContext http) => WebSocketEndpoint.HandleAsync(http, portal));
        app.MapGet("/healthz", () => Results.Json(HealthStatus.Read(core, portal)));

        return new DominanceServer(app, core, portal, telnet!, http!);
    }

    /// <summary>Starts listening and starts the game thread.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Completes once the server has shut down (after Ctrl-C, SIGTERM or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Shuts down gracefully: players are told, output is flushed, connections close, the game thread stops.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
