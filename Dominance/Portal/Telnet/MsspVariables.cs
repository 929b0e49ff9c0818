using System.Globalization;
using System.Net;
using System.Text;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Portal.Telnet;

/// <summary>
/// The MUD Server Status Protocol answer (https://tintin.mudhalla.net/protocols/mssp/): the variables a MUD listing
/// crawler reads. Names and fixed facts come from the server and <see cref="PortalSettings.Mssp"/>; the players online
/// (as the core counts them: <see cref="PortalService.Players"/>), the start time and the port are read when the crawler asks.
/// </summary>
internal static class MsspVariables
{
    /// <summary>The variables, in order: the server's own, then the settings' (which replace any of the same name).</summary>
    public static List<KeyValuePair<string, string>> Collect(PortalService portal, EndPoint? local)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["NAME"] = "Dominance",
            ["CODEBASE"] = "Dominance",
            ["FAMILY"] = "Custom",
            ["HOSTNAME"] = portal.Settings.Host,
            ["LANGUAGE"] = "English",
            ["CRAWL DELAY"] = "-1",
            ["ANSI"] = "1",
            ["UTF-8"] = "1",
            ["XTERM 256 COLORS"] = "1",
            ["XTERM TRUE COLORS"] = "1",
            ["GMCP"] = "1",
            ["MCCP"] = "1",
            ["MSSP"] = "1",
            ["MSDP"] = "0",
            ["MXP"] = "0",
            ["PUEBLO"] = "0",
            ["VT100"] = "0",
            ["SSL"] = "0",
        };

        foreach ((string key, string value) in portal.Settings.Mssp)
        {
            values[key] = value;
        }

        values["PLAYERS"] = (portal.Players?.PlayersOnline ?? portal.SessionCount).ToString(CultureInfo.InvariantCulture);
        values["UPTIME"] = portal.StartedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        values["PORT"] = ((local as IPEndPoint)?.Port ?? portal.Settings.TelnetPort).ToString(CultureInfo.InvariantCulture);
        return [.. values];
    }

    /// <summary>The whole answer: <c>IAC SB MSSP (VAR name VAL value)... IAC SE</c>.</summary>
    public static byte[] Encode(IEnumerable<KeyValuePair<string, string>> variables)
    {
        var bytes = new List<byte>(512) { Iac, Sb, Mssp };
        foreach ((string name, string value) in variables)
        {
            bytes.Add(MsspVar);
            bytes.AddRange(Clean(name));
            bytes.Add(MsspVal);
            bytes.AddRange(Clean(value));
        }

        bytes.AddRange([Iac, Se]);
        return [.. bytes];
    }

    // VAR, VAL, NUL and IAC cannot appear inside a name or a value (settings are checked; this keeps the frame sound).
    private static IEnumerable<byte> Clean(string text) => Encoding.UTF8.GetBytes(text).Where(b => b > MsspVal && b != Iac);
}
