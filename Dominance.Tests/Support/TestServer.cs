using System.Net;
using Dominance.Api;
using Dominance.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Tests.Support;

/// <summary>A real server in process, on ephemeral loopback ports, with its log captured.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(DominanceServer server, IGameModule module, LogCapture log)
    {
        Server = server;
        Module = module;
        Log = log;
    }

    public DominanceServer Server { get; }

    public IGameModule Module { get; }

    public TestModule TestModule => (TestModule)Module;

    public LogCapture Log { get; }

    public IPEndPoint Telnet => Server.TelnetEndPoint;

    public IPEndPoint Http => Server.HttpEndPoint;

    public static async Task<TestServer> StartAsync(
        Action<DominanceSettings>? configure = null,
        IGameModule? module = null,
        TimeProvider? clock = null,
        IConfiguration? configuration = null)
    {
        var settings = new DominanceSettings();
        settings.Portal.TelnetPort = 0;
        settings.Portal.HttpPort = 0;
        settings.Portal.ConnectionRateLimit = 0;
        configure?.Invoke(settings);
        Assert.That(settings.Validate(), Is.Empty, "test settings must be valid");

        var log = new LogCapture();
        module ??= new TestModule();
        DominanceServer server = DominanceServer.Create(
            settings,
            configuration ?? new ConfigurationBuilder().Build(),
            module,
            clock ?? TimeProvider.System,
            logging =>
            {
                logging.ClearProviders();
                logging.AddProvider(log);
                logging.SetMinimumLevel(LogLevel.Debug);
            });
        await server.StartAsync();
        return new TestServer(server, module, log);
    }

    public Task<TelnetTestClient> TelnetAsync() => TelnetTestClient.ConnectAsync(Telnet);

    public Task<WebSocketTestClient> WebSocketAsync(bool gmcp = false) => WebSocketTestClient.ConnectAsync(Http, gmcp);

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Server.StopAsync(timeout.Token);
        await Server.DisposeAsync();
    }
}
