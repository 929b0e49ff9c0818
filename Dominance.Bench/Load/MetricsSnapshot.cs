using System.Globalization;

namespace Dominance.Bench.Load;

/// <summary>
/// The server's own metrics, read from its <c>/metrics</c> (Prometheus text format): every <c>dominance_</c> series
/// but the histograms' buckets, by name and labels. Servers without it (the baseline) have none.
/// </summary>
internal sealed record MetricsSnapshot(IReadOnlyDictionary<string, double> Series)
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static async Task<MetricsSnapshot?> ReadAsync(LoadTarget target)
    {
        try
        {
            using HttpResponseMessage response = await s_http.GetAsync($"http://{target.Http}/metrics");
            return response.IsSuccessStatusCode ? Parse(await response.Content.ReadAsStringAsync()) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Reads <c>name{labels} value</c> lines; the exporter's own <c>otel_scope_name</c> label is left out.</summary>
    public static MetricsSnapshot Parse(string text)
    {
        var series = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int space = line.LastIndexOf(' ');
            if (!line.StartsWith("dominance_", StringComparison.Ordinal) || line.Contains("_bucket{", StringComparison.Ordinal) || space < 0
                || !double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                continue;
            }

            string name = line[..space]
                .Replace("otel_scope_name=\"Dominance\",", "", StringComparison.Ordinal)
                .Replace("{otel_scope_name=\"Dominance\"}", "", StringComparison.Ordinal);
            series[name] = value;
        }

        return new MetricsSnapshot(series);
    }

    /// <summary>Prints each series before and after, and the change, for the series present in either.</summary>
    public static void Print(TextWriter output, string target, MetricsSnapshot before, MetricsSnapshot after)
    {
        string[] names = [.. before.Series.Keys.Union(after.Series.Keys).Order(StringComparer.Ordinal)];
        int width = Math.Max(20, names.Max(n => n.Length) + 2);
        output.WriteLine();
        output.WriteLine($"{target}'s metrics (/metrics), before and after the measured run:");
        output.WriteLine("".PadRight(width) + "before".PadLeft(18) + "after".PadLeft(18) + "change".PadLeft(18));
        foreach (string name in names)
        {
            double? was = before.Series.TryGetValue(name, out double b) ? b : null;
            double? now = after.Series.TryGetValue(name, out double a) ? a : null;
            output.WriteLine(name.PadRight(width) + Format(was).PadLeft(18) + Format(now).PadLeft(18) + Format(now - (was ?? 0)).PadLeft(18));
        }
    }

    private static string Format(double? value) =>
        value is not { } v ? "-"
        : v == Math.Floor(v) && Math.Abs(v) < 1e15 ? v.ToString("N0", CultureInfo.InvariantCulture)
        : v.ToString("G6", CultureInfo.InvariantCulture);
}
