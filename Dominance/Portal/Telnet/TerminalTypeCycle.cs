using System.Globalization;
using Dominance.Api;

namespace Dominance.Portal.Telnet;

/// <summary>
/// The MTTS terminal type cycle (https://tintin.mudhalla.net/protocols/mtts/): the server asks for the terminal type
/// up to three times. An MTTS client answers with its name (<c>MUDLET</c>), then its terminal type
/// (<c>XTERM-256COLOR</c>), then <c>MTTS n</c>, a bit vector of what it can do; a client that repeats an answer has
/// nothing more to say. Pure state: <see cref="TelnetSession"/> sends the requests and publishes the result.
/// </summary>
internal sealed class TerminalTypeCycle
{
    /// <summary>The most requests sent: name, terminal type, MTTS.</summary>
    public const int MaxRounds = 3;

    private string? _last;

    /// <summary>Answers received so far.</summary>
    public int Rounds { get; private set; }

    /// <summary>Whether the cycle is over: nothing more will be asked.</summary>
    public bool Done { get; private set; }

    /// <summary>
    /// Takes one answer and changes <paramref name="info"/> accordingly. Returns whether to ask again. Answers after the
    /// cycle is over (a client that sends unasked) change nothing.
    /// </summary>
    public bool Take(string answer, ref SessionInfo info)
    {
        if (Done)
        {
            return false;
        }

        Rounds++;
        bool repeated = answer.Equals(_last, StringComparison.OrdinalIgnoreCase);
        _last = answer;
        if (answer.StartsWith("MTTS ", StringComparison.OrdinalIgnoreCase) &&
            int.TryParse(answer.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int bits))
        {
            info = info with { Mtts = (MttsFlags)bits };
            Done = true;
            return false;
        }

        if (Rounds == 1)
        {
            // The first answer is the client's name (MTTS) or its only terminal type (others); until it says more, it is both.
            info = info with { ClientName = answer, TerminalType = answer };
        }
        else if (!repeated)
        {
            info = info with { TerminalType = answer };
        }

        Done = repeated || Rounds >= MaxRounds;
        return !Done;
    }
}
