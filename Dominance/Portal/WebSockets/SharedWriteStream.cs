namespace Dominance.Portal.WebSockets;

/// <summary>
/// A WebSocket connection's stream, written by two parties: the session's write loop, which writes its frames directly
/// (<see cref="WebSocketFrames"/>), and the framework's <see cref="System.Net.WebSockets.WebSocket"/>, which reads the
/// stream and writes its own control frames (pongs, keep-alives, close frames). Writes are serialized here, one whole
/// write at a time, so that frames never interleave; reads pass through.
/// </summary>
/// <remarks>The framework's WebSocket serializes its own sends with a lock of its own; this one covers both writers.</remarks>
internal sealed class SharedWriteStream(Stream inner) : Stream
{
    private readonly SemaphoreSlim _writing = new(1, 1);

    /// <summary>The connection's socket, if the portal sends on it itself (<see cref="ConnectionStream.Direct"/>).</summary>
    public Sending.DirectSocket? Direct => (inner as ConnectionStream)?.Direct;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_writing.Wait(0))
        {
            return WaitAndWriteAsync(buffer, cancellationToken);
        }

        ValueTask written;
        try
        {
            written = inner.WriteAsync(buffer, cancellationToken);
        }
        catch
        {
            _writing.Release();
            throw;
        }

        if (written.IsCompletedSuccessfully)
        {
            _writing.Release();
            return ValueTask.CompletedTask;
        }

        return ReleaseAfterAsync(written);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Not supported: a connection is written asynchronously only (Kestrel refuses synchronous I/O anyway).</summary>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Not supported, as <see cref="Write"/>.</summary>
    public override void Flush() => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();

    private async ValueTask WaitAndWriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async ValueTask ReleaseAfterAsync(ValueTask written)
    {
        try
        {
            await written.ConfigureAwait(false);
        }
        finally
        {
            _writing.Release();
        }
    }
}
