using System.Net;
using Dominance.Core;
using Microsoft.Extensions.Options;

namespace Dominance.Hosting;

/// <summary>Settings of the server's metrics (configuration section <c>Metrics</c>): <c>/metrics</c> and OTLP.</summary>
public sealed class MetricsSettings
{
    /// <summary>The configuration section these settings are read from.</summary>
    public const string Section = "Metrics";

    /// <summary>Whether <c>/metrics</c> serves the metrics in Prometheus text format. Default on.</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>
    /// Where <c>/metrics</c> listens. Empty (the default): on the HTTP port, answering only clients on this machine
    /// (loopback), whatever <c>Portal:Host</c> is. An address and port (<c>0.0.0.0:9464</c>; port 0 picks a free one):
    /// on a listener of its own there, answering whoever reaches it, and not on the HTTP port.
    /// </summary>
    public string Listen { get; set; } = "";

    /// <summary>An OpenTelemetry collector's OTLP endpoint (<c>http://collector:4317</c>). Empty (the default): no OTLP export.</summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>The OTLP protocol: <c>grpc</c> (the default) or <c>http/protobuf</c>.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>How often metrics are pushed to the OTLP endpoint. Default 15 seconds.</summary>
    public TimeSpan OtlpInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The endpoint of <see cref="Listen"/>, if it names one. Valid once the settings were checked.</summary>
    internal IPEndPoint? ListenEndPoint => Listen.Length == 0 ? null : IPEndPoint.Parse(Listen);
}

/// <summary>Checks <see cref="MetricsSettings"/>; each failure names the setting.</summary>
internal sealed class MetricsSettingsValidator : IValidateOptions<MetricsSettings>
{
    public ValidateOptionsResult Validate(string? name, MetricsSettings options)
    {
        var errors = new SettingErrors(MetricsSettings.Section);
        if (options.Listen.Length > 0 && !(IPEndPoint.TryParse(options.Listen, out IPEndPoint? listen) && options.Listen.Contains(':', StringComparison.Ordinal) && listen.Port is >= 0 and <= 65535))
        {
            errors.Add(nameof(options.Listen), $"must be empty (/metrics on the HTTP port, for loopback clients) or an address and port such as 0.0.0.0:9464; it is '{options.Listen}'.");
        }

        if (options.OtlpEndpoint.Length > 0 && !(Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out Uri? otlp) && otlp.Scheme is "http" or "https"))
        {
            errors.Add(nameof(options.OtlpEndpoint), $"must be empty (no OTLP export) or an http:// or https:// address such as http://127.0.0.1:4317; it is '{options.OtlpEndpoint}'.");
        }

        if (options.OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            errors.Add(nameof(options.OtlpProtocol), $"must be grpc or http/protobuf; it is '{options.OtlpProtocol}'.");
        }

        if (options.OtlpInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add(nameof(options.OtlpInterval), $"must be at least 00:00:01; it is {options.OtlpInterval}.");
        }

        return errors.Result;
    }
}
