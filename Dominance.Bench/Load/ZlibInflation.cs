using System.IO.Compression;

namespace Dominance.Bench.Load;

/// <summary>
/// Inflates a zlib stream (a telnet server's MCCP2 output) pushed in pieces as they are read, synchronously, on the
/// reading thread: each piece is handed in with <see cref="Push"/>, and <see cref="TryRead"/> gives back what it
/// inflates to, until it needs more.
/// </summary>
/// <remarks>One reader's thread only. Bytes after the end of the zlib stream are ignored (the server sends none: the
/// stream ends with the connection).</remarks>
internal sealed class ZlibInflation : IDisposable
{
    private readonly Pushed _pushed = new();
    private readonly ZLibStream _zlib;
    private readonly byte[] _output = new byte[16384];

    public ZlibInflation() => _zlib = new ZLibStream(_pushed, CompressionMode.Decompress);

    /// <summary>Adds compressed bytes (copied: valid during the call only) after those pushed before.</summary>
    public void Push(ReadOnlySpan<byte> compressed) => _pushed.Append(compressed);

    /// <summary>
    /// Inflates the next piece of what has been pushed, valid until the next call; <see langword="false"/> once
    /// everything pushed so far is inflated.
    /// </summary>
    /// <exception cref="IOException">The bytes are not a zlib stream.</exception>
    public bool TryRead(out ReadOnlySpan<byte> inflated)
    {
        int length;
        try
        {
            length = _zlib.Read(_output);
        }
        catch (InvalidDataException e)
        {
            throw new IOException($"The server's MCCP2 stream is not valid zlib: {e.Message}", e);
        }

        inflated = _output.AsSpan(0, length);
        return length > 0;
    }

    /// <summary>Frees zlib's native state.</summary>
    public void Dispose() => _zlib.Dispose();

    /// <summary>The compressed bytes pushed and not yet taken by zlib, as the stream it reads; its end is "nothing more for now".</summary>
    private sealed class Pushed : Stream
    {
        private byte[] _bytes = new byte[4096];
        private int _start;
        private int _end;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (_start == _end)
            {
                _start = _end = 0;
            }

            if (_bytes.Length - _end < bytes.Length)
            {
                byte[] larger = new byte[Math.Max(_bytes.Length * 2, _end - _start + bytes.Length)];
                _bytes.AsSpan(_start, _end - _start).CopyTo(larger);
                (_bytes, _end, _start) = (larger, _end - _start, 0);
            }

            bytes.CopyTo(_bytes.AsSpan(_end));
            _end += bytes.Length;
        }

        public override int Read(Span<byte> buffer)
        {
            int length = Math.Min(buffer.Length, _end - _start);
            _bytes.AsSpan(_start, length).CopyTo(buffer);
            _start += length;
            return length;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
