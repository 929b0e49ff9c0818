using Dominance.Tests.Support;

namespace Dominance.Tests.Operations;

/// <summary>
/// A real Prometheus scrapes a real server's <c>/metrics</c>: the series an operator relies on exist, and move when
/// people play.
/// </summary>
[NonParallelizable] // reads a server's metrics, which any other server in this process would share (see TestRun.cs)
public sealed class PrometheusTests
{
    [Test]
    public async Task PrometheusScrapesTheServerAndItsSeriesMoveWithPlay()
    {
        await using ServerProcess server = ServerProcess.Start([]);
        await server.WaitUntilRunningAsync();
        await using PrometheusServer prometheus = await PrometheusServer.StartAsync(server.Http);

        // Scraped: the series are there before anyone plays.
        double busyBefore = await prometheus.WaitForAsync("dominance_game_thread_busy_seconds_total", value => value > 0, "the game thread's busy time is scraped");
        double handledBefore = await prometheus.WaitForAsync("dominance_inputs_handled_total", _ => true, "the inputs handled are scraped");
        await prometheus.WaitForAsync("dominance_sessions", value => value == 0, "no sessions are open");
        double deliveriesBefore = await prometheus.WaitForAsync("dominance_deliveries_total", _ => true, "the deliveries are scraped");
        await prometheus.WaitForAsync("dominance_inbound_depth", _ => true, "the inbound depth is scraped");
        await prometheus.WaitForAsync("dominance_send_queue_depth", _ => true, "the send queue depth is scraped");
        await prometheus.WaitForAsync("dotnet_gc_collections_total", _ => true, "the runtime's own metrics are scraped");

        // Play: an admin creates an account, talks, saves; a second player fails a login, then logs in.
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(server.Telnet);
        await alice.Lines.WaitForAsync("for everything else.");
        await alice.SendAsync("create Alice secret1");
        await alice.Lines.WaitForAsync("Welcome, Alice.");
        await using WebSocketTestClient bob = await WebSocketTestClient.ConnectAsync(server.Http);
        await bob.Lines.WaitForAsync("for everything else.");
        await bob.SendAsync("connect Alice wrong-password");
        await bob.Lines.WaitForAsync("Wrong name or password.");
        await prometheus.WaitForAsync("dominance_sessions{transport=\"telnet\"}", value => value == 1, "one telnet session is counted");
        await prometheus.WaitForAsync("dominance_sessions{transport=\"websocket\"}", value => value == 1, "one WebSocket session is counted");
        await alice.SendAsync("chat hello realm");
        await alice.Lines.WaitForAsync("hello realm");
        await alice.SendAsync("save");
        await alice.Lines.WaitForAsync("Saved (save #");
        string tooLong = new('x', 7000);
        await alice.SendAsync(tooLong);
        await alice.Lines.WaitForAsync("Input too long");

        await prometheus.WaitForAsync("dominance_inputs_handled_total", value => value >= handledBefore + 3, "the inputs handled move");
        await prometheus.WaitForAsync("dominance_inputs_relayed_total", value => value >= 3, "the inputs relayed move");
        await prometheus.WaitForAsync("dominance_inputs_rejected_total{reason=\"size\"}", value => value == 1, "the oversized input is counted");
        await prometheus.WaitForAsync("dominance_deliveries_total", value => value > deliveriesBefore, "the deliveries move");
        await prometheus.WaitForAsync("dominance_sent_bytes_total", value => value > 0, "the bytes sent move");
        await prometheus.WaitForAsync("dominance_game_thread_busy_seconds_total", value => value > busyBefore, "the game thread's busy time moves");
        await prometheus.WaitForAsync("dominance_input_reply_time_seconds_count", value => value >= 3, "each input's reply time is recorded");
        await prometheus.WaitForAsync("dominance_logins_total{outcome=\"failed\"}", value => value == 1, "the failed login is counted");
        await prometheus.WaitForAsync("dominance_accounts_created_total", value => value == 1, "the account created is counted");
        await prometheus.WaitForAsync("dominance_saves_total{outcome=\"succeeded\"}", value => value >= 1, "the save is counted");
        await prometheus.WaitForAsync("dominance_save_stall_seconds_count", value => value >= 1, "the save's stall is recorded");
        await prometheus.WaitForAsync("dominance_connections_accepted_total", value => value == 2, "the connections are counted");

        await alice.SendAsync("reload");
        await alice.Lines.WaitForAsync("is live");
        await prometheus.WaitForAsync("dominance_reloads_total{outcome=\"succeeded\"}", value => value == 1, "the reload is counted");
        await prometheus.WaitForAsync("dominance_reload_pause_seconds_count", value => value == 1, "the reload's pause is recorded");

        await bob.SendAsync("connect Alice secret1");
        await bob.Lines.WaitForAsync("Welcome, Alice.");
        await prometheus.WaitForAsync("dominance_logins_total{outcome=\"succeeded\"}", value => value == 1, "the login is counted");
    }
}
