using System.Text;

namespace Dominance.Portal.Telnet;

/// <summary>
/// The character sets Dominance speaks on a telnet connection (RFC 2066 names): UTF-8, and ISO-8859-1 (Latin-1) for
/// clients that cannot do UTF-8. Pure functions over subnegotiation payloads.
/// </summary>
internal static class CharsetChoice
{
    /// <summary>The default, and the first choice.</summary>
    public const string Utf8 = "UTF-8";

    /// <summary>The fallback for clients without UTF-8.</summary>
    public const string Latin1 = "ISO-8859-1";

    /// <summary>What the server offers in its REQUEST, in order of preference, with the separator first.</summary>
    public static ReadOnlySpan<byte> Offer => ";UTF-8;ISO-8859-1"u8;

    /// <summary>The canonical name of a character set the server speaks, or <see langword="null"/> if it does not.</summary>
    public static string? Canonical(string name) => name.Trim().ToUpperInvariant() switch
    {
        "UTF-8" or "UTF8" => Utf8,
        "ISO-8859-1" or "ISO_8859-1" or "ISO8859-1" or "LATIN1" or "LATIN-1" or "ISO-LATIN-1" or "L1" or "CP819" => Latin1,
        _ => null,
    };

    /// <summary>
    /// Picks from a client's REQUEST payload (after the REQUEST byte: a separator, then names, possibly after a
    /// <c>[TTABLE]</c> version byte): UTF-8 if it is offered, else Latin-1, else <see langword="null"/>.
    /// </summary>
    public static string? Pick(ReadOnlySpan<byte> request)
    {
        if (request.StartsWith("[TTABLE]"u8))
        {
            request = request.Length > 9 ? request[9..] : [];
        }

        if (request.Length < 2)
        {
            return null;
        }

        char separator = (char)request[0];
        string[] names = Encoding.ASCII.GetString(request[1..]).Split(separator, StringSplitOptions.RemoveEmptyEntries);
        string?[] known = [.. names.Select(Canonical)];
        return known.Contains(Utf8) ? Utf8 : known.Contains(Latin1) ? Latin1 : null;
    }
}
