using System.Net;
using Dominance.Api;
using Dominance.Hosting;
using Dominance.Persistence;
using Dominance.Reload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Tests.Support;

/// <summary>A real server in process, on ephemeral loopback ports, with its log captured.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly Task _shutdown;

    private readonly string _folder;

    private TestServer(DominanceServer server, IGameModule? module, LogCapture log, string folder)
    {
        Server = server;
        Module = module;
        Log = log;
        _folder = folder;
        _shutdown = server.WaitForShutdownAsync(); // as Program does: a stop request from anywhere is carried out
    }

    public DominanceServer Server { get; }

    /// <summary>The module instance, for servers started around one (null when compiled from source).</summary>
    public IGameModule? Module { get; }

    public TestModule TestModule => (TestModule)Module!;

    /// <summary>The reload coordinator, for servers compiled from source.</summary>
    public ReloadCoordinator Reloads => Server.Reloads!;

    public LogCapture Log { get; }

    public IPEndPoint Telnet => Server.TelnetEndPoint;

    public IPEndPoint Http => Server.HttpEndPoint;

    /// <summary>Starts a server around a module instance (<see cref="TestModule"/> by default).</summary>
    public static async Task<TestServer> StartAsync(
        Action<DominanceSettings>? configure = null,
        IGameModule? module = null,
        TimeProvider? clock = null,
        IConfiguration? configuration = null)
    {
        var log = new LogCapture();
        module ??= new TestModule();
        (DominanceSettings settings, string folder) = Settings(configure);
        DominanceServer server = DominanceServer.Create(settings, configuration ?? new ConfigurationBuilder().Build(), module, clock, Capture(log));
        await server.StartAsync();
        return new TestServer(server, module, log, folder);
    }

    /// <summary>Starts a server that compiles the game in <paramref name="folder"/> and reloads it live.</summary>
    public static async Task<TestServer> StartFromSourceAsync(
        string? folder, Action<DominanceSettings>? configure = null, IConfiguration? configuration = null, TimeProvider? clock = null, IGameStore? store = null)
    {
        var log = new LogCapture();
        GameSources sources = folder is null ? GameSources.Embedded : GameSources.FromFolder(folder);
        (DominanceSettings settings, string temporary) = Settings(configure);
        DominanceServer server = DominanceServer.Create(settings, configuration ?? new ConfigurationBuilder().Build(), sources, clock, Capture(log), store);
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync(); // a start that fails (the game does not load) leaves nothing running
            Directory.Delete(temporary, recursive: true);
            throw;
        }

        return new TestServer(server, null, log, temporary);
    }

    /// <summary>
    /// Test defaults: ephemeral ports, no limit on connections or account creation per address (every test client is on
    /// loopback), and a SQLite file of its own in a new temporary folder.
    /// </summary>
    private static (DominanceSettings Settings, string Folder) Settings(Action<DominanceSettings>? configure)
    {
        string folder = Directory.CreateTempSubdirectory("dominance-test-").FullName;
        var settings = new DominanceSettings();
        settings.Portal.TelnetPort = 0;
        settings.Portal.HttpPort = 0;
        settings.Portal.ConnectionRateLimit = 0;
        settings.Accounts.CreateLimit = 0;
        settings.Persistence.SqliteFile = Path.Combine(folder, "dominance.db");
        settings.Accounts.AllowWeakPasswordHashing = true; // 600,000 PBKDF2 rounds per login test would be minutes of the suite
        settings.Accounts.PasswordIterations = 1_000;
        settings.Reload.CompileInProcess = true; // one warm compiler for the whole suite; CompilerProcessTests use the compiler process
        configure?.Invoke(settings);
        Assert.That(SettingsRegistration.Check(settings), Is.Empty, "test settings must be valid");
        return (settings, folder);
    }

    private static Action<ILoggingBuilder> Capture(LogCapture log) => logging =>
    {
        logging.ClearProviders();
        logging.AddProvider(log);
        logging.SetMinimumLevel(LogLevel.Debug);
    };

    public Task<TelnetTestClient> TelnetAsync() => TelnetTestClient.ConnectAsync(Telnet);

    public Task<WebSocketTestClient> WebSocketAsync(bool gmcp = false, string? resume = null) => WebSocketTestClient.ConnectAsync(Http, gmcp, resume);

    /// <summary>The server's own temporary folder (its database, its resume key).</summary>
    public string Folder => _folder;

    public async ValueTask DisposeAsync()
    {
        Server.RequestStop();
        await _shutdown.WaitAsync(TimeSpan.FromSeconds(30));
        await Server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
