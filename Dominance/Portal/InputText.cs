using System.Buffers;
using System.Text;

namespace Dominance.Portal;

/// <summary>
/// Neutralises text a client sent before it reaches the core, so that nothing a player types can drive another
/// player's terminal, fake a line on it, or reach the log as a control code. Every input line and out-of-band message
/// passes through <see cref="Clean"/>, whatever the transport.
/// </summary>
/// <remarks>
/// Removed: C0 controls (NUL, BEL, BS, ESC, ...), DEL, C1 controls (U+0080 to U+009F, among them U+009B, the
/// one-character CSI), the bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069) that
/// reorder how the rest of a line reads, and the Unicode line and paragraph separators. The whitespace controls (TAB,
/// LF, VT, FF, CR) become a space instead, so words stay apart and JSON keeps its meaning. Everything else, emoji and
/// joiners included, is left alone. Output is not touched: the game's own ANSI colours still work.
/// </remarks>
internal static class InputText
{
    private static readonly SearchValues<char> s_unsafe = SearchValues.Create(Unsafe());

    /// <summary>
    /// Returns <paramref name="text"/> without control codes (see the remarks). Returns the same instance, and
    /// allocates nothing, when there is nothing to remove.
    /// </summary>
    public static string Clean(string text)
    {
        int first = text.AsSpan().IndexOfAny(s_unsafe);
        if (first < 0)
        {
            return text;
        }

        var clean = new StringBuilder(text.Length);
        clean.Append(text, 0, first);
        foreach (char c in text.AsSpan(first))
        {
            if (c is '\t' or '\n' or '\v' or '\f' or '\r')
            {
                clean.Append(' ');
            }
            else if (!s_unsafe.Contains(c))
            {
                clean.Append(c);
            }
        }

        return clean.ToString();
    }

    private static string Unsafe()
    {
        var set = new StringBuilder();
        for (char c = '\0'; c < ' '; c++)
        {
            set.Append(c);
        }

        for (char c = '\u007f'; c <= '\u009f'; c++)
        {
            set.Append(c);
        }

        return set.Append("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069").ToString();
    }
}
