using System.Net;
using Dominance.Api;
using Dominance.Accounts;
using Dominance.Core;
using Dominance.Nats;
using Dominance.Persistence;
using Dominance.Portal;
using Dominance.Portal.WebSockets;
using Dominance.Reload;
using Dominance.WebClient;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Dominance.Hosting;

/// <summary>
/// One Dominance server: the portal (Kestrel: telnet and HTTP/WebSocket listeners) and the game core (the game thread)
/// in one process, on the .NET Generic Host. <c>Program</c> runs one; tests start several on ephemeral ports.
/// </summary>
internal sealed class DominanceServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions? _telnet;
    private readonly ListenOptions _http;
    private readonly MetricsEndpoint _metrics;
    private readonly ServerLifetime _lifetime;

    private DominanceServer(WebApplication app, GameLoop core, PortalService portal, ListenOptions? telnet, ListenOptions http, MetricsEndpoint metrics)
    {
        _app = app;
        Core = core;
        Portal = portal;
        _telnet = telnet;
        _http = http;
        _metrics = metrics;
        _lifetime = app.Services.GetRequiredService<ServerLifetime>();
    }

    /// <summary>The telnet listener's bound address (the real port, after <see cref="StartAsync"/>); see <see cref="HasLocalPortal"/>.</summary>
    public IPEndPoint TelnetEndPoint => _telnet?.IPEndPoint ?? throw new InvalidOperationException("This core runs without a portal of its own.");

    /// <summary>Whether the server has its own portal (telnet, WebSocket): always, unless it is a core for remote portals only (<c>--no-local-portal</c>).</summary>
    public bool HasLocalPortal => _telnet is not null;

    /// <summary>The link to remote portals over NATS, if <see cref="Dominance.Nats.NatsSettings.Url"/> is set.</summary>
    internal CoreRelay? Relay => _app.Services.GetService<CoreRelay>();

    /// <summary>The HTTP listener's bound address (the real port, after <see cref="StartAsync"/>).</summary>
    public IPEndPoint HttpEndPoint => _http.IPEndPoint!;

    /// <summary>
    /// Where <c>/metrics</c> is served (the real port, after <see cref="StartAsync"/>): its own listener if
    /// <see cref="MetricsSettings.Listen"/> names one, else the HTTP listener.
    /// </summary>
    public IPEndPoint MetricsEndPoint => _metrics.Listener?.IPEndPoint ?? HttpEndPoint;

    /// <summary>The server's instruments.</summary>
    internal ServerMetrics Metrics => _app.Services.GetRequiredService<ServerMetrics>();

    /// <summary>Completes when the server has been asked to stop (Ctrl-C, SIGTERM, or <see cref="StopAsync"/>).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    internal GameLoop Core { get; }

    internal PortalService Portal { get; }

    /// <summary>
    /// Builds a server that compiles its game from <paramref name="sources"/> and reloads it live.
    /// <paramref name="configuration"/> is the whole configuration (its <c>Game</c> section goes to the module).
    /// <paramref name="store"/> replaces the database the settings name (embedding, tests).
    /// </summary>
    public static DominanceServer Create(
        DominanceSettings settings,
        IConfiguration configuration,
        GameSources sources,
        TimeProvider? clock = null,
        Action<ILoggingBuilder>? configureLogging = null,
        IGameStore? store = null) =>
        Build(settings, configuration, new GameSetup(null, sources), clock ?? TimeProvider.System, configureLogging, store);

    /// <summary>Builds a server around a module instance that is not reloadable (tests, embedding).</summary>
    public static DominanceServer Create(
        DominanceSettings settings, IConfiguration configuration, IGameModule module, TimeProvider? clock = null, Action<ILoggingBuilder>? configureLogging = null) =>
        Build(settings, configuration, new GameSetup(module, null), clock ?? TimeProvider.System, configureLogging, null);

    private static DominanceServer Build(
        DominanceSettings settings,
        IConfiguration configuration,
        GameSetup game,
        TimeProvider clock,
        Action<ILoggingBuilder>? configureLogging,
        IGameStore? store)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "dominance",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);

        ServerLogging.Configure(builder, configuration);
        configureLogging?.Invoke(builder.Logging);

        var listeners = new PortalListeners();
        // With remote portals over NATS, the core may run without a portal of its own: then only HTTP (health, admin).
        bool localPortal = !settings.Nats.Enabled || settings.Nats.LocalPortal;
        var metrics = new MetricsEndpoint(settings.Metrics, "dominance");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            listeners.Listen(kestrel, settings.Portal, localPortal);
            metrics.Listen(kestrel);
        });

        metrics.AddServices(builder.Services);
        HealthChecks.Add(builder.Services);

        builder.Services.AddSingleton(settings);
        builder.Services.AddDominanceSettings(settings);
        builder.Services.AddSingleton(services => store ?? OpenStore(settings.Persistence, game, services.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(services => new AccountService(
            services.GetRequiredService<IGameStore>(), settings.Accounts, clock, services.GetRequiredService<ILogger<AccountService>>(),
            services.GetRequiredService<ServerMetrics>(), Audit(services)));
        builder.Services.AddSingleton(services => new WorldSaves(
            services.GetRequiredService<IGameStore>(), services.GetRequiredService<GameLoop>(), settings.Persistence, clock,
            services.GetRequiredService<ILogger<WorldSaves>>(), services.GetRequiredService<ServerMetrics>()));
        builder.Services.AddSingleton(services => new HostGameServices(
            services.GetRequiredService<AccountService>(), settings.Reload, services, services.GetRequiredService<IHostApplicationLifetime>(), services.GetRequiredService<ILogger<DominanceServer>>()));
        // One key for the whole server. With portals over NATS it comes from the secret every core shares, so a core
        // restarted anywhere verifies the tokens the portals keep; otherwise from the key file beside the database.
        builder.Services.AddSingleton(_ => settings.Nats.Enabled
            ? ResumeTokens.FromSecret(settings.Nats.Secret)
            : ResumeTokens.LoadOrCreate(ResumeKeyPath(settings, game)));
        builder.Services.AddSingleton(services => new GameLoop(
            settings.Core, clock, services.GetRequiredService<ILoggerFactory>(), configuration.GetSection("Game"), services.GetRequiredService<HostGameServices>(),
            services.GetRequiredService<ServerMetrics>(), services.GetRequiredService<ResumeTokens>()));
        builder.Services.AddSingleton(services => new PortalService(
            settings.Portal, services.GetRequiredService<GameLoop>().Inbound, clock, services.GetRequiredService<ILogger<PortalService>>(),
            services.GetRequiredService<ServerMetrics>(), Audit(services), players: services.GetRequiredService<GameLoop>()));
        builder.Services.AddSingleton(game);
        if (settings.Nats.Enabled)
        {
            builder.Services.AddSingleton(services => new CoreRelay(
                settings.Nats, services.GetRequiredService<GameLoop>(), services.GetRequiredService<ResumeTokens>(), clock, services.GetRequiredService<ILogger<CoreRelay>>()));
        }

        if (game.Sources is { } sources)
        {
            builder.Services.AddSingleton(services => new ReloadCoordinator(
                sources, services.GetRequiredService<GameLoop>(), settings.Reload, services.GetRequiredService<ILogger<ReloadCoordinator>>(),
                services.GetRequiredService<ServerMetrics>(), Audit(services)));
        }

        builder.Services.AddSingleton<ServerLifetime>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ServerLifetime>());

        WebApplication app = builder.Build();
        GameLoop core = app.Services.GetRequiredService<GameLoop>();
        PortalService portal = app.Services.GetRequiredService<PortalService>();
        metrics.Map(app);

        if (settings.Nats.Enabled)
        {
            core.Sessions.ResumeTokens = app.Services.GetRequiredService<ResumeTokens>(); // before the game thread starts
            CoreRelay relay = app.Services.GetRequiredService<CoreRelay>();
            app.Services.GetRequiredService<ServerMetrics>().ObserveRemoteOutput(() => relay.OutputQueued, () => relay.OutputDropped);
        }

        if (localPortal)
        {
            app.UseWebSockets(); // only to recognise a handshake: the endpoint answers it and makes the WebSocket itself
            app.Map("/ws", (HttpContext http) => WebSocketEndpoint.HandleAsync(http, portal));
        }

        HealthChecks.Map(app, core, portal);
        if (localPortal)
        {
            app.UseWebClient();
        }

        AdminEndpoint.Map(app, settings.Reload);

        return new DominanceServer(app, core, portal, listeners.Telnet, listeners.Http, metrics);
    }

    /// <summary>The audit log's logger (<see cref="AuditLog.Category"/>).</summary>
    private static ILogger Audit(IServiceProvider services) => services.GetRequiredService<ILoggerFactory>().CreateLogger(AuditLog.Category);

    /// <summary>
    /// The database: PostgreSQL if <see cref="PersistenceSettings.PostgreSQL"/> is set, else the SQLite file, taken
    /// relative to the game folder (or, for the built-in game, to the executable's folder).
    /// </summary>
    private static IGameStore OpenStore(PersistenceSettings settings, GameSetup game, ILoggerFactory logs) =>
        settings.PostgreSQL.Length > 0
            ? new PostgresGameStore(settings.PostgreSQL)
            : new SqliteGameStore(Path.Combine(game.Sources?.Folder ?? AppContext.BaseDirectory, settings.SqliteFile), logs.CreateLogger<SqliteGameStore>());


    /// <summary>
    /// The resume tokens' key file: <see cref="CoreSettings.ResumeKeyFile"/>, relative to the SQLite database's folder
    /// (it is as secret as the database), or to the game folder (the executable's, for the built-in game) with PostgreSQL.
    /// </summary>
    private static string ResumeKeyPath(DominanceSettings settings, GameSetup game)
    {
        string folder = game.Sources?.Folder ?? AppContext.BaseDirectory;
        if (settings.Persistence.PostgreSQL.Length == 0)
        {
            folder = Path.GetDirectoryName(Path.GetFullPath(Path.Combine(folder, settings.Persistence.SqliteFile))) ?? folder;
        }

        return Path.Combine(folder, settings.Core.ResumeKeyFile);
    }

    /// <summary>The live-reload coordinator, if the game was compiled from source.</summary>
    internal ReloadCoordinator? Reloads => _app.Services.GetService<ReloadCoordinator>();

    /// <summary>The world saves.</summary>
    internal WorldSaves Saves => _app.Services.GetRequiredService<WorldSaves>();

    /// <summary>The account service the game is given.</summary>
    internal AccountService Accounts => _app.Services.GetRequiredService<AccountService>();

    /// <summary>Starts listening and starts the game thread.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Asks the server to shut down gracefully, as Ctrl-C does; <see cref="WaitForShutdownAsync"/> carries it out.</summary>
    public void RequestStop() => _app.Lifetime.StopApplication();

    /// <summary>
    /// Waits until the server is asked to stop (Ctrl-C, SIGTERM, <see cref="RequestStop"/>, or the game's shutdown
    /// command), then shuts it down gracefully.
    /// </summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>
    /// Why the shutdown could not do its work (the game thread did not answer, or the final save was not stored), or why
    /// the server stopped itself (a newer core took over its portals), or <see langword="null"/> if neither. The process
    /// exits 1 when it is set.
    /// </summary>
    public string? ShutdownFailure => _lifetime.Failure;

    /// <summary>Shuts down gracefully: players are told, output is flushed, connections close, the game thread stops.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>Which game the server runs: a fixed module instance, or source it compiles and reloads.</summary>
internal sealed record GameSetup(IGameModule? Module, GameSources? Sources);
