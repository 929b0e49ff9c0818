using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Portal.Telnet;

/// <summary>What <see cref="TelnetParser.Parse"/> found.</summary>
internal enum TelnetEventKind : byte
{
    /// <summary>Nothing complete yet; feed more bytes.</summary>
    None,

    /// <summary>A line of input ended; its bytes are in <see cref="TelnetParser.Line"/>.</summary>
    Line,

    /// <summary>A line ended that was longer than the limit; it was discarded while it arrived.</summary>
    LineTooLong,

    /// <summary>A command: <c>IAC WILL/WONT/DO/DONT option</c>, or a bare <c>IAC cmd</c> such as AYT.</summary>
    Command,

    /// <summary>A complete subnegotiation; its bytes are in <see cref="TelnetParser.Subnegotiation"/>.</summary>
    Subnegotiation,

    /// <summary>
    /// A subnegotiation passed the size limit (reported once, as it passes). The rest of it, up to its IAC SE, is
    /// discarded, and it is not reported when it ends.
    /// </summary>
    SubnegotiationTooLong,
}

/// <summary>One thing the parser found. <see cref="Length"/> is the line length in characters.</summary>
internal readonly record struct TelnetEvent(TelnetEventKind Kind, byte Command = 0, byte Option = 0, int Length = 0);

/// <summary>
/// A resumable telnet (RFC 854) input parser: it strips IAC sequences, including ones split across reads, from a line
/// protocol. Lines end with CR LF, CR NUL, a lone CR or a lone LF. Backspace/DEL and IAC EC/EL edit the line; other
/// control characters are dropped. It needs no I/O and keeps no state outside itself.
/// </summary>
/// <remarks>
/// Memory is bounded: a line longer than the limit (counted in characters, so multi-byte UTF-8 is fair) stops being
/// stored as soon as it passes the limit, and is reported as <see cref="TelnetEventKind.LineTooLong"/> when it ends.
/// Subnegotiations are capped the same way; an oversized one is reported once, as it passes the cap, and ignored. Malformed sequences (IAC followed by an
/// unknown byte, or an unterminated subnegotiation interrupted by another command) are skipped, never fatal.
/// </remarks>
internal sealed class TelnetParser
{
    private enum State : byte
    {
        Data,
        Iac,
        Option,
        SubOption,
        SubData,
        SubIac,
    }

    private readonly int _maxLineChars;
    private readonly int _maxLineBytes;
    private readonly int _maxSubBytes;
    private byte[] _sub = []; // grown on demand, as the line is: most connections never send a long subnegotiation
    private byte[] _line = new byte[128];
    private int _lineLength;
    private int _lineChars;
    private bool _lineReady;
    private bool _discarding;
    private int _discardedChars;
    private int _subLength;
    private bool _subOverflow;
    private byte _verb;
    private bool _afterCr;
    private State _state;

    /// <summary>Creates a parser for lines of at most <paramref name="maxLineChars"/> characters.</summary>
    public TelnetParser(int maxLineChars, int maxSubnegotiationBytes = 4096)
    {
        _maxLineChars = maxLineChars;
        _maxLineBytes = checked(maxLineChars * 4);
        _maxSubBytes = maxSubnegotiationBytes;
    }

    /// <summary>The bytes of the line just reported. Valid until the next call to <see cref="Parse"/>.</summary>
    public ReadOnlySpan<byte> Line => _line.AsSpan(0, _lineLength);

    /// <summary>The option of the subnegotiation just reported.</summary>
    public byte SubnegotiationOption { get; private set; }

    /// <summary>The payload of the subnegotiation just reported. Valid until the next call to <see cref="Parse"/>.</summary>
    public ReadOnlySpan<byte> Subnegotiation => _sub.AsSpan(0, _subLength);

