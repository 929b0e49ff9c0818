namespace Dominance.Portal.WebSockets;

/// <summary>
/// A WebSocket connection's stream, written by two parties: the session's write loop, which writes its frames directly
/// (<see cref="WebSocketFrames"/>), and the framework's <see cref="System.Net.WebSockets.WebSocket"/>, which reads the
/// stream and writes its own control frames (pongs, keep-alives, close frames). Writes are serialized here, one whole
/// write at a time, so that frames never interleave; reads pass through.
/// </summary>
/// <remarks>The framework's WebSocket serializes its own sends with a lock of its own; this one covers both writers, and
/// the portal's keep-alives (<see cref="TryWriteKeepAlive"/>) as a third. Every write is whole frames, so a write that
/// starts with a close frame (opcode 8) is the last the connection needs: no keep-alive follows it.</remarks>
internal sealed class SharedWriteStream(Stream inner) : Stream
{
    private readonly SemaphoreSlim _writing = new(1, 1);
    private bool _closeWritten; // under _writing: a close frame has been written

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

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _writing.Wait(0) ? WriteHeld(buffer, cancellationToken) : WaitAndWriteAsync(buffer, cancellationToken);

    /// <summary>
    /// Writes <paramref name="frame"/>, a keep-alive, unless another write is under way (bytes are flowing, or the
    /// client has stopped reading: a keep-alive helps in neither case, and none piles up behind a stuck write) or a
    /// close frame has been written. Returns <see langword="false"/> if it was skipped; otherwise
    /// <paramref name="written"/> completes once the frame is written. Never waits.
    /// </summary>
    public bool TryWriteKeepAlive(ReadOnlyMemory<byte> frame, out ValueTask written)
    {
        written = default;
        if (!_writing.Wait(0))
        {
            return false;
        }

        if (_closeWritten)
        {
            _writing.Release();
            return false;
        }

        written = WriteHeld(frame, CancellationToken.None);
        return true;
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
        await WriteHeld(buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="buffer"/> with <see cref="_writing"/> held, and releases it once the write is over.</summary>
    private ValueTask WriteHeld(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        _closeWritten |= WebSocketFrames.StartsWithClose(buffer.Span);

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
            written.GetAwaiter().GetResult(); // a ValueTask's result is taken once, even when there is none: its source may be pooled
            _writing.Release();
            return ValueTask.CompletedTask;
        }

        return ReleaseAfterAsync(written);
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
