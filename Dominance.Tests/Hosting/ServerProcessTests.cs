using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Dominance.Hosting;
using Dominance.Tests.Support;

namespace Dominance.Tests.Hosting;

/// <summary>The server as users run it: a separate process, signals, exit codes and startup errors.</summary>
public sealed class ServerProcessTests
{
    [Test]
    public async Task SigtermTellsPlayersFlushesClosesAndExitsZero()
    {
        await using ServerProcess server = ServerProcess.Start([]);
        await server.WaitUntilRunningAsync();
        await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(server.Telnet);
        await player.Lines.WaitForAsync("for everything else.");
        await player.SendAsync("connect guest");
        await player.SendAsync("chat bye all");
        await player.Lines.WaitForAsync("bye all");

        server.Signal(15);

        Assert.That(await player.Lines.WaitForAsync("shutting down"), Is.EqualTo(ServerLifetime.ShutdownMessage));
        await player.Lines.ClosedAsync();
        Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);
    }

    [Test]
    public async Task CtrlCAlsoShutsDownGracefully()
    {
        await using ServerProcess server = ServerProcess.Start([]);
        await server.WaitUntilRunningAsync();
        await using WebSocketTestClient player = await WebSocketTestClient.ConnectAsync(server.Http);
        await player.Lines.WaitForAsync("for everything else.");

        server.Signal(2);

        Assert.That(await player.Lines.WaitForAsync("shutting down"), Is.EqualTo(ServerLifetime.ShutdownMessage));
        await player.Lines.ClosedAsync();
        Assert.That(await server.ExitCodeAsync(), Is.Zero, server.Output);
    }

    [TestCase(StoreKind.Sqlite)]
    [TestCase(StoreKind.PostgreSQL)]
    public async Task AFinalSaveThatCannotBeWrittenMakesTheExitCodeNonZero(StoreKind kind)
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(kind);
        await using ServerProcess server = ServerProcess.Start([.. database.Arguments, "--Persistence:SaveInterval=0", "--Persistence:ShutdownSaveTimeout=00:00:01"]);
        await server.WaitUntilRunningAsync();

        await database.DestroyAsync(); // rm dominance.db*, or DROP DATABASE ... WITH (FORCE)
        server.Signal(15);

        Assert.That(await server.ExitCodeAsync(), Is.EqualTo(1), server.Output);
        Assert.That(server.Output, Does.Contain("The final world save could not be written within 00:00:01"));
        Assert.That(server.Output, Does.Contain("dominance: exit code 1: the final world save could not be written: "));
    }

    [Test]
    public async Task AKillMinusNineAFewSecondsAfterAChangeKeepsTheChange()
    {
        string folder = Directory.CreateTempSubdirectory("dominance-kill-").FullName;
        string file = Path.Combine(folder, "dominance.db");
        string[] args = [$"--Persistence:SqliteFile={file}", "--Game:TickSeconds=3600"]; // the default save interval
        try
        {
            (int Garrison, int Resources) before;
            await using (ServerProcess first = ServerProcess.Start(args))
            {
                await first.WaitUntilRunningAsync();
                await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(first.Telnet);
                await player.Lines.WaitForAsync("for everything else.");
                await player.SendAsync("create Alice secret1");
                await player.Lines.WaitForAsync("is ready");
                DateTimeOffset changed = DateTimeOffset.UtcNow;
                await player.SendAsync("train 3");
                before = Trained(await player.Lines.WaitForAsync("It now holds"));

                // Within the default interval a periodic save stores the change; then the process dies without a word.
                await using (var store = new Dominance.Persistence.SqliteGameStore(file))
                {
                    await Poll.UntilAsync(async () => (await store.ListSavesAsync()).Any(s => s.CreatedAt > changed), "a periodic save after the change", TimeSpan.FromSeconds(8));
                }

                first.Signal(9);
                Assert.That(await first.ExitCodeAsync(), Is.Not.Zero);
            }

            await using ServerProcess second = ServerProcess.Start(args);
            await second.WaitUntilRunningAsync();
            await using TelnetTestClient again = await TelnetTestClient.ConnectAsync(second.Telnet);
            await again.Lines.WaitForAsync("for everything else.");
            await again.SendAsync("connect Alice secret1");
            await again.Lines.WaitForAsync("Welcome");
            await again.SendAsync("train 1");
            Assert.That(Trained(await again.Lines.WaitForAsync("It now holds")), Is.EqualTo((before.Garrison + 1, before.Resources - 10)), "the restored world has the soldiers trained before the kill");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        static (int, int) Trained(string line)
        {
            System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(line, @"It now holds (\d+); you have (\d+) resources left");
            return (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [TestCase("--Portal:TelnetPort=abc", "Portal:TelnetPort")]
    [TestCase("--Portal:TelnetPort=70000", "Portal:TelnetPort must be a port from 0 to 65535")]
    [TestCase("--Core:IdleTimeout=banana", "Core:IdleTimeout")]
    [TestCase("--Portal:MaxInputLength=0", "Portal:MaxInputLength must be from 1 to 1000000; it is 0.")]
    public async Task ABadSettingStopsStartupWithAMessageThatNamesIt(string argument, string expected)
    {
        await using ServerProcess server = ServerProcess.Start([argument], ephemeralPorts: false);
        Assert.That(await server.ExitCodeAsync(), Is.EqualTo(2), server.Output);
        Assert.That(server.Output, Does.Contain(expected));
        Assert.That(server.Output, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public async Task EnvironmentVariablesOverrideSettings()
    {
        await using ServerProcess bad = ServerProcess.Start([], new Dictionary<string, string> { ["DOMINANCE__Portal__HttpPort"] = "-1" }, ephemeralPorts: false);
        Assert.That(await bad.ExitCodeAsync(), Is.EqualTo(2), bad.Output);
        Assert.That(bad.Output, Does.Contain("Portal:HttpPort must be a port"));
    }

    [Test]
    public async Task APortInUseIsReportedWithoutAStackTrace()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await using ServerProcess server = ServerProcess.Start(["--telnet-port", port.ToString(), "--http-port", "0"], ephemeralPorts: false);
        Assert.That(await server.ExitCodeAsync(), Is.EqualTo(1), server.Output);
        Assert.That(server.Output, Does.Contain("cannot listen").And.Contain("address already in use").And.Contain("Portal:TelnetPort"));
        Assert.That(server.Output, Does.Not.Contain("   at "));
    }

    [Test]
    public async Task HealthzAnswersWithASmallJsonStatus()
    {
        await using ServerProcess server = ServerProcess.Start([]);
        await server.WaitUntilRunningAsync();
        await using TelnetTestClient player = await TelnetTestClient.ConnectAsync(server.Telnet);
        await player.Lines.WaitForAsync("for everything else.");
        using var http = new HttpClient();
        HttpResponseMessage response = await http.GetAsync($"http://{server.Http}/healthz");
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.That(body, Does.Contain("\"status\":\"ok\"").And.Contain("\"sessions\":1"));
        using JsonDocument json = JsonDocument.Parse(body);
        Assert.That(json.RootElement.GetProperty("runtime").GetProperty("allocatedBytes").GetInt64(), Is.GreaterThan(0), "the runtime's figures are included");
    }
}
