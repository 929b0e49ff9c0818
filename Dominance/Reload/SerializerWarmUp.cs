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
/// graph with the shapes game state is made of, on a thread of its own in the idle scheduling class
/// (<see cref="IdleScheduling"/>): it takes a CPU only when nothing else wants it, so that the players who all reconnect
/// when a server starts are not slowed by it (measured: 1,000 guests logged in after 627–809 ms with the warm-up on the
/// thread pool, 403–451 ms without it).
/// </remarks>
internal static class SerializerWarmUp
{
    private const int RoundTripsPerPass = 40;
    private static int s_started;

    /// <summary>Starts the warm-up in the background, the first time only.</summary>
    public static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) == 0)
        {
            new Thread(Run) { Name = "serializer warm-up", IsBackground = true }.Start();
        }
    }

    private static void Run()
    {
        IdleScheduling.TryEnterForCurrentThread();
        // Through the very calls a swap makes (StateSerializer.Write into a buffer writer, then Read), with enough
        // elements that the per-element loops run hot too.
        var serializer = new StateSerializer();
        var buffer = new ArrayBufferWriter<byte>();
        var root = new Sample { Children = [.. Enumerable.Range(0, 64).Select(_ => Sample.Create(1))] };
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < RoundTripsPerPass; i++)
            {
                buffer.ResetWrittenCount();
                serializer.Write(buffer, root);
                serializer.Read<Sample>(buffer.WrittenMemory);
            }

            Thread.Sleep(250); // the runtime's quiet period before it counts calls (this thread's own: nothing waits for it)
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
