namespace Dominance.Api;

/// <summary>
/// Data in game state that the reading code does not keep: a member it no longer has (<see cref="Unreadable"/> false),
/// or one whose values it cannot read as its new type (<see cref="Unreadable"/> true).
/// </summary>
/// <param name="Member">The member, as <c>Type.Member</c> (the type's name in the reading code).</param>
/// <param name="Values">How many values would be lost: for a member that is gone, those other than its default.</param>
/// <param name="Unreadable">Whether the member still exists but its values cannot be read as its new type.</param>
public sealed record StateLoss(string Member, int Values, bool Unreadable)
{
    /// <inheritdoc/>
    public override string ToString() =>
        Unreadable ? $"{Member}: {Values:N0} value(s) cannot be read as its new type" : $"{Member}: {Values:N0} value(s), and the new code has no such member";
}
