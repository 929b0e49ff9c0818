using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dominance.Bench;

/// <summary>
/// The least NATS client there is, for measuring the floor under the relay (<see cref="NatsFloor"/>) and nothing else:
/// NATS's text protocol (CONNECT, SUB, PUB, MSG, PING/PONG) over one socket, with blocking calls on the caller's thread,
/// no buffers between the socket and the caller, no threads or tasks of its own. Not for the product: no reconnects, no
/// authentication, no headers, one thread reading and one writing at most.
/// </summary>
internal sealed class RawNatsClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly byte[] _in = new byte[64 * 1024];
    private readonly byte[] _out = new byte[64 * 1024];
    private readonly Lock _sendGate = new();
    private int _start;
    private int _end;

    /// <summary>Connects and returns once the server has answered a PING (so it has the CONNECT).</summary>
    public RawNatsClient(int port)
    {
        _socket.Connect(IPAddress.Loopback, port);
        ReadLine(); // INFO {...}
        Send("CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n");
        Flush();
    }

    /// <summary>Subscribes and returns once the server has the subscription.</summary>
    public void Subscribe(string subject, int sid)
    {
        Send($"SUB {subject} {sid}\r\n");
        Flush();
    }

    /// <summary>Publishes <paramref name="payload"/> with one <c>send</c> call.</summary>
    public void Publish(byte[] subject, ReadOnlySpan<byte> payload)
    {
        int n = 0;
        n += Put("PUB "u8, n);
        subject.CopyTo(_out, n);
        n += subject.Length;
        _out[n++] = (byte)' ';
        n += Put(Encoding.ASCII.GetBytes(payload.Length.ToString()), n);
        n += Put("\r\n"u8, n);
        n += Put(payload, n);
        n += Put("\r\n"u8, n);
        lock (_sendGate)
        {
            _socket.Send(_out.AsSpan(0, n));
        }
    }

    /// <summary>Blocks until the next message; returns its payload (valid until the next call). Answers the server's PINGs.</summary>
    public ReadOnlySpan<byte> Receive()
    {
        while (true)
        {
            ReadOnlySpan<byte> line = ReadLine();
            if (line.StartsWith("MSG "u8))
            {
                int length = int.Parse(Encoding.ASCII.GetString(line[(line.LastIndexOf((byte)' ') + 1)..]));
                Fill(length + 2);
                var payload = new ReadOnlySpan<byte>(_in, _start, length);
                _start += length + 2;
                return payload;
            }

            if (line.SequenceEqual("PING"u8))
            {
                lock (_sendGate) // the reading thread answers while the other may publish: never inside a PUB
                {
                    _socket.Send("PONG\r\n"u8);
                }
            }
            else if (line.StartsWith("-ERR"u8))
            {
                throw new InvalidOperationException(Encoding.ASCII.GetString(line));
            }
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>Sends a PING and reads until its PONG.</summary>
    private void Flush()
    {
        Send("PING\r\n");
        while (true)
        {
            ReadOnlySpan<byte> line = ReadLine();
            if (line.SequenceEqual("PONG"u8))
            {
                return;
            }

            if (line.StartsWith("-ERR"u8))
            {
                throw new InvalidOperationException(Encoding.ASCII.GetString(line));
            }
        }
    }

    private void Send(string text)
    {
        lock (_sendGate)
        {
            _socket.Send(Encoding.ASCII.GetBytes(text));
        }
    }

    private int Put(ReadOnlySpan<byte> bytes, int at)
    {
        bytes.CopyTo(_out.AsSpan(at));
        return bytes.Length;
    }

    /// <summary>The next line, without its CRLF (valid until the next read).</summary>
    private ReadOnlySpan<byte> ReadLine()
    {
        int searched = 0;
        while (true)
        {
            int at = _in.AsSpan(_start + searched, _end - _start - searched).IndexOf("\r\n"u8);
            if (at >= 0)
            {
                var line = new ReadOnlySpan<byte>(_in, _start, searched + at);
                _start += searched + at + 2;
                return line;
            }

            searched = Math.Max(0, _end - _start - 1);
            Fill(_end - _start + 1);
        }
    }

    /// <summary>Blocks until at least <paramref name="count"/> bytes are buffered.</summary>
    private void Fill(int count)
    {
        if (_end - _start >= count)
        {
            return;
        }

        if (_start > 0)
        {
            Array.Copy(_in, _start, _in, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        while (_end < count)
        {
            int read = _socket.Receive(_in, _end, _in.Length - _end, SocketFlags.None);
            if (read == 0)
            {
                throw new EndOfStreamException("the NATS server closed the connection");
            }

            _end += read;
        }
    }
}
