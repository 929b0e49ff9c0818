using Dominance.Portal.Sending;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Portal.Telnet;

/// <summary>
/// How a telnet connection writes a broadcast's frame (game text or GMCP), as far as the bytes depend on the
/// connection: colour codes kept or removed, UTF-8 or Latin-1 (with <c>IAC</c> doubled), GMCP's envelope. (Text
/// wrapped to a window is the connection's own, and prompts are never broadcast.) One instance per combination, so that a broadcast's bytes are built once for all the
/// connections that render them alike (<see cref="DirectBroadcast"/>); the write loop uses <see cref="WriteText"/> too,
/// so both ways write the same bytes. MCCP2 is not part of it: the sender compresses per connection, after this.
/// </summary>
internal sealed class TelnetRendering : FrameRendering
{
    private static readonly TelnetRendering[] s_text =
        [new(gmcp: false, plain: false, latin1: false), new(false, false, true), new(false, true, false), new(false, true, true)];

    private readonly bool _gmcp;
    private readonly bool _plain;
    private readonly bool _latin1;

    private TelnetRendering(bool gmcp, bool plain, bool latin1)
    {
        _gmcp = gmcp;
        _plain = plain;
        _latin1 = latin1;
    }

    /// <summary>A GMCP message: <c>IAC SB GMCP</c>, the payload, <c>IAC SE</c>.</summary>
    public static TelnetRendering Gmcp { get; } = new(gmcp: true, plain: false, latin1: false);

    /// <summary>Game text, without colour if <paramref name="plain"/>, in Latin-1 if <paramref name="latin1"/>.</summary>
    public static TelnetRendering Text(bool plain, bool latin1) => s_text[(plain ? 2 : 0) + (latin1 ? 1 : 0)];

    /// <inheritdoc/>
    public override int MaxLength(int payloadLength) => payloadLength + 5; // text never grows; GMCP's envelope is 5 bytes

    /// <inheritdoc/>
    public override int Write(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (_gmcp)
        {
            ReadOnlySpan<byte> start = [Iac, Sb, TelnetCodes.Gmcp];
            start.CopyTo(destination);
            payload.CopyTo(destination[3..]); // UTF-8 never contains 0xFF, so no IAC doubling is needed
            destination[3 + payload.Length] = Iac;
            destination[4 + payload.Length] = Se;
            return payload.Length + 5;
        }

        return WriteText(payload, _plain, _latin1, destination);
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
}
