namespace DominanceGame;

/// <summary>ANSI colours for game text. Telnet clients show them; the browser client renders the same codes.</summary>
/// <remarks>
/// The game keeps to one meaning per colour, and the browser client relies on it: <see cref="Cyan"/> marks a command
/// the player can type (the client makes it clickable), <see cref="Yellow"/> a territory's name, and the map's owners are
/// <see cref="Green"/> for yours, <see cref="Red"/> for others' and <see cref="Gray"/> for neutral, in the text map and
/// the browser's map alike. Player names are blue, magenta for admins, gray for guests.
/// </remarks>
public static class Ansi
{
    public const string Reset = "\u001b[0m";

    public static string Bold(string text) => $"\u001b[1m{text}{Reset}";

    public static string Red(string text) => $"\u001b[31m{text}{Reset}";

    public static string Green(string text) => $"\u001b[32m{text}{Reset}";

    public static string Yellow(string text) => $"\u001b[33m{text}{Reset}";

    public static string Blue(string text) => $"\u001b[34m{text}{Reset}";

    public static string Magenta(string text) => $"\u001b[35m{text}{Reset}";

    public static string Cyan(string text) => $"\u001b[36m{text}{Reset}";

    public static string Gray(string text) => $"\u001b[90m{text}{Reset}";

    /// <summary>A colour of the xterm 256-colour palette: only for clients that have it (<see cref="ColorSupport.Ansi256"/>).</summary>
    public static string Color256(int color, string text) => $"\u001b[38;5;{color}m{text}{Reset}";
}
