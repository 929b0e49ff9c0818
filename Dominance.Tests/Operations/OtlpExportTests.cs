using System.Net;
using System.Net.Sockets;
using System.Text;
using Dominance.Tests.Support;

namespace Dominance.Tests.Operations;

/// <summary>The OTLP exporter, by setting: the server pushes its metrics to a collector's endpoint.</summary>
[NonParallelizable] // reads a server's metrics, which any other server in this process would share (see TestRun.cs)
public sealed class OtlpExportTests
{
    [Test]
    public async Task WithAnOtlpEndpointSetTheServerPushesItsMetricsThere()
    {
        // A stand-in for a collector: it takes the exporter's OTLP/HTTP requests and keeps their paths and bodies.
        int port = FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var received = new TaskCompletionSource<(string Path, string ContentType, byte[] Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                HttpListenerContext request;
                try
                {
                    request = await collector.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await request.Request.InputStream.CopyToAsync(body);
                request.Response.StatusCode = 200;
                request.Response.Close();
                if (Encoding.UTF8.GetString(body.ToArray()).Contains("dominance.inputs.handled", StringComparison.Ordinal))
                {
                    received.TrySetResult((request.Request.Url!.AbsolutePath, request.Request.ContentType ?? "", body.ToArray()));
                }
            }
        });

        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Metrics.Prometheus = false;
            s.Metrics.OtlpEndpoint = $"http://127.0.0.1:{port}/v1/metrics";
            s.Metrics.OtlpProtocol = "http/protobuf";
            s.Metrics.OtlpInterval = TimeSpan.FromSeconds(1);
        });

        Task first = await Task.WhenAny(received.Task, Task.Delay(Poll.Deadline));
        Assert.That(first, Is.SameAs(received.Task), "the server pushed its metrics to the OTLP endpoint");
        (string path, string contentType, byte[] payload) = await received.Task;
        Assert.That(path, Is.EqualTo("/v1/metrics"));
        Assert.That(contentType, Is.EqualTo("application/x-protobuf"));
        Assert.That(Encoding.UTF8.GetString(payload), Does.Contain("dominance.game_thread.busy").And.Contain("dominance.sessions"));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
