using System.Net;
using Dominance.Hosting;
using Dominance.Tests.Support;

namespace Dominance.Tests.Operations;

/// <summary>Where <c>/metrics</c> is served, by setting: on the HTTP port for loopback, on a listener of its own, or not at all.</summary>
[NonParallelizable] // reads a server's metrics, which any other server in this process would share (see TestRun.cs)
public sealed class MetricsEndpointTests
{
    [Test]
    public async Task ByDefaultMetricsAreOnTheHttpPortInPrometheusTextFormat()
    {
        await using TestServer server = await TestServer.StartAsync();
        using var http = new HttpClient();

        using HttpResponseMessage response = await http.GetAsync($"http://{server.Http}/metrics");
        string text = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain").Or.EqualTo("application/openmetrics-text"));
        Assert.That(text, Does.Contain("# TYPE dominance_inputs_handled_total counter"));
        Assert.That(text, Does.Contain("dominance_closes_cut_short_total{otel_scope_name=\"Dominance\"} 0"), "closes that gave up on a client's last output");
        Assert.That(text, Does.Contain("dominance_sessions{otel_scope_name=\"Dominance\",transport=\"telnet\"} 0"));
    }

    [Test]
    public async Task MetricsCanBeTurnedOff()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Metrics.Prometheus = false);
        using var http = new HttpClient();

        using HttpResponseMessage response = await http.GetAsync($"http://{server.Http}/metrics");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task MetricsCanHaveAListenerOfTheirOwnThatServesNothingElse()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Metrics.Listen = "127.0.0.1:0");
        using var http = new HttpClient();
        IPEndPoint metrics = server.Server.MetricsEndPoint;
        Assert.That(metrics.Port, Is.Not.EqualTo(server.Http.Port));

        using HttpResponseMessage own = await http.GetAsync($"http://{metrics}/metrics");
        using HttpResponseMessage onHttpPort = await http.GetAsync($"http://{server.Http}/metrics");
        using HttpResponseMessage webClient = await http.GetAsync($"http://{metrics}/");
        using HttpResponseMessage ready = await http.GetAsync($"http://{metrics}/readyz");

        Assert.That(own.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await own.Content.ReadAsStringAsync(), Does.Contain("dominance_inputs_handled_total"));
        Assert.That(onHttpPort.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "not on the game's HTTP port as well");
        Assert.That(webClient.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the metrics listener serves no web client");
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), "but it does answer the health checks");
    }

    [TestCase("Listen", "nowhere", "Metrics:Listen must be empty")]
    [TestCase("Listen", "127.0.0.1", "Metrics:Listen must be empty")]
    [TestCase("OtlpEndpoint", "collector:4317", "Metrics:OtlpEndpoint must be empty")]
    [TestCase("OtlpProtocol", "udp", "Metrics:OtlpProtocol must be grpc or http/protobuf")]
    public void BadMetricsSettingsAreNamed(string key, string value, string message)
    {
        var settings = new DominanceSettings();
        typeof(MetricsSettings).GetProperty(key)!.SetValue(settings.Metrics, value);

        Assert.That(SettingsRegistration.Check(settings), Has.Some.StartsWith(message));
    }
}
