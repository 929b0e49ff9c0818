using System.Net;
using Dominance.Core;
using Dominance.Nats;
using Dominance.Portal;
using Dominance.Portal.WebSockets;
using Dominance.WebClient;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dominance.Hosting;

/// <summary>
/// A portal on its own (<c>dominance portal --nats ...</c>): the network edge (telnet, WebSocket, the web client, the
/// portal's limits), reaching its game core over NATS (<see cref="PortalRelay"/>). The same <see cref="PortalService"/>
/// as in process, with the relay as its inbound sink and the relay delivering the core's output to its sessions.
/// </summary>
internal sealed class PortalServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _telnet;
    private readonly ListenOptions _http;

    private PortalServer(WebApplication app, PortalService portal, PortalRelay relay, ListenOptions telnet, ListenOptions http)
    {
        _app = app;
        Portal = portal;
        Relay = relay;
        _telnet = telnet;
        _http = http;
    }

    /// <summary>The telnet listener's bound address (after <see cref="StartAsync"/>).</summary>
    public IPEndPoint TelnetEndPoint => _telnet.IPEndPoint!;

    /// <summary>The HTTP listener's bound address (after <see cref="StartAsync"/>).</summary>
    public IPEndPoint HttpEndPoint => _http.IPEndPoint!;

    internal PortalService Portal { get; }

    internal PortalRelay Relay { get; }

    /// <summary>Completes when the portal has been asked to stop.</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>Builds a portal from the settings; <see cref="NatsSettings.Url"/> must be set.</summary>
    public static PortalServer Create(DominanceSettings settings, IConfiguration configuration, TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "dominance",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        ServerLogging.Configure(builder, configuration);

        var listeners = new PortalListeners();
        var metrics = new MetricsEndpoint(settings.Metrics, "dominance-portal");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            listeners.Listen(kestrel, settings.Portal);
            metrics.Listen(kestrel);
        });

        metrics.AddServices(builder.Services);

        builder.Services.AddSingleton(settings);
        builder.Services.AddDominanceSettings(settings);
        builder.Services.AddSingleton(services => new PortalRelay(settings.Nats, 4096, clock, services.GetRequiredService<ILogger<PortalRelay>>()));
        builder.Services.AddSingleton(services =>
        {
            PortalRelay relay = services.GetRequiredService<PortalRelay>();
            return new PortalService(
                settings.Portal, relay, clock, services.GetRequiredService<ILogger<PortalService>>(), services.GetRequiredService<ServerMetrics>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger(AuditLog.Category), firstSessionId: relay.FirstSessionId, players: relay);
        });
        builder.Services.AddHostedService(services => new PortalLifetime(
            services.GetRequiredService<PortalService>(), services.GetRequiredService<PortalRelay>(), settings, services.GetRequiredService<ILogger<PortalLifetime>>()));

        WebApplication app = builder.Build();
        PortalService portal = app.Services.GetRequiredService<PortalService>();
        metrics.Map(app);
        app.UseWebSockets(); // only to recognise a handshake: the endpoint answers it and makes the WebSocket itself
        app.Map("/ws", (HttpContext context) => WebSocketEndpoint.HandleAsync(context, portal));
        app.MapGet("/healthz", () => Results.Json(HealthStatus.Read(null, portal)));
        app.UseWebClient();
        PortalRelay relay = app.Services.GetRequiredService<PortalRelay>();
        app.Services.GetRequiredService<ServerMetrics>().ObserveCoreAttached(() => relay.Attached);
        app.Services.GetRequiredService<ServerMetrics>().ObserveHeldEvents(() => relay.HeldEvents);
        return new PortalServer(app, portal, relay, listeners.Telnet!, listeners.Http);
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    public void RequestStop() => _app.Lifetime.StopApplication();

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>
/// Ties a portal's relay to the host's lifetime. Start: the relay connects to NATS and attaches in the background. Stop:
/// players are told and their connections closed, their departures go to the core, then the relay stops.
/// </summary>
internal sealed class PortalLifetime(PortalService portal, PortalRelay relay, DominanceSettings settings, ILogger<PortalLifetime> log) : IHostedLifecycleService
{
    public const string ShutdownMessage = "This portal is shutting down. Connect again in a moment.";

    public Task StartingAsync(CancellationToken cancellationToken) => relay.StartAsync(portal, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        log.LogInformation("Shutting down: telling {Sessions} session(s)", portal.SessionCount);
        portal.StopAccepting();
        foreach (PortalSession session in portal.Sessions)
        {
            session.Close(Dominance.Api.OutputPayload.ForLine(ShutdownMessage));
        }

        int aborted = await portal.DrainAsync(settings.Portal.ShutdownGrace).ConfigureAwait(false);
        if (aborted > 0)
        {
            log.LogWarning("{Aborted} session(s) did not take their output within {Grace}; closed them", aborted, settings.Portal.ShutdownGrace);
        }

        await relay.FlushAsync().ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken) => await relay.DisposeAsync().ConfigureAwait(false);
}
