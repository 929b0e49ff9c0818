namespace Dominance.Api;

/// <summary>
/// A pending one-shot or repeating timer scheduled through <see cref="IGameContext.Schedule"/> or
/// <see cref="IGameContext.ScheduleRepeating"/>. Its callback runs on the game thread.
/// </summary>
public abstract class GameTimer
{
    private protected GameTimer()
    {
    }

    /// <summary>Whether the timer will still fire: it has not been cancelled, and a one-shot timer has not fired yet.</summary>
    public abstract bool IsActive { get; }

    /// <summary>Stops the timer. Safe to call more than once, and from inside its own callback.</summary>
    public abstract void Cancel();
}
