namespace Dominance.Api;

/// <summary>
/// An older name of a state property or field: state written under that name is read into this member. This is how a
/// member of game state is renamed without losing its values:
/// <code>
/// [StateAlias("Resources")]
/// public int Treasury { get; set; }
/// </code>
/// The member is written under its own name from then on; the alias can go once every save has been written again.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = true, Inherited = true)]
public sealed class StateAliasAttribute(string formerName) : Attribute
{
    /// <summary>The name the member had before.</summary>
    public string FormerName { get; } = formerName;
}
