using System.Text;

namespace Dominance.Portal;

/// <summary>
/// Per-connection rendering of game text, for clients that cannot take it as the game wrote it: colour codes removed
/// (no ANSI, or a screen reader) and UTF-8 turned into Latin-1. Both only ever shrink the text, so they work in place
/// of a buffer the size of the input.
/// </summary>
internal static class TextRendering
{
    /// <summary>
    /// Copies <paramref name="utf8"/> without its ANSI control sequences (ESC [ parameters final-byte, the CSI form every
    /// colour code takes, and a lone ESC) into <paramref name="destination"/>, and returns the length written.
    /// </summary>
    public static int StripControlSequences(ReadOnlySpan<byte> utf8, Span<byte> destination)
    {
        int written = 0;
        for (int i = 0; i < utf8.Length; i++)
        {
            byte b = utf8[i];
            if (b != 0x1B)
            {
                destination[written++] = b;
                continue;
            }

            if (i + 1 < utf8.Length && utf8[i + 1] == (byte)'[')
            {
                i += 2;
                while (i < utf8.Length && utf8[i] is >= 0x20 and < 0x40)
                {
                    i++; // parameters and intermediates; the final byte (0x40-0x7E) ends the sequence
                }
            }
        }

        return written;
    }

    /// <summary>
    /// Converts UTF-8 to Latin-1 (ISO-8859-1) into <paramref name="destination"/> (as long as the input is enough), and
    /// returns the length written. Characters Latin-1 lacks become <c>?</c>.
    /// </summary>
    public static int ToLatin1(ReadOnlySpan<byte> utf8, Span<byte> destination)
    {
        int written = 0;
        while (!utf8.IsEmpty)
        {
            Rune.DecodeFromUtf8(utf8, out Rune rune, out int consumed);
            destination[written++] = rune.Value < 256 ? (byte)rune.Value : (byte)'?';
            utf8 = utf8[consumed..];
        }

        return written;
    }

    /// <summary>Decodes input: Latin-1 if the connection agreed to it, otherwise UTF-8, or Latin-1 if the bytes are not UTF-8.</summary>
    public static string DecodeInput(ReadOnlySpan<byte> bytes, bool latin1) =>
        latin1 || !System.Text.Unicode.Utf8.IsValid(bytes) ? Encoding.Latin1.GetString(bytes) : Encoding.UTF8.GetString(bytes);
}
