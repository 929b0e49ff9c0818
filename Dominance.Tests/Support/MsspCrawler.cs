using System.Net;
using System.Text;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Support;

/// <summary>A MUD listing crawler: connects, asks for MSSP (telnet option 70), reads one variable and hangs up.</summary>
internal static class MsspCrawler
{
    /// <summary>What a crawler reads as <c>PLAYERS</c> from the telnet endpoint now (its own connection is one more).</summary>
    public static async Task<string> PlayersAsync(IPEndPoint telnet)
    {
        await using RawTelnetClient crawler = await RawTelnetClient.ConnectAsync(telnet);
        await crawler.WaitForAsync([Iac, Will, Mssp]);
        await crawler.SendAsync(Iac, Do, Mssp);
        await crawler.WaitForAsync([Iac, Sb, Mssp]);
        await crawler.WaitForAsync([Iac, Se]);
        string answer = Encoding.UTF8.GetString(crawler.Received);
        int start = answer.IndexOf("\u0001PLAYERS\u0002", StringComparison.Ordinal) + "\u0001PLAYERS\u0002".Length;
        return new string([.. answer[start..].TakeWhile(char.IsAsciiDigit)]);
    }
}
