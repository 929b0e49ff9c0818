namespace Dominance.Api;

/// <summary>
/// Thrown by <see cref="StateSerializer.Read{T}"/> when the state holds data that the reading code would drop (see
/// <see cref="StateLoss"/>) and the reading is not allowed to drop it. On a reload this refuses the new code: the old
/// code keeps running with its state, and admins are told which members and how many values; <c>reload force</c>
/// reads anyway.
/// </summary>
public sealed class StateLossException : Exception
{
    /// <summary>Creates the exception for <paramref name="losses"/>.</summary>
    public StateLossException(IReadOnlyList<StateLoss> losses)
        : base("The new code would drop game state: " + string.Join("; ", losses) + ".") => Losses = losses;

    /// <summary>What would be lost, one entry per member.</summary>
    public IReadOnlyList<StateLoss> Losses { get; }
}
