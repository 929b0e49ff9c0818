using System.Buffers;
using System.Buffers.Binary;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// Server-to-client WebSocket frames (RFC 6455, section 5.2) built back to back in one buffer, so that everything
/// queued for a session reaches its connection in one write. A server's frames are not masked: a frame is a header of
/// 2, 4 or 10 bytes and the payload's bytes as they are, so the payload, encoded once for all its recipients, is copied
/// once, straight into place, with no framing layer in between.
/// </summary>
/// <remarks>
/// Invariant: the buffer holds whole frames, plus at most one open frame at its end (<see cref="_open"/> ≥ 0), whose
/// header is written when it is closed. Consecutive appends of the same opcode go into the open frame: text already
/// queued is coalesced into one message. The buffer is rented from the shared array pool when the first frame is
/// appended and returned when the frames are cleared (sent): an idle connection holds none.
/// </remarks>
internal sealed class WebSocketFrames
{
    /// <summary>The text opcode.</summary>
    public const byte Text = 0x1;

    /// <summary>The binary opcode.</summary>
    public const byte Binary = 0x2;

    /// <summary>The close opcode.</summary>
    public const byte Close = 0x8;

    /// <summary>The pong opcode.</summary>
    public const byte Pong = 0xA;

    /// <summary>Room kept for the header of the open frame: enough for a payload under 126 bytes, the usual one.</summary>
    private const int ShortHeader = 2;
    private const int InitialSize = 1024;

    private byte[] _buffer = [];
    private int _length;
    private int _open = -1;
    private byte _openOpcode;

    /// <summary>Bytes held, the open frame included.</summary>
    public int Length => _length;

    /// <summary>Appends <paramref name="bytes"/> to the open frame of <paramref name="opcode"/>, opening one (after closing any other) if needed.</summary>
    public void Append(byte opcode, ReadOnlySpan<byte> bytes)
    {
        if (_open < 0 || _openOpcode != opcode)
        {
            CloseFrame();
            Ensure(ShortHeader);
            _open = _length;
            _openOpcode = opcode;
            _length += ShortHeader;
        }

        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>Appends one whole message of its own.</summary>
    public void AppendMessage(byte opcode, ReadOnlySpan<byte> bytes)
    {
        CloseFrame();
        Append(opcode, bytes);
        CloseFrame();
    }

    /// <summary>Closes the open frame, if any, and returns every frame held. Valid until the next change.</summary>
    public ReadOnlyMemory<byte> Complete()
    {
        CloseFrame();
        return _buffer.AsMemory(0, _length);
    }

    /// <summary>Empties the buffer, returning it to the pool.</summary>
    public void Clear()
    {
        _length = 0;
        _open = -1;
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void CloseFrame()
    {
        if (_open < 0)
        {
            return;
        }

        int payloadStart = _open + ShortHeader;
        int length = _length - payloadStart;
        int header = length < 126 ? 2 : length <= ushort.MaxValue ? 4 : 10;
        if (header > ShortHeader)
        {
            // A long message (rare): move its payload to make room for the longer header.
            Ensure(header - ShortHeader);
            _buffer.AsSpan(payloadStart, length).CopyTo(_buffer.AsSpan(_open + header));
            _length += header - ShortHeader;
        }

        WriteHeader(_buffer.AsSpan(_open), _openOpcode, length);
        _open = -1;
    }

    /// <summary>Whether <paramref name="frames"/>, whole frames, start with a close frame.</summary>
    public static bool StartsWithClose(ReadOnlySpan<byte> frames) => !frames.IsEmpty && (frames[0] & 0x0F) == Close;

    /// <summary>
    /// Writes one whole frame of <paramref name="payload"/> into <paramref name="destination"/>, which has room for the
    /// payload and 10 bytes more; returns the frame's length.
    /// </summary>
    public static int WriteFrame(Span<byte> destination, byte opcode, ReadOnlySpan<byte> payload)
    {
        int header = WriteHeader(destination, opcode, payload.Length);
        payload.CopyTo(destination[header..]);
        return header + payload.Length;
    }

    /// <summary>Writes the header of a final frame of <paramref name="length"/> bytes; returns its length (2, 4 or 10).</summary>
    private static int WriteHeader(Span<byte> frame, byte opcode, int length)
    {
        frame[0] = (byte)(0x80 | opcode); // FIN, no extension bits, the opcode
        if (length < 126)
        {
            frame[1] = (byte)length;
            return 2;
        }

        if (length <= ushort.MaxValue)
        {
            frame[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame[2..], (ushort)length);
            return 4;
        }

        frame[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(frame[2..], (ulong)length);
        return 10;
    }

    private void Ensure(int more)
    {
        if (_buffer.Length - _length < more)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(Math.Max(InitialSize, _buffer.Length * 2), _length + more));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = larger;
        }
    }
}
