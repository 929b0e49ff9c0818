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
    private readonly MemoryStream _pushed = new(4096); // the compressed bytes pushed; zlib reads them from its position on
    private readonly ZLibStream _zlib;
    private readonly byte[] _output = new byte[16384];

    public ZlibInflation() => _zlib = new ZLibStream(_pushed, CompressionMode.Decompress);

    /// <summary>Adds compressed bytes (copied: valid during the call only) after those pushed before.</summary>
    public void Push(ReadOnlySpan<byte> compressed)
    {
        if (_pushed.Position == _pushed.Length)
        {
            _pushed.SetLength(0); // all taken: start again at the front, in the same buffer
        }

        long taken = _pushed.Position;
        _pushed.Position = _pushed.Length;
        _pushed.Write(compressed);
        _pushed.Position = taken;
    }

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
}