    /// <summary>
    /// Consumes bytes until one event is complete or <paramref name="data"/> runs out, and returns how many bytes it
    /// consumed. Call again with the rest.
    /// </summary>
    public int Parse(ReadOnlySpan<byte> data, out TelnetEvent found)
    {
        if (_lineReady)
        {
            _lineReady = false;
            _lineLength = 0;
            _lineChars = 0;
        }

        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            switch (_state)
            {
                case State.Data:
                    if (b == Iac)
                    {
                        _state = State.Iac;
                    }
                    else if (b == (byte)'\r' || (b == (byte)'\n' && !_afterCr))
                    {
                        _afterCr = b == (byte)'\r';
                        found = EndLine();
                        return i + 1;
                    }
                    else
                    {
                        bool swallow = _afterCr && (b == (byte)'\n' || b == 0);
                        _afterCr = false;
                        if (!swallow)
                        {
                            AddData(b);
                        }
                    }

                    break;

                case State.Iac:
                    _state = State.Data;
                    switch (b)
                    {
                        case Iac:
                            _afterCr = false;
                            AddData(b); // an escaped 255 data byte
                            break;
                        case Will or Wont or Do or Dont:
                            _verb = b;
                            _state = State.Option;
                            break;
                        case Sb:
                            _state = State.SubOption;
                            break;
                        case EraseCharacter:
                            EraseLastCharacter();
                            break;
                        case EraseLine:
                            _lineLength = 0;
                            _lineChars = 0;
                            break;
                        case >= Se:
                            found = new TelnetEvent(TelnetEventKind.Command, b);
                            return i + 1;
                        default:
                            break; // IAC followed by a non-command byte: malformed, skip it
                    }

                    break;

                case State.Option:
                    _state = State.Data;
                    found = new TelnetEvent(TelnetEventKind.Command, _verb, b);
                    return i + 1;

                case State.SubOption:
                    SubnegotiationOption = b;
                    _subLength = 0;
                    _subOverflow = false;
                    _state = State.SubData;
                    break;

                case State.SubData:
                    if (b == Iac)
                    {
                        _state = State.SubIac;
                    }
                    else if (!AddSub(b))
                    {
                        found = new TelnetEvent(TelnetEventKind.SubnegotiationTooLong, Sb, SubnegotiationOption, _maxSubBytes);
                        return i + 1;
                    }

                    break;

                case State.SubIac:
                    if (b == Se)
                    {
                        _state = State.Data;
                        if (!_subOverflow)
                        {
                            found = new TelnetEvent(TelnetEventKind.Subnegotiation, Sb, SubnegotiationOption, _subLength);
                            return i + 1;
                        }
                    }
                    else if (b == Iac)
                    {
                        _state = State.SubData;
                        if (!AddSub(b))
                        {
                            found = new TelnetEvent(TelnetEventKind.SubnegotiationTooLong, Sb, SubnegotiationOption, _maxSubBytes);
                            return i + 1;
                        }
                    }
                    else
                    {
                        // IAC <command> inside a subnegotiation: the client never sent IAC SE. Abandon the
                        // subnegotiation and read this byte as the command that follows an IAC.
                        _state = State.Iac;
                        i--;
                    }

                    break;
            }
        }

        found = default;
        return data.Length;
    }

    private TelnetEvent EndLine()
    {
        if (_discarding)
        {
            int length = _discardedChars;
            _discarding = false;
            _discardedChars = 0;
            _lineLength = 0;
            _lineChars = 0;
            return new TelnetEvent(TelnetEventKind.LineTooLong, Length: length);
        }

        _lineReady = true;
        return new TelnetEvent(TelnetEventKind.Line, Length: _lineChars);
    }

    private void AddData(byte b)
    {
        if (b is 8 or 127)
        {
            EraseLastCharacter();
            return;
        }

        if (b < 32 && b != (byte)'\t')
        {
            return; // other control characters (NUL, ESC, BEL, ...) are not input
        }

        bool startsCharacter = (b & 0xC0) != 0x80;
        if (_discarding)
        {
            _discardedChars += startsCharacter ? 1 : 0;
            return;
        }

        // Invariant: a stored line never holds more than the limit in characters, nor more than four bytes per
        // allowed character (stray UTF-8 continuation bytes count towards the latter). Past either, it is only counted.
        if ((startsCharacter && ++_lineChars > _maxLineChars) || _lineLength >= _maxLineBytes)
        {
            _discarding = true;
            _discardedChars = _lineChars;
            _lineLength = 0;
            _lineChars = 0;
            return;
        }

        if (_lineLength == _line.Length)
        {
            Array.Resize(ref _line, Math.Min(_line.Length * 2, _maxLineBytes));
        }

        _line[_lineLength++] = b;
    }

    private void EraseLastCharacter()
    {
        if (_discarding)
        {
            return;
        }

        while (_lineLength > 0)
        {
            byte last = _line[--_lineLength];
            if ((last & 0xC0) != 0x80)
            {
                _lineChars--;
                break;
            }
        }
    }

    /// <summary>Stores a subnegotiation byte. Returns <see langword="false"/> once, for the byte that passes the limit.</summary>
    private bool AddSub(byte b)
    {
        if (_subLength == _maxSubBytes)
        {
            bool first = !_subOverflow;
            _subOverflow = true;
            return !first;
        }

        if (_subLength == _sub.Length)
        {
            Array.Resize(ref _sub, Math.Min(Math.Max(_sub.Length * 2, 32), _maxSubBytes));
        }

        _sub[_subLength++] = b;
        return true;
    }
}
