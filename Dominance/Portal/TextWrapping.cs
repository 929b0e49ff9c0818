using System.Buffers;
using Dominance.Api;

namespace Dominance.Portal;

/// <summary>
/// Wraps game text to a client's window (telnet NAWS, or the web client's reported columns), per connection, the way
/// <see cref="TextRendering"/> removes colour: every recipient of a group send shares the one payload the game made, and
/// each connection whose window is narrower than one of its lines writes its own wrapped copy.
/// </summary>
/// <remarks>
/// <para>Lines are broken at spaces and continue two columns further in than they started (at most half the width).
/// Colour codes take no columns and are never split. A coloured stretch (a command, a territory's name: spaces inside
/// colour) moves to the next line whole when it fits there; one longer than the window is broken at its own spaces, its
/// colour carried over by the terminal. A single word longer than the window stays whole. Lines that fit are copied as
/// they are.</para>
/// <para>Columns are counted as characters (UTF-8 lead bytes); wide (East Asian) characters count one.</para>
/// </remarks>
internal static class TextWrapping
{
    /// <summary>Narrower windows than this are not wrapped for: the client's own wrapping does better.</summary>
    public const int MinWidth = 20;

    /// <summary>
    /// Whether <paramref name="payload"/> has a line that may be too long for a window of <paramref name="width"/>
    /// columns (0: unknown). Constant time after the payload's first measurement (<see cref="OutputPayload.LongestLine"/>).
    /// </summary>
    public static bool Needed(OutputPayload payload, int width) => width >= MinWidth && payload.LongestLine > width;

    /// <summary>
    /// Writes <paramref name="utf8"/> (telnet-ready lines: CRLF line ends, ANSI colour codes) to <paramref name="output"/>
    /// with every line longer than <paramref name="width"/> columns wrapped.
    /// </summary>
    public static void Wrap(ReadOnlySpan<byte> utf8, int width, IBufferWriter<byte> output)
    {
        while (true)
        {
            int newline = utf8.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = newline < 0 ? utf8 : utf8[..newline];
            if (Columns(line) <= width)
            {
                output.Write(line);
            }
            else
            {
                WrapLine(line, width, output);
            }

            if (newline < 0)
            {
                return;
            }

            output.Write("\r\n"u8);
            utf8 = utf8[(newline + 2)..];
        }
    }

    /// <summary>The columns a line takes: its characters, without colour codes.</summary>
    public static int Columns(ReadOnlySpan<byte> line)
    {
        int columns = 0;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == 0x1B)
            {
                i = EndOfEscape(line, i);
            }
            else if ((line[i] & 0xC0) != 0x80)
            {
                columns++;
            }
        }

        return columns;
    }

    private static void WrapLine(ReadOnlySpan<byte> line, int width, IBufferWriter<byte> output)
    {
        int indent = Math.Min(line.Length - line.TrimStart((byte)' ').Length + 2, width / 2);
        int column = -1; // -1: nothing written yet on the first row
        var units = new Words(line);
        while (units.Position <= line.Length)
        {
            // A unit: words joined by spaces inside colour (a coloured stretch), or one word.
            Words words = units;
            int start = units.Position;
            int unitWidth = -1;
            int end;
            bool joined;
            do
            {
                units.Next(out _, out end, out int visible, out joined);
                unitWidth += visible + 1;
            }
            while (joined);

            ReadOnlySpan<byte> unit = line[start..end];
            if (column < 0 ? unitWidth <= width : column + 1 + unitWidth <= width)
            {
                if (column >= 0)
                {
                    output.Write(" "u8);
                }

                output.Write(unit);
                column = Math.Max(column + 1, 0) + unitWidth;
            }
            else if (unit.IsEmpty)
            {
                // A second space where the line breaks: dropped.
            }
            else if (column >= 0 && indent + unitWidth <= width)
            {
                NewRow(indent, output);
                output.Write(unit);
                column = indent + unitWidth;
            }
            else
            {
                // Longer than a row: its words are placed one by one, inside its colour.
                do
                {
                    words.Next(out int wordStart, out int wordEnd, out int visible, out joined);
                    ReadOnlySpan<byte> word = line[wordStart..wordEnd];
                    if (column < 0)
                    {
                        output.Write(word);
                        column = visible;
                    }
                    else if (column + 1 + visible <= width)
                    {
                        output.Write(" "u8);
                        output.Write(word);
                        column += 1 + visible;
                    }
                    else
                    {
                        NewRow(indent, output);
                        output.Write(word);
                        column = indent + visible;
                    }
                }
                while (joined);
            }
        }
    }

    private static void NewRow(int indent, IBufferWriter<byte> output)
    {
        Span<byte> row = output.GetSpan(2 + indent);
        row[0] = (byte)'\r';
        row[1] = (byte)'\n';
        row.Slice(2, indent).Fill((byte)' ');
        output.Advance(2 + indent);
    }

    /// <summary>The index of the last byte of the escape sequence starting at <paramref name="i"/> (CSI: ESC [ parameters final byte).</summary>
    private static int EndOfEscape(ReadOnlySpan<byte> line, int i)
    {
        if (i + 1 >= line.Length || line[i + 1] != (byte)'[')
        {
            return i; // a lone ESC
        }

        int end = i + 2;
        while (end < line.Length && line[end] is >= 0x20 and < 0x40)
        {
            end++; // parameters and intermediates; the final byte (0x40-0x7E) ends the sequence
        }

        return Math.Min(end, line.Length - 1);
    }

    /// <summary>
    /// Reads a line's words: split at every space, each with its columns, and whether the space after it is inside
    /// colour (the last colour code before it was not a reset). A copy resumes from where it was copied.
    /// </summary>
    private ref struct Words(ReadOnlySpan<byte> line)
    {
        private readonly ReadOnlySpan<byte> _line = line;
        private bool _coloured;

        /// <summary>Where the next word starts; past the end of the line once the last word has been read.</summary>
        public int Position { get; private set; }

        public void Next(out int start, out int end, out int visible, out bool joined)
        {
            start = Position;
            visible = 0;
            int i = start;
            for (; i < _line.Length && _line[i] != (byte)' '; i++)
            {
                if (_line[i] == 0x1B)
                {
                    int last = EndOfEscape(_line, i);
                    ReadOnlySpan<byte> code = _line[i..(last + 1)];
                    if (code.Length > 2 && code[^1] == (byte)'m')
                    {
                        _coloured = !code.SequenceEqual("\u001b[0m"u8) && !code.SequenceEqual("\u001b[m"u8); // SGR: a colour, or the reset
                    }

                    i = last;
                }
                else if ((_line[i] & 0xC0) != 0x80)
                {
                    visible++;
                }
            }

            end = i;
            Position = i + 1;
            joined = _coloured && i < _line.Length;
        }
    }
}
