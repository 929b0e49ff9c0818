namespace Dominance.Bench;

/// <summary>Game sources the benchmarks compile: a world of territories, the shape of Dominance's state.</summary>
internal static class BenchGames
{
    /// <summary>A game whose state is <paramref name="entities"/> territories, created on a fresh start.</summary>
    public static string World(int entities, string version = "v1") => $$"""
        namespace BenchWorld;

        public sealed class World : IGameModule
        {
            private IGameContext _context = null!;
            private State _state = new();

            public sealed class Territory
            {
                public int Id { get; set; }
                public string Name { get; set; } = "";
                public long Owner { get; set; }
                public int Soldiers { get; set; }
                public int Resources { get; set; }
                public int[] Exits { get; set; } = [];
            }

            public sealed class State
            {
                public long Tick { get; set; }
                public List<Territory> Territories { get; set; } = [];
            }

            public void Start(IGameContext context, ReadOnlyMemory<byte> state)
            {
                _context = context;
                _state = context.State.Read<State>(state) ?? new State
                {
                    Territories = [.. Enumerable.Range(0, {{entities}}).Select(i => new Territory
                    {
                        Id = i, Name = "Territory " + i, Owner = i % 100, Soldiers = i % 50, Resources = i % 1000, Exits = [i + 1, i + 2],
                    })],
                };
            }

            public void ExportState(IBufferWriter<byte> output) => _context.State.Write(output, _state);

            public void OnConnect(SessionId session) => _context.Send(session, "welcome");

            public ValueTask OnInput(SessionId session, string line)
            {
                if (line.StartsWith("chat ", StringComparison.Ordinal))
                {
                    _context.SendToAll($"{session} chats: {line}"); // the players' load in EditToLive
                    return ValueTask.CompletedTask;
                }

                _context.Send(session, "{{version}} " + line);
                return ValueTask.CompletedTask;
            }

            public void OnDisconnect(SessionId session)
            {
            }
        }
        """;
}
