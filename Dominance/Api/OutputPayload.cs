using System.Collections.Concurrent;
using System.Diagnostics;
using System.Numerics;
using System.Text;

namespace Dominance.Api;

/// <summary>
/// One encoded message, shared by all of its recipients. It is filled once, on the game thread, and every session it
/// is addressed to writes the same bytes.
/// </summary>
/// <remarks>
/// Reference counted. The creator holds one reference. A send to one session hands that reference over; a send to a
/// group takes one more per recipient, all in one atomic add. Each outbox that accepts the payload releases its
/// reference once the bytes have been copied to its connection. The last release returns the object, with its buffer,
/// to a small pool, so a message relayed in steady state allocates nothing.
/// <para>It lives in the game API, internal to the server, because <see cref="OutputText"/> formats straight into it;
/// the core and the portal, which both build on the API, share it from here.</para>
/// </remarks>
internal sealed class OutputPayload
{
    private const int MaxPooled = 1024;
    private const int MaxPooledBufferSize = 64 * 1024;
    private static readonly ConcurrentQueue<OutputPayload> s_pool = new();
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private byte[] _buffer = new byte[256];
    private int _length;
    private int _references;
    private int _longestLine = -1;

    private OutputPayload()
    {
    }

    /// <summary>The encoded bytes. Valid while the caller holds a reference.</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

    /// <summary>The encoded bytes. Valid while the caller holds a reference.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    /// <summary>
    /// The length in bytes of the message's longest line (without its CRLF), measured on first use and kept, so that
    /// the recipients of a group send share one measurement: a connection that wraps text to its window (a line's
    /// columns never exceed its bytes) compares this with its width and, in the common case, does nothing more.
    /// </summary>
    /// <remarks>Read from any recipient's thread: two may measure at once, and both store the same value.</remarks>
    public int LongestLine
    {
        get
        {
            int longest = _longestLine;
            if (longest < 0)
            {
                longest = 0;
                ReadOnlySpan<byte> rest = Span;
                while (true)
                {
                    int newline = rest.IndexOf((byte)'\n');
                    ReadOnlySpan<byte> line = newline < 0 ? rest : rest[..newline];
                    longest = Math.Max(longest, line.Length - (line.EndsWith((byte)'\r') ? 1 : 0));
                    if (newline < 0)
                    {
                        break;
                    }

                    rest = rest[(newline + 1)..];
                }

                _longestLine = longest;
            }

            return longest;
        }
    }

    /// <summary>
    /// Encodes text as telnet-ready lines: UTF-8, each <c>\n</c> (or <c>\r\n</c>) turned into CRLF and a CRLF
    /// appended. A single trailing newline in <paramref name="text"/> is not doubled.
    /// </summary>
    public static OutputPayload ForLine(ReadOnlySpan<char> text)
    {
        if (text.Length > 0 && text[^1] == '\n')
        {
            text = text[..^1];
        }

        OutputPayload payload = Rent(s_utf8.GetMaxByteCount(text.Length) + 2);
        Span<byte> destination = payload._buffer;
        int written = 0;
        while (true)
        {
            int newline = text.IndexOf('\n');
            ReadOnlySpan<char> segment = newline < 0 ? text : text[..newline];
            if (segment.Length > 0 && segment[^1] == '\r')
            {
                segment = segment[..^1];
            }

            written += s_utf8.GetBytes(segment, destination[written..]);
            destination[written++] = (byte)'\r';
            destination[written++] = (byte)'\n';
            if (newline < 0)
            {
                break;
            }

            text = text[(newline + 1)..];
        }

        payload._length = written;
        return payload;
    }

    /// <summary>Encodes a prompt: as <see cref="ForLine"/>, but with no CRLF after the last line.</summary>
    public static OutputPayload ForPrompt(ReadOnlySpan<char> text)
    {
        OutputPayload payload = ForLine(text);
        payload._length -= 2;
        return payload;
    }

    /// <summary>Encodes an out-of-band message in GMCP form: <c>Package.Name json</c>.</summary>
    public static OutputPayload ForData(string package, string json)
    {
        OutputPayload payload = Rent(s_utf8.GetMaxByteCount(package.Length + json.Length + 1));
        int written = s_utf8.GetBytes(package, payload._buffer);
        if (json.Length > 0)
        {
            payload._buffer[written++] = (byte)' ';
            written += s_utf8.GetBytes(json, payload._buffer.AsSpan(written));
        }

        payload._length = written;
        return payload;
    }

    /// <summary>Copies bytes that are already encoded (protocol replies, notices built by the portal).</summary>
    public static OutputPayload ForBytes(ReadOnlySpan<byte> bytes)
    {
        OutputPayload payload = Rent(bytes.Length);
        bytes.CopyTo(payload._buffer);
        payload._length = bytes.Length;
        return payload;
    }

    /// <summary>Takes <paramref name="count"/> references at once, for a group of recipients: one atomic add, not one per recipient.</summary>
    public void AddReferences(int count)
    {
        int references = Interlocked.Add(ref _references, count);
        Debug.Assert(references > count, "AddReferences on a payload that was already returned to the pool.");
    }

    /// <summary>Drops one reference. The last one returns the payload to the pool; it must not be used after that.</summary>
    public void Release() => Release(1);

    /// <summary>Drops <paramref name="count"/> references (0 is allowed).</summary>
    public void Release(int count)
    {
        if (count == 0)
        {
            return;
        }

        int references = Interlocked.Add(ref _references, -count);
        if (references > 0)
        {
            return;
        }

        Debug.Assert(references == 0, "Payload released more times than it was referenced.");
        if (_buffer.Length > MaxPooledBufferSize)
        {
            _buffer = new byte[256];
        }

        _length = 0;
        if (s_pool.Count < MaxPooled)
        {
            s_pool.Enqueue(this);
        }
    }

    /// <summary>The whole buffer, for builders that fill it in place (<see cref="OutputText"/>).</summary>
    internal byte[] Buffer => _buffer;

    /// <summary>Sets how many bytes of <see cref="Buffer"/> are the message.</summary>
    internal void SetLength(int length) => _length = length;

    /// <summary>Grows the buffer to at least <paramref name="capacity"/>, keeping the first <paramref name="keep"/> bytes.</summary>
    internal void Grow(int capacity, int keep)
    {
        byte[] larger = new byte[(int)BitOperations.RoundUpToPowerOf2((uint)capacity)];
        _buffer.AsSpan(0, keep).CopyTo(larger);
        _buffer = larger;
    }

    /// <summary>A payload with room for <paramref name="capacity"/> bytes and one reference, the caller's.</summary>
    internal static OutputPayload Rent(int capacity)
    {
        if (!s_pool.TryDequeue(out OutputPayload? payload))
        {
            payload = new OutputPayload();
        }

        if (payload._buffer.Length < capacity)
        {
            payload._buffer = new byte[Math.Max(256, (int)BitOperations.RoundUpToPowerOf2((uint)capacity))];
        }

        payload._references = 1;
        payload._longestLine = -1;
        return payload;
    }
}
