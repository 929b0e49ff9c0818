namespace Dominance.Core;

/// <summary>
/// A session's inputs that wait behind one still in flight (see <see cref="InboundDispatcher"/>). Created for a
/// session the first time one of its inputs awaits, so that sessions whose inputs never do carry none of it. Game
/// thread only.
/// </summary>
internal sealed class SessionInputs
{
    /// <summary>The number of the session's input in flight, or 0 if none is. While one is, later inputs wait in <see cref="Waiting"/>.</summary>
    public int InFlight { get; set; }

    /// <summary>Numbers the session's inputs that went in flight, so that a late completion can tell it was let go.</summary>
    public int Started { get; set; }

    /// <summary>Inputs and out-of-band messages that arrived while an input was in flight, in arrival order.</summary>
    public Queue<InboundEvent> Waiting { get; } = new();

    /// <summary>Whether the client has been told, since the queue last emptied, that its inputs are being dropped.</summary>
    public bool ToldFull { get; set; }
}
