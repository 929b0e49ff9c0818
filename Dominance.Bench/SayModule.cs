using Dominance.Api;

namespace Dominance.Bench;

/// <summary>The relay benchmarks' game: everyone is in one room; <c>say</c> sends the line to the room, but not back to the speaker.</summary>
internal sealed class SayModule : IGameModule
{
    private IGameContext _game = null!;

    /// <inheritdoc/>
    public void Start(IGameContext context, ReadOnlyMemory<byte> state) => _game = context;

    /// <inheritdoc/>
    public void OnConnect(SessionId session) => _game.Join(session, "room");

    /// <inheritdoc/>
    public ValueTask OnInput(SessionId session, string line)
    {
        _game.SendToGroup("room", $"Guest{session.Value} says: {line.AsSpan(4)}", except: session);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public void OnDisconnect(SessionId session)
    {
    }
}
