using System.Diagnostics.Tracing;
using System.Text.Json;
using Microsoft.Diagnostics.NETCore.Client;

namespace Dominance.Bench.Load;

/// <summary>
/// The server's memory at one moment, after a full blocking collection: resident memory (VmRSS, from /proc) and the
/// managed heap (<c>heapBytes</c> of Dominance's <c>/healthz</c>, <c>GC.GetTotalMemory</c>). For <c>--idle-report</c>:
/// read once before the first client connects and once when every client is logged in and idle, the difference divided
/// by the clients is the memory an idle connection costs.
/// </summary>
internal sealed record IdleMemory(long ResidentBytes, long? HeapBytes)
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>
    /// Makes the server collect (the runtime's diagnostics port, as dotnet-gcdump does: an EventPipe session with the
    /// GC's GCHeapCollect keyword induces a blocking gen2 collection), waits for it by the server's gen2 count, then reads.
    /// Null when the process is unknown or not on Linux.
    /// </summary>
    public static async Task<IdleMemory?> ReadAfterCollectionAsync(LoadTarget target)
    {
        if (target.ProcessId is not { } pid || !File.Exists($"/proc/{pid}/status"))
        {
            return null;
        }

        (int Gen2, long Heap)? before = await HealthAsync(target);
        const long GCHeapCollect = 0x800000;
        var client = new DiagnosticsClient(pid);
        using (EventPipeSession session = client.StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GCHeapCollect)], requestRundown: false))
        {
            Task drain = session.EventStream.CopyToAsync(Stream.Null);
            long deadline = Environment.TickCount64 + 10_000;
            while (before is { } b && (await HealthAsync(target))?.Gen2 <= b.Gen2 && Environment.TickCount64 < deadline)
            {
                await Task.Delay(50);
            }

            await Task.Delay(before is null ? 2000 : 200); // without /healthz, give the collection time; then let the runtime settle
            session.Stop();
            await drain.WaitAsync(TimeSpan.FromSeconds(10));
        }

        return new IdleMemory(ReadResident(pid), (await HealthAsync(target))?.Heap);
    }

    private static long ReadResident(int pid)
    {
        string line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    private static async Task<(int Gen2, long Heap)?> HealthAsync(LoadTarget target)
    {
        try
        {
            using JsonDocument health = JsonDocument.Parse(await s_http.GetStringAsync($"http://{target.Http}/healthz"));
            JsonElement r = health.RootElement.GetProperty("runtime");
            return (r.GetProperty("gen2Collections").GetInt32(), r.GetProperty("heapBytes").GetInt64());
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Prints what each of <paramref name="clients"/> idle connections costs, from the readings before and after they connected.</summary>
    public static void Print(TextWriter output, string target, int clients, IdleMemory before, IdleMemory after)
    {
        output.WriteLine(
            $"  {target}: idle memory after a full collection, before the first client / with {clients} logged in and idle: "
            + $"resident {before.ResidentBytes / 1048576.0:F1} / {after.ResidentBytes / 1048576.0:F1} MiB, "
            + $"{(after.ResidentBytes - before.ResidentBytes) / 1024.0 / clients:F1} KB per connection; "
            + (before.HeapBytes is { } h0 && after.HeapBytes is { } h1
                ? $"managed heap {h0 / 1048576.0:F1} / {h1 / 1048576.0:F1} MiB, {(h1 - h0) / 1024.0 / clients:F1} KB per connection."
                : "managed heap n/a."));
    }
}
