using System.Net;
using Dominance.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Dominance.Hosting;

/// <summary>
/// The metrics of one process (a core, or a portal of its own) as <see cref="MetricsSettings"/> asks: the instruments
/// (<see cref="ServerMetrics"/>), <c>/metrics</c> in Prometheus text format on the HTTP port for loopback clients or on
/// a listener of its own, and OTLP export.
/// </summary>
/// <param name="settings">The <c>Metrics</c> settings, checked.</param>
/// <param name="service">The OpenTelemetry service name the export carries (<c>dominance</c>, <c>dominance-portal</c>).</param>
internal sealed class MetricsEndpoint(MetricsSettings settings, string service)
{
    /// <summary>The listener of its own, once Kestrel has been configured, if <see cref="MetricsSettings.Listen"/> names one.</summary>
    public ListenOptions? Listener { get; private set; }

    /// <summary>Adds the listener of its own to <paramref name="kestrel"/>, if the settings name one.</summary>
    public void Listen(KestrelServerOptions kestrel)
    {
        if (settings.Prometheus && settings.ListenEndPoint is { } endPoint)
        {
            kestrel.Listen(endPoint, listen =>
            {
                Listener = listen;
                listen.Protocols = HttpProtocols.Http1;
            });
        }
    }

    /// <summary>Registers the instruments (<see cref="ServerMetrics"/>, on the host's meter factory) and the exporters the settings ask for.</summary>
    public void AddServices(IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton(provider => new ServerMetrics(provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        if (!settings.Prometheus && settings.OtlpEndpoint.Length == 0)
        {
            return;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(service))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ServerMetrics.MeterName, "System.Runtime");
                if (settings.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (settings.OtlpEndpoint.Length > 0)
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        exporter.Endpoint = new Uri(settings.OtlpEndpoint);
                        exporter.Protocol = settings.OtlpProtocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)settings.OtlpInterval.TotalMilliseconds;
                    });
                }
            });
    }

    /// <summary>
    /// Serves <c>/metrics</c>, if the settings ask for it: on the listener of its own (which then answers only
    /// <c>/metrics</c> and the health checks), or else on the HTTP port for clients on this machine. Goes first in the
    /// pipeline, before anything that answers other paths.
    /// </summary>
    public void Map(WebApplication app)
    {
        if (!settings.Prometheus)
        {
            return;
        }

        app.Use((http, next) =>
        {
            bool onOwnListener = Listener is { } own && http.Connection.LocalPort == own.IPEndPoint!.Port;
            if (onOwnListener && http.Request.Path != "/metrics" && http.Request.Path != "/healthz" && http.Request.Path != "/readyz")
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(http);
        });
        app.UseOpenTelemetryPrometheusScrapingEndpoint(http =>
        {
            if (http.Request.Path != "/metrics")
            {
                return false;
            }

            if (Listener is { } own)
            {
                return http.Connection.LocalPort == own.IPEndPoint!.Port;
            }

            IPAddress? remote = http.Connection.RemoteIpAddress;
            return remote is not null && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
        });
    }
}
