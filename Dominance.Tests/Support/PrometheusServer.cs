using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Dominance.Tests.Support;

/// <summary>
/// A real Prometheus server (Debian's <c>/usr/bin/prometheus</c>) on a free loopback port, scraping one target's
/// <c>/metrics</c> every 250 ms, with its data in a temporary folder. Its HTTP API answers the test's queries.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private const string Binary = "/usr/bin/prometheus";

    private readonly ChildProcess _process;
    private readonly string _folder;
    private readonly HttpClient _http;

    private PrometheusServer(ChildProcess process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    /// <summary>Everything Prometheus wrote so far.</summary>
    public string Output => _process.Output;

    /// <summary>Starts Prometheus scraping <paramref name="target"/> and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(IPEndPoint target)
    {
        if (!File.Exists(Binary))
        {
            Prerequisite.Missing("Prometheus is not installed (apt-get install prometheus): no /usr/bin/prometheus.");
        }

        string folder = Directory.CreateTempSubdirectory("dominance-prometheus-").FullName;
        string config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 250ms
              scrape_timeout: 200ms
            scrape_configs:
              - job_name: dominance
                static_configs:
                  - targets: ['{target}']
            """);
        int port = FreePort();
        ChildProcess process = ChildProcess.Start(Binary, [
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
        ], workingDirectory: folder);
        var server = new PrometheusServer(process, folder, port);
        await Poll.UntilAsync(async () =>
        {
            Assert.That(process.Exited.IsCompleted, Is.False, $"Prometheus exited:\n{process.Output}");
            try
            {
                using HttpResponseMessage ready = await server._http.GetAsync("-/ready");
                return ready.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "Prometheus is ready");
        return server;
    }

    /// <summary>
    /// Runs an instant query; returns each series' labels (as <c>name="value"</c> pairs joined by commas) and value.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, double>> QueryAsync(string query)
    {
        using JsonDocument answer = JsonDocument.Parse(await _http.GetStringAsync($"api/v1/query?query={Uri.EscapeDataString(query)}"));
        Assert.That(answer.RootElement.GetProperty("status").GetString(), Is.EqualTo("success"), answer.RootElement.ToString());
        var series = new Dictionary<string, double>();
        foreach (JsonElement result in answer.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            string labels = string.Join(",", result.GetProperty("metric").EnumerateObject()
                .Where(label => label.Name is not ("instance" or "job"))
                .Select(label => $"{label.Name}=\"{label.Value.GetString()}\""));
            series[labels] = double.Parse(result.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }

        return series;
    }

    /// <summary>Polls a query until its one series (or the sum of its series) satisfies <paramref name="condition"/>; returns that value.</summary>
    public async Task<double> WaitForAsync(string query, Func<double, bool> condition, string what)
    {
        double value = double.NaN;
        await Poll.UntilAsync(async () =>
        {
            IReadOnlyDictionary<string, double> series = await QueryAsync(query);
            value = series.Count == 0 ? double.NaN : series.Values.Sum();
            return series.Count > 0 && condition(value);
        }, $"{what} (query {query}, last value {value})", TimeSpan.FromSeconds(60));
        return value;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
