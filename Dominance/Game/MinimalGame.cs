using Dominance.Api;

namespace Dominance.Game;

/// <summary>
/// The smallest useful game: everyone is in one room and can <c>say</c>, <c>who</c>, <c>echo</c> and <c>quit</c>.
/// It shows the shape of a module: per-session state in dictionaries keyed by <see cref="SessionId"/>, all of it
/// touched only from the callbacks, on the game thread.
/// </summary>
public sealed class MinimalGame : IGameModule
{
    private const string Everyone = "everyone";
    private readonly Dictionary<SessionId, string> _names = [];
    private IGameContext _context = null!;

    /// <inheritdoc/>
    public void Start(IGameContext context, ReadOnlyMemory<byte> state) => _context = context;

    /// <inheritdoc/>
    public void OnConnect(SessionId session)
    {
        string name = "Guest" + session.Value;
        _names[session] = name;
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
        string name = _names[session];
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
                _context.Send(session, $"Online ({_names.Count}): {string.Join(", ", _names.Values.Order())}");
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
        if (_names.Remove(session, out string? name))
        {
            _context.SendToGroup(Everyone, $"{name} has left.");
        }
    }
}
