using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Dominance.Bench.Load;

/// <summary>
/// A WebSocket load client, written on the raw socket (RFC 6455): the opening handshake for <c>/ws</c> (its
/// <c>Sec-WebSocket-Accept</c> checked), masked frames out, unmasked frames in, several per read. A message's text is
/// cut into lines at <c>\n</c> (a server may coalesce what is queued into one frame); a fragmented message is put
/// together first. Pings are answered; a close frame ends the connection as a failure.
/// </summary>
internal sealed class WebSocketLoadProtocol(EndPoint server) : ILoadProtocol
{
    private const int MaxFrame = 16 * 1024 * 1024;
    private const int MaxHandshake = 8 * 1024;

    private readonly string _key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
    private byte[] _carry = [];
    private int _carryLength;
    private byte[] _message = [];
    private int _messageLength;
    private bool _open;

    public void Start(LoadClient client) => client.SendRaw(Encoding.ASCII.GetBytes(
        $"GET /ws HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {_key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));

    public byte[] Encode(string line) => Frame(0x1, Encoding.UTF8.GetBytes(line));

    public void Read(LoadClient client, ReadOnlySpan<byte> data)
    {
        if (_carryLength == 0)
        {
            Keep(data[Consume(client, data)..]);
            return;
        }

        Keep(data);
        int used = Consume(client, _carry.AsSpan(0, _carryLength));
        _carry.AsSpan(used, _carryLength - used).CopyTo(_carry);
        _carryLength -= used;
    }

    /// <summary>A client frame: FIN, the opcode, the mask bit and length, a mask key, the payload masked with it.</summary>
    internal static byte[] Frame(int opcode, ReadOnlySpan<byte> payload)
    {
        int header = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        byte[] frame = new byte[header + 4 + payload.Length];
        frame[0] = (byte)(0x80 | opcode);
        if (header == 2)
        {
            frame[1] = (byte)(0x80 | payload.Length);
        }
        else if (header == 4)
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }
        else
        {
            frame[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
        }

        Span<byte> mask = frame.AsSpan(header, 4);
        Random.Shared.NextBytes(mask);
        for (int i = 0; i < payload.Length; i++)
        {
            frame[header + 4 + i] = (byte)(payload[i] ^ mask[i & 3]);
        }

        return frame;
    }

    /// <summary>Handles every complete frame at the start of <paramref name="data"/>; returns the bytes handled.</summary>
    private int Consume(LoadClient client, ReadOnlySpan<byte> data)
    {
        int used = 0;
        if (!_open)
        {
            int end = data.IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                return data.Length > MaxHandshake ? throw new IOException("The server's handshake answer never ended.") : 0;
            }

            CheckHandshake(Encoding.ASCII.GetString(data[..end]));
            used = end + 4;
            _open = true;
            client.Opened();
        }

        while (data.Length - used >= 2)
        {
            ReadOnlySpan<byte> rest = data[used..];
            if ((rest[1] & 0x80) != 0)
            {
                throw new IOException("The server sent a masked frame.");
            }

            long length = rest[1] & 0x7F;
            int header = 2;
            if (length == 126)
            {
                if (rest.Length < 4)
                {
                    break;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
                header = 4;
            }
            else if (length == 127)
            {
                if (rest.Length < 10)
                {
                    break;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(rest[2..]);
                header = 10;
            }

            if (length > MaxFrame)
            {
                throw new IOException($"The server sent a frame of {length} bytes.");
            }

            if (rest.Length - header < length)
            {
                break;
            }

            OnFrame(client, rest[0], rest.Slice(header, (int)length));
            used += header + (int)length;
        }

        return used;
    }

    private void OnFrame(LoadClient client, byte first, ReadOnlySpan<byte> payload)
    {
        bool fin = (first & 0x80) != 0;
        switch (first & 0x0F)
        {
            case 0x1 or 0x2 when fin && _messageLength == 0:
                Lines(client, payload);
                break;
            case 0x0 or 0x1 or 0x2:
                Append(ref _message, ref _messageLength, payload);
                if (fin)
                {
                    Lines(client, _message.AsSpan(0, _messageLength));
                    _messageLength = 0;
                }

                break;
            case 0x8:
                string reason = payload.Length > 2 ? Encoding.UTF8.GetString(payload[2..]) : "";
                throw new IOException($"The server closed the connection: {reason}");
            case 0x9:
                client.SendRaw(Frame(0xA, payload));
                break;
            case 0xA:
                break;
            default:
                throw new IOException($"The server sent a frame with opcode {first & 0x0F}.");
        }
    }

    private static void Lines(LoadClient client, ReadOnlySpan<byte> text)
    {
        while (!text.IsEmpty)
        {
            int end = text.IndexOf((byte)'\n');
            client.OnLine(end < 0 ? text : text[..end]);
            text = end < 0 ? default : text[(end + 1)..];
        }
    }

    private void CheckHandshake(string head)
    {
        string[] lines = head.Split("\r\n");
        string expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        bool accepted = lines.Skip(1).Any(line =>
            line.Split(':', 2) is [var name, var value]
            && name.Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase)
            && value.Trim() == expected);
        if (!lines[0].StartsWith("HTTP/1.1 101 ", StringComparison.Ordinal) || !accepted)
        {
            throw new IOException($"The server refused the WebSocket handshake: {lines[0]}");
        }
    }

    private void Keep(ReadOnlySpan<byte> bytes) => Append(ref _carry, ref _carryLength, bytes);

    private static void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        if (length + bytes.Length > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(Math.Max(buffer.Length * 2, 1024), length + bytes.Length));
        }

        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }
}
