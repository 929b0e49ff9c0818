using System.Buffers;
using Dominance.Api;

namespace Dominance.Reload;

/// <summary>
/// Gets the serializer code that every reload runs on the game thread optimized before the first reload needs it.
/// </summary>
/// <remarks>
/// A reload's pause is mostly exporting and importing the game's state. The game's own code, and the member accessors
/// compiled for its types, are fully optimized at once (code in a collectible context, and dynamic methods, are not
/// tiered), but the serializer code they run (MessagePack's reader and writer, the object formatter, the collection
/// formatters) is shared by every type of the same shape and starts unoptimized: the runtime promotes it only after it
/// has been called in two passes separated by a quiet period. Without this, the first reloads and saves of a process
/// pause several times longer than the rest. This runs those two passes in the background, once per process, over a
/// graph with the shapes game state is made of.
/// </remarks>
internal static class SerializerWarmUp
{
    private const int RoundTripsPerPass = 40;

    /// <summary>
    /// Children of the sample's root (each with 9 of its own): enough that every per-element method is called far more
    /// often than the runtime's count for promotion in each pass, and few enough that the warm-up, which runs while
    /// every player reconnects after a start, takes little CPU from them. 1,000 guests logging in at start-up on one CPU
    /// took 640–932 ms with 64, 524–604 ms with 8, and 403–451 ms with no warm-up at all; the serializer's methods reach
    /// the same tiers either way (BENCHMARKS.md).
    /// </summary>
    private const int ChildrenPerRoot = 8;
    private static int s_started;

    /// <summary>Starts the warm-up in the background, the first time only.</summary>
    public static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) == 0)
        {
            _ = Task.Run(RunAsync);
        }
    }

    private static async Task RunAsync()
    {
        // Through the very calls a swap makes (StateSerializer.Write into a buffer writer, then Read), with enough
        // elements that the per-element loops run hot too.
        var serializer = new StateSerializer();
        var buffer = new ArrayBufferWriter<byte>();
        var root = new Sample { Children = [.. Enumerable.Range(0, ChildrenPerRoot).Select(_ => Sample.Create(1))] };
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < RoundTripsPerPass; i++)
            {
                buffer.ResetWrittenCount();
                serializer.Write(buffer, root);
                serializer.Read<Sample>(buffer.WrittenMemory);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250)).ConfigureAwait(false); // the runtime's quiet period before it counts calls
        }
    }

    /// <summary>The shapes game state is made of: primitives, strings, nested objects, lists, arrays and dictionaries.</summary>
    private sealed class Sample
    {
        public int Int { get; set; }
        public long Long { get; set; }
        public double Double { get; set; }
        public bool Bool { get; set; }
        public string Text { get; set; } = "";
        public string? Missing { get; set; }
        public SessionId Session { get; set; }
        public DateTimeOffset When { get; set; }
        public int[] Ints { get; set; } = [];
        public List<long> Longs { get; set; } = [];
        public List<string> Texts { get; set; } = [];
        public List<Sample> Children { get; set; } = [];
        public Dictionary<string, Sample> ByName { get; set; } = [];
        public Dictionary<long, int> ById { get; set; } = [];
        public Dictionary<SessionId, string> BySession { get; set; } = [];
        public int Field;

        public static Sample Create(int depth = 2)
        {
            var sample = new Sample
            {
                Int = 42, Long = 1L << 40, Double = 0.5, Bool = true, Text = "territory", Session = new SessionId(7), When = DateTimeOffset.UnixEpoch,
                Ints = [1, 200, 70_000, -1, -200, -70_000], Longs = [4, 300, 1L << 40, -5, -(1L << 40)],
                Texts = ["a", "a name of more than thirty-one characters", "naïve"], ById = { [1] = 2, [3] = 4 }, BySession = { [new SessionId(1)] = "one" }, Field = 9,
            };
            if (depth > 0)
            {
                for (int i = 0; i < 8; i++)
                {
                    sample.Children.Add(Create(depth - 1));
                }

                sample.ByName["child"] = Create(depth - 1);
            }

            return sample;
        }
    }
}
