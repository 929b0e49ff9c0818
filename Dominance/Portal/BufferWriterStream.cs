using System.Buffers;

namespace Dominance.Portal;

/// <summary>
/// A write-only stream that copies into a buffer writer (a connection's output pipe, or a sender's scratch buffer) and never flushes it: the
/// compressor writes through it, and the session flushes the pipe itself, once per write loop turn.
/// (<c>PipeWriter.AsStream</c> would flush on every write, and could block on a client that stopped reading.)
/// </summary>
internal sealed class BufferWriterStream(IBufferWriter<byte> output) : Stream
{
    private IBufferWriter<byte>? _output = output;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(ReadOnlySpan<byte> buffer) => _output?.Write(buffer);

    /// <summary>From now on, drops what is written: for a compressor freed after its connection was aborted.</summary>
    public void Discard() => _output = null;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
