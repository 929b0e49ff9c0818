namespace Dominance.Tests.Support;

/// <summary>A temporary game folder with one source file, <c>Game.cs</c>, built from <see cref="Source"/>.</summary>
internal sealed class GameFolder : IDisposable
{
    public GameFolder(string source)
    {
        Path = Directory.CreateTempSubdirectory("dominance-game-").FullName;
        Write(source);
    }

    public string Path { get; }

    public string GameFile => System.IO.Path.Combine(Path, "Game.cs");

    /// <summary>
    /// A small game for reload tests. <paramref name="version"/> prefixes its replies; the other parts are spliced into
    /// its state class, its <c>Start</c> and its command switch.
    /// </summary>
    public static string Source(string version, string stateMembers = "", string start = "", string commands = "") => $$"""
        namespace ReloadTestGame;

        public sealed class Game : IGameModule
        {
            private IGameContext _context = null!;
            private State _state = new();

            public sealed class State
            {
                public int Counter { get; set; }
                public List<int> Seen { get; set; } = [];
                {{stateMembers}}
            }

            public void Start(IGameContext context, ReadOnlyMemory<byte> state)
            {
                _context = context;
                _state = context.State.Read<State>(state) ?? new State();
                {{start}}
            }

            public void ExportState(IBufferWriter<byte> output) => _context.State.Write(output, _state);

            public void OnConnect(SessionId session) => _context.Send(session, "welcome {{version}}");

            public ValueTask OnInput(SessionId session, string line)
            {
                string[] words = line.Split(' ');
                switch (words[0])
                {
                    case "inc":
                        _state.Counter++;
                        _context.Send(session, $"{{version}} counter={_state.Counter}");
                        break;
                    case "seq":
                        _state.Seen.Add(int.Parse(words[1]));
                        _context.Send(session, $"{{version}} seq={words[1]}");
                        break;
                    case "check":
                        bool ordered = _state.Seen.SequenceEqual(Enumerable.Range(0, _state.Seen.Count));
                        _context.Send(session, $"seen={_state.Seen.Count} ordered={ordered}");
                        break;
                    case "admin":
                        _context.Join(session, IGameContext.AdminGroup);
                        _context.Send(session, "you are an admin");
                        break;
                    case "join":
                        _context.Join(session, words[1]);
                        _context.Send(session, "joined " + words[1]);
                        break;
                    case "reload":
                        _context.RequestReload(force: words.Length > 1 && words[1] == "force");
                        _context.Send(session, "reload requested");
                        break;
                    {{commands}}
                    default:
                        _context.Send(session, "{{version}} unknown " + line);
                        break;
                }

                return ValueTask.CompletedTask;
            }

            public void OnDisconnect(SessionId session)
            {
            }
        }
        """;

    /// <summary>Replaces Game.cs the way an editor saves: write a temporary file, then rename it over the old one.</summary>
    public void Write(string source)
    {
        string temporary = GameFile + ".tmp~";
        File.WriteAllText(temporary, source);
        File.Move(temporary, GameFile, overwrite: true);
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
