using System.Buffers;

namespace Dominance.Portal;

/// <summary>
/// A write-only stream that copies into a buffer writer and never flushes it: a compressor writes through it. Into a
/// connection's output pipe, which the session flushes itself, once per write loop turn; or into a sender's scratch
/// buffer (<see cref="Sending.Deflater"/>), which is emptied before each send's bytes are compressed.
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
