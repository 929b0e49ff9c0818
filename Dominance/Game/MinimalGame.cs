namespace DominanceGame;

/// <summary>
/// The smallest useful game: everyone is in one room and can <c>say</c>, <c>who</c>, <c>echo</c> and <c>quit</c>.
/// It shows the shape of a module: per-session state keyed by <see cref="SessionId"/>, touched only from the
/// callbacks (on the game thread), and handed to the next generation of the code when it is reloaded.
/// </summary>
public sealed class MinimalGame : IGameModule
{
    private const string Everyone = "everyone";
    private IGameContext _context = null!;
    private State _state = new();

    /// <summary>Everything this game remembers. Public fields and properties are carried across reloads.</summary>
    public sealed class State
    {
        public Dictionary<SessionId, string> Names { get; set; } = [];
    }

    /// <inheritdoc/>
    public void Start(IGameContext context, ReadOnlyMemory<byte> state)
    {
        _context = context;
        _state = context.State.Read<State>(state) ?? new State();
    }

    /// <inheritdoc/>
    public void ExportState(IBufferWriter<byte> output) => _context.State.Write(output, _state);

    /// <inheritdoc/>
    public void OnConnect(SessionId session)
    {
        string name = "Guest" + session.Value;
        _state.Names[session] = name;
        _context.Join(session, Everyone);
        _context.Send(session, $"Welcome to Dominance, {name}. Commands: say <text>, who, echo <text>, quit.");
        _context.SendToGroup(Everyone, $"{name} has arrived.", except: session);
    }

    /// <inheritdoc/>
    public ValueTask OnInput(SessionId session, string line)
    {
        string trimmed = line.Trim();
        int space = trimmed.IndexOf(' ');
        string verb = (space < 0 ? trimmed : trimmed[..space]).ToLowerInvariant();
        string rest = space < 0 ? "" : trimmed[(space + 1)..].Trim();
        string name = _state.Names.GetValueOrDefault(session) ?? "Guest" + session.Value;
        switch (verb)
        {
            case "":
                break;
            case "say" when rest.Length > 0:
                _context.Send(session, $"You say: {rest}");
                _context.SendToGroup(Everyone, $"{name} says: {rest}", except: session);
                break;
            case "say":
                _context.Send(session, "Say what?");
                break;
            case "who":
                _context.Send(session, $"Online ({_state.Names.Count}): {string.Join(", ", _state.Names.Values.Order())}");
                break;
            case "echo":
                _context.Send(session, rest);
                break;
            case "quit":
                _context.Disconnect(session, "Goodbye.");
                break;
            default:
                _context.Send(session, $"Unknown command '{verb}'. Commands: say <text>, who, echo <text>, quit.");
                break;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public void OnDisconnect(SessionId session)
    {
        if (_state.Names.Remove(session, out string? name))
        {
            _context.SendToGroup(Everyone, $"{name} has left.");
        }
    }
}
