using System.Buffers;
using System.IO.Compression;

namespace Dominance.Portal.Sending;

/// <summary>
/// A connection's zlib stream (telnet MCCP2), run by its sender's thread (<see cref="DirectSocket"/>): every send is
/// compressed and flushed (a sync flush: the client can inflate it at once, and nothing waits), in the connection's
/// order, whichever way the bytes came (its own writes, or a broadcast's bytes shared with other connections).
/// </summary>
/// <remarks>Sender's thread only. The compressed bytes go to the sender's scratch buffer, valid until the next call on that thread.</remarks>
internal sealed class Deflater : IDisposable
{
    private readonly ArrayBufferWriter<byte> _output;
    private readonly BufferWriterStream _sink;
    private readonly ZLibStream _zlib;

    /// <summary>A new stream whose output goes to <paramref name="output"/> (the sender's scratch).</summary>
    public Deflater(ArrayBufferWriter<byte> output)
    {
        _output = output;
        _sink = new BufferWriterStream(output);
        _zlib = new ZLibStream(_sink, CompressionLevel.Fastest, leaveOpen: false);
    }

    /// <summary>Compresses <paramref name="bytes"/> and flushes: the bytes to send.</summary>
    public ReadOnlySpan<byte> Compress(ReadOnlySpan<byte> bytes)
    {
        _output.ResetWrittenCount();
        _zlib.Write(bytes);
        _zlib.Flush();
        return _output.WrittenSpan;
    }

    /// <summary>Ends the stream: its last bytes, to send. The stream is freed.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        _output.ResetWrittenCount();
        _zlib.Dispose();
        return _output.WrittenSpan;
    }

    /// <summary>Frees the stream (zlib's native state) without writing anything more: the connection is gone.</summary>
    public void Dispose()
    {
        _sink.Discard();
        _zlib.Dispose();
    }
}
