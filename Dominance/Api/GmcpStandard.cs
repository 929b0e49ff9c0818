namespace Dominance.Api;

/// <summary>
/// The standard GMCP modules (those of the GMCP specification and of Mudlet, such as <c>Char</c>, <c>Room</c> and
/// <c>Comm</c>): their packages go only to clients that listed the module in <c>Core.Supports</c>.
/// </summary>
public static class GmcpStandard
{
    /// <summary>The top-level names of the standard modules.</summary>
    public static IReadOnlyList<string> Modules { get; } = ["Core", "Char", "Room", "Comm", "Group", "Client", "External", "IRE", "Logging"];

    /// <summary>Whether <paramref name="package"/> belongs to a standard module.</summary>
    public static bool IsStandard(string package)
    {
        int dot = package.IndexOf('.');
        ReadOnlySpan<char> top = dot < 0 ? package : package.AsSpan(0, dot);
        foreach (string module in Modules)
        {
            if (top.Equals(module, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="modules"/> (names without versions) contains <paramref name="package"/>'s module or a
    /// module above it: <c>Comm.Channel.Text</c> is covered by <c>Comm.Channel</c> and by <c>Comm</c>.
    /// </summary>
    public static bool Covers(IReadOnlySet<string> modules, string package)
    {
        if (modules.Count == 0)
        {
            return false;
        }

        int end = package.LastIndexOf('.');
        while (end > 0)
        {
            if (modules.Contains(package[..end]))
            {
                return true;
            }

            end = package.LastIndexOf('.', end - 1);
        }

        return modules.Contains(package);
    }
}
