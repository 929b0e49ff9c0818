using Dominance.Portal.Sending;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Portal.Telnet;

/// <summary>
/// How a telnet connection writes a frame of game output, as far as the bytes depend on the connection: colour codes
/// kept or removed, UTF-8 or Latin-1 (with <c>IAC</c> doubled), a prompt's end (<c>IAC EOR</c>, <c>IAC GA</c> or
/// nothing), GMCP's envelope. One instance per combination, so that a broadcast's bytes are built once for all the
/// connections that render them alike (<see cref="DirectBroadcast"/>); the write loop uses <see cref="WriteText"/> too,
/// so both ways write the same bytes. MCCP2 is not part of it: the sender compresses per connection, after this.
/// </summary>
internal sealed class TelnetRendering : FrameRendering
{
    private static readonly TelnetRendering[] s_text = Each(plain => latin1 => new TelnetRendering(Shape.Text, plain, latin1, PromptEnd.None));
    private static readonly TelnetRendering[][] s_prompts =
        [.. Enum.GetValues<PromptEnd>().Select(end => Each(plain => latin1 => new TelnetRendering(Shape.Prompt, plain, latin1, end)))];

    private readonly Shape _shape;
    private readonly bool _plain;
    private readonly bool _latin1;
    private readonly PromptEnd _end;

    private TelnetRendering(Shape shape, bool plain, bool latin1, PromptEnd end)
    {
        _shape = shape;
        _plain = plain;
        _latin1 = latin1;
        _end = end;
    }

    /// <summary>What ends a prompt, as the client agreed.</summary>
    public enum PromptEnd
    {
        /// <summary>Nothing: the client suppressed go-ahead and did not agree to EOR.</summary>
        None,

        /// <summary><c>IAC EOR</c>: the client agreed to EOR.</summary>
        EndOfRecord,

        /// <summary><c>IAC GA</c>: neither EOR nor suppressed go-ahead.</summary>
        GoAhead,
    }

    private enum Shape : byte
    {
        Text,
        Prompt,
        Gmcp,
    }

    /// <summary>A GMCP message: <c>IAC SB GMCP</c>, the payload, <c>IAC SE</c>.</summary>
    public static TelnetRendering Gmcp { get; } = new(Shape.Gmcp, false, false, PromptEnd.None);

    /// <summary>Game text, without colour if <paramref name="plain"/>, in Latin-1 if <paramref name="latin1"/>.</summary>
    public static TelnetRendering Text(bool plain, bool latin1) => s_text[Index(plain, latin1)];

    /// <summary>A prompt, as <see cref="Text"/>, ended by <paramref name="end"/>.</summary>
    public static TelnetRendering Prompt(bool plain, bool latin1, PromptEnd end) => s_prompts[(int)end][Index(plain, latin1)];

    /// <inheritdoc/>
    public override int MaxLength(int payloadLength) => payloadLength + 5; // text never grows; a prompt's end is 2 bytes, GMCP's envelope 5

    /// <inheritdoc/>
    public override int Write(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (_shape == Shape.Gmcp)
        {
            ReadOnlySpan<byte> start = [Iac, Sb, TelnetCodes.Gmcp];
            start.CopyTo(destination);
            payload.CopyTo(destination[3..]); // UTF-8 never contains 0xFF, so no IAC doubling is needed
            destination[3 + payload.Length] = Iac;
            destination[4 + payload.Length] = Se;
            return payload.Length + 5;
        }

        int length = WriteText(payload, _plain, _latin1, destination);
        if (_shape == Shape.Prompt && _end != PromptEnd.None)
        {
            destination[length++] = Iac;
            destination[length++] = _end == PromptEnd.EndOfRecord ? EndOfRecord : GoAhead;
        }

        return length;
    }

    /// <summary>
    /// Writes game text as a client takes it into <paramref name="destination"/> (at least as long as the text), and
    /// returns the length written: without its colour codes if <paramref name="plain"/>; converted to Latin-1 if
    /// <paramref name="latin1"/>, with the character at 0xFF sent doubled (<c>IAC IAC</c>), as telnet requires. It
    /// never grows: a Latin-1 0xFF comes from two bytes of UTF-8.
    /// </summary>
    public static int WriteText(ReadOnlySpan<byte> text, bool plain, bool latin1, Span<byte> destination)
    {
        int length = text.Length;
        if (plain)
        {
            length = TextRendering.StripControlSequences(text, destination);
        }
        else
        {
            text.CopyTo(destination);
        }

        if (!latin1)
        {
            return length;
        }

        length = TextRendering.ToLatin1(destination[..length], destination);
        int doubled = destination[..length].Count(Iac);
        if (doubled == 0)
        {
            return length;
        }

        // Each IAC doubled, in place, from the end.
        int to = length + doubled;
        for (int from = length - 1; from >= 0; from--)
        {
            byte b = destination[from];
            destination[--to] = b;
            if (b == Iac)
            {
                destination[--to] = Iac;
            }
        }

        return length + doubled;
    }

    private static int Index(bool plain, bool latin1) => (plain ? 2 : 0) + (latin1 ? 1 : 0);

    private static TelnetRendering[] Each(Func<bool, Func<bool, TelnetRendering>> make) =>
        [make(false)(false), make(false)(true), make(true)(false), make(true)(true)];
}
