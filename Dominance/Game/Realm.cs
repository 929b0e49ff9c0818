namespace DominanceGame;

/// <summary>
/// The map: sixteen territories on a four-by-four grid, each joined to its neighbours north, south, east and west.
/// The map is code, not state: edit it and the game reloads with it (a territory that is new starts neutral).
/// </summary>
public static class Realm
{
    /// <summary>A territory: where it is drawn, what it yields each tick, and how many neutral soldiers hold it before anyone does.</summary>
    public sealed record Territory(string Name, int X, int Y, int Yield, int NeutralGarrison);

    public static readonly IReadOnlyList<Territory> Territories =
    [
        new("Frostpeak", 0, 0, 6, 4), new("Highkeep", 1, 0, 9, 6), new("Ironhold", 2, 0, 8, 5), new("Ravenspire", 3, 0, 6, 4),
        new("Saltmere", 0, 1, 7, 3), new("Ashford", 1, 1, 10, 5), new("Stonebridge", 2, 1, 8, 4), new("Goldcrest", 3, 1, 12, 8),
        new("Mistvale", 0, 2, 6, 3), new("Redmarch", 1, 2, 9, 5), new("Thornwood", 2, 2, 7, 4), new("Sunreach", 3, 2, 8, 5),
        new("Duskfen", 0, 3, 5, 2), new("Brightwater", 1, 3, 8, 4), new("Emberfall", 2, 3, 7, 4), new("Wolfden", 3, 3, 6, 3),
    ];

    private static readonly (string Name, string Short, int Dx, int Dy)[] s_directions =
        [("north", "n", 0, -1), ("south", "s", 0, 1), ("east", "e", 1, 0), ("west", "w", -1, 0)];

    /// <summary>The territory named <paramref name="name"/> (any case, or a unique beginning of it), if there is one.</summary>
    public static Territory? Find(string name)
    {
        Territory? exact = Territories.FirstOrDefault(t => t.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (exact is not null || name.Length < 3)
        {
            return exact;
        }

        Territory[] starts = [.. Territories.Where(t => t.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase))];
        return starts.Length == 1 ? starts[0] : null;
    }

    /// <summary>The exits of a territory: direction and destination.</summary>
    public static IEnumerable<(string Direction, Territory To)> Exits(Territory from)
    {
        foreach ((string direction, _, int dx, int dy) in s_directions)
        {
            if (Territories.FirstOrDefault(t => t.X == from.X + dx && t.Y == from.Y + dy) is { } to)
            {
                yield return (direction, to);
            }
        }
    }

    /// <summary>The full name of a direction ("n" is "north"), or <see langword="null"/> if it is not one.</summary>
    public static string? Direction(string word) =>
        s_directions.FirstOrDefault(d => d.Name.Equals(word, StringComparison.OrdinalIgnoreCase) || d.Short.Equals(word, StringComparison.OrdinalIgnoreCase)).Name;

    /// <summary>Where an exit from <paramref name="from"/> leads, by direction or by the destination's name.</summary>
    public static Territory? Neighbour(Territory from, string directionOrName)
    {
        string? direction = Direction(directionOrName);
        foreach ((string exit, Territory to) in Exits(from))
        {
            if (exit == direction || to.Name.Equals(directionOrName, StringComparison.OrdinalIgnoreCase) ||
                (directionOrName.Length >= 3 && to.Name.StartsWith(directionOrName, StringComparison.OrdinalIgnoreCase)))
            {
                return to;
            }
        }

        return null;
    }

    /// <summary>The direction opposite to <paramref name="direction"/>.</summary>
    public static string Opposite(string direction) => direction switch
    {
        "north" => "south",
        "south" => "north",
        "east" => "west",
        _ => "east",
    };
}
