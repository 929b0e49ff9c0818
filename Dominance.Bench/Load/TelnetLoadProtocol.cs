using System.Text;

namespace Dominance.Bench.Load;

/// <summary>
/// A telnet load client: lines end in <c>\n</c>; telnet commands (<c>IAC</c> and what follows it, subnegotiations
/// whole) are not content. It answers no negotiation, as the plainest client would not, except, with
/// <paramref name="mccp"/>, the server's offer of MCCP2 (<c>IAC WILL COMPRESS2</c>, answered <c>IAC DO COMPRESS2</c>):
/// from <c>IAC SB COMPRESS2 IAC SE</c> on, what arrives is a zlib stream, inflated as it is read.
/// </summary>
internal sealed class TelnetLoadProtocol(bool mccp = false) : ILoadProtocol, IDisposable
{
    private const byte Iac = 255;
    private const byte Will = 251;
    private const byte Do = 253;
    private const byte Subnegotiation = 250;
    private const byte SubnegotiationEnd = 240;
    private const byte Compress2 = 86;

    private byte[] _line = new byte[256];
    private int _lineLength;
    private State _state;
    private byte _verb; // of the command being read: WILL, WONT, DO or DONT
    private byte _subnegotiated; // the option of the subnegotiation being read
    private ZlibInflation? _inflation; // from IAC SB COMPRESS2 IAC SE on
    private bool _accepted; // IAC DO COMPRESS2 sent

    private enum State
    {
        Text,
        Command,
        Option,
        SubnegotiationOption,
        Subnegotiation,
        SubnegotiationIac,
    }

    /// <summary>Whether compression has started: what arrives is inflated.</summary>
    public bool Compressed => Volatile.Read(ref _inflation) is not null;

    public void Start(LoadClient client) => client.Opened();

    public byte[] Encode(string line) => Encoding.UTF8.GetBytes(line + "\r\n");

    public void Read(LoadClient client, ReadOnlySpan<byte> data)
    {
        if (_inflation is null)
        {
            int compressedFrom = ReadText(client, data);
            if (compressedFrom == data.Length)
            {
                return;
            }

            data = data[compressedFrom..];
        }

        _inflation!.Push(data);
        while (_inflation.TryRead(out ReadOnlySpan<byte> text))
        {
            ReadText(client, text);
        }
    }

    /// <summary>Frees the inflater's native state, if compression was on.</summary>
    public void Dispose() => _inflation?.Dispose();

    /// <summary>
    /// Parses telnet text: lines, commands and subnegotiations. Returns how much of <paramref name="data"/> it took: all
    /// of it, unless compression starts in it (the rest is compressed).
    /// </summary>
    private int ReadText(LoadClient client, ReadOnlySpan<byte> data)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (_state == State.Text)
            {
                ReadOnlySpan<byte> rest = data[i..];
                int special = rest.IndexOfAny((byte)'\n', Iac);
                if (special < 0)
                {
                    Append(rest);
                    return data.Length;
                }

                if (rest[special] == (byte)'\n')
                {
                    if (_lineLength == 0)
                    {
                        client.OnLine(rest[..special]); // the whole line in this read: no copy
                    }
                    else
                    {
                        Append(rest[..special]);
                        client.OnLine(_line.AsSpan(0, _lineLength));
                        _lineLength = 0;
                    }
                }
                else
                {
                    Append(rest[..special]);
                    _state = State.Command;
                }

                i += special + 1;
                continue;
            }

            byte b = data[i++];
            switch (_state)
            {
                case State.Command when b == Iac:
                    Append([Iac]); // IAC IAC: a 255 byte in the text
                    _state = State.Text;
                    break;
                case State.Command:
                    _verb = b;
                    _state = b switch { >= 251 and <= 254 => State.Option, Subnegotiation => State.SubnegotiationOption, _ => State.Text };
                    break;
                case State.Option:
                    if (mccp && _verb == Will && b == Compress2 && !_accepted)
                    {
                        _accepted = true; // answered once: a repeated offer is not a new question
                        client.SendRaw([Iac, Do, Compress2]);
                    }

                    _state = State.Text;
                    break;
                case State.SubnegotiationOption:
                    _subnegotiated = b;
                    _state = b == Iac ? State.SubnegotiationIac : State.Subnegotiation;
                    break;
                case State.Subnegotiation:
                    _state = b == Iac ? State.SubnegotiationIac : State.Subnegotiation;
                    break;
                default: // after IAC in a subnegotiation: IAC SE ends it, IAC IAC is a 255 in it
                    _state = b == SubnegotiationEnd ? State.Text : State.Subnegotiation;
                    if (_state == State.Text && mccp && _subnegotiated == Compress2 && _inflation is null)
                    {
                        _inflation = new ZlibInflation();
                        return i;
                    }

                    break;
            }
        }

        return data.Length;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_lineLength + bytes.Length > _line.Length)
        {
            Array.Resize(ref _line, Math.Max(_line.Length * 2, _lineLength + bytes.Length));
        }

        bytes.CopyTo(_line.AsSpan(_lineLength));
        _lineLength += bytes.Length;
    }
}
