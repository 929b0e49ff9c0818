using System.Text;

namespace Dominance.Bench.Load;

/// <summary>
/// A telnet load client: lines end in <c>\n</c>; telnet commands (<c>IAC</c> and what follows it, subnegotiations
/// whole) are not content. It answers no negotiation, as the plainest client would not.
/// </summary>
internal sealed class TelnetLoadProtocol : ILoadProtocol
{
    private const byte Iac = 255;

    private byte[] _line = new byte[256];
    private int _lineLength;
    private State _state;

    private enum State
    {
        Text,
        Command,
        Option,
        Subnegotiation,
        SubnegotiationIac,
    }

    public void Start(LoadClient client) => client.Opened();

    public byte[] Encode(string line) => Encoding.UTF8.GetBytes(line + "\r\n");

    public void Read(LoadClient client, ReadOnlySpan<byte> data)
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
                    return;
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
            _state = _state switch
            {
                State.Command when b == Iac => Literal(),
                State.Command => b switch { >= 251 and <= 254 => State.Option, 250 => State.Subnegotiation, _ => State.Text },
                State.Option => State.Text,
                State.Subnegotiation => b == Iac ? State.SubnegotiationIac : State.Subnegotiation,
                _ => b == 240 ? State.Text : State.Subnegotiation, // IAC SE ends a subnegotiation
            };
        }
    }

    /// <summary><c>IAC IAC</c>: a 255 byte in the text.</summary>
    private State Literal()
    {
        Append([Iac]);
        return State.Text;
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
