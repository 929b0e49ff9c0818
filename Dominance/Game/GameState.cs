namespace DominanceGame;

/// <summary>
/// Everything the game remembers. It is written out with <see cref="IGameContext.State"/> when the code is reloaded
/// and when the world is saved, and read back by the next generation: public properties only, and a new property needs
/// a sensible default because old state will not have it.
/// </summary>
public sealed class GameState
{
    /// <summary>Ticks since the world began.</summary>
    public long Tick { get; set; }

    /// <summary>The dice: a seeded random source kept in state, so the same seed fights the same battles.</summary>
    public ulong Dice { get; set; }

    /// <summary>Who holds each territory, by territory name.</summary>
    public Dictionary<string, Holding> Territories { get; set; } = [];

    /// <summary>Players, by lower-case name: accounts' characters (kept while they are away) and guests (while they are here).</summary>
    public Dictionary<string, Player> Players { get; set; } = [];

    /// <summary>Armies on the march; each battle is fought at the next tick, in the order the attacks were ordered.</summary>
    public List<Attack> Attacks { get; set; } = [];

    /// <summary>Who is behind each connection.</summary>
    public Dictionary<SessionId, Visitor> Sessions { get; set; } = [];
}

/// <summary>One territory's owner (null while neutral) and the soldiers holding it.</summary>
public sealed class Holding
{
    public string? Owner { get; set; }

    public int Garrison { get; set; }
}

/// <summary>A character in the world.</summary>
public sealed class Player
{
    public string Name { get; set; } = "";

    public bool IsGuest { get; set; }

    public bool IsAdmin { get; set; }

    public int Resources { get; set; }

    public string Location { get; set; } = "";

    public string? Home { get; set; }

    /// <summary>
    /// The tick at which the player last entered or left the realm (realm time: a server that is down does not count).
    /// Territories of a player away too long fall free.
    /// </summary>
    public long? LastSeenTick { get; set; }
}

/// <summary>Soldiers sent from one territory against another.</summary>
public sealed class Attack
{
    public string Attacker { get; set; } = "";

    public string From { get; set; } = "";

    public string To { get; set; } = "";

    public int Soldiers { get; set; }
}

/// <summary>A connection: before login, while typing a password, or playing.</summary>
public sealed class Visitor
{
    /// <summary>The player this connection plays (lower-case key into <see cref="GameState.Players"/>), once logged in.</summary>
    public string? Player { get; set; }

    /// <summary>The name whose password the next line is (the password prompt).</summary>
    public string? PasswordFor { get; set; }

    /// <summary>Whether the password being typed is for a new account.</summary>
    public bool Creating { get; set; }

    /// <summary>Whether to show the prompt (the <c>prompt</c> command); <see langword="null"/>: as the client marks prompts.</summary>
    public bool? Prompt { get; set; }
}
