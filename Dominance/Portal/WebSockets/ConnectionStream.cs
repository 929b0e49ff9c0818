using System.Buffers;
using System.IO.Pipelines;
using Dominance.Portal.Sending;
using Microsoft.AspNetCore.Connections;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// A Kestrel connection's transport as a stream, for a WebSocket taken over at the connection level
/// (<see cref="WebSocketTakeover"/>). A zero-byte read waits for data without taking any (the WebSocket's idle read
/// holds no buffer). Disposing it ends a pending read or write at once (a client that stopped reading cannot hold a
/// write); the pipes themselves are Kestrel's, completed when the connection's handler returns. Given a
/// <see cref="DirectSocket"/>, the stream writes through it instead of the output pipe (a copy posted to the sender,
/// complete at once), and the pipe is never written.
/// </summary>
internal sealed class ConnectionStream(IDuplexPipe transport, DirectSocket? direct = null) : Stream
{
    private volatile bool _disposed;

    /// <summary>The connection's socket, if the portal sends on it itself.</summary>
    public DirectSocket? Direct => direct;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        PipeReader input = transport.Input;
        ReadResult result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            input.AdvanceTo(result.Buffer.Start);
            throw new ObjectDisposedException(nameof(ConnectionStream));
        }

        ReadOnlySequence<byte> data = result.Buffer;
        if (data.IsEmpty || buffer.IsEmpty)
        {
            input.AdvanceTo(data.Start); // the end of the stream, or a zero-byte read: data is here, nothing taken
            return 0;
        }

        int count = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, count).CopyTo(buffer.Span);
        input.AdvanceTo(data.GetPosition(count));
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (direct is not null)
        {
            // Every write here is whole frames (SharedWriteStream serializes them), so a write that starts with a
            // close frame (opcode 8) is the connection's last: no broadcast posted after it may follow it.
            direct.Write(buffer.Span, last: WebSocketFrames.StartsWithClose(buffer.Span));
            return ValueTask.CompletedTask;
        }

        ValueTask<FlushResult> flush = transport.Output.WriteAsync(buffer, cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            Check(flush.Result);
            return ValueTask.CompletedTask;
        }

        return AwaitFlushAsync(flush);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (direct is null)
        {
            Check(await transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>Not supported: a connection is read and written asynchronously only.</summary>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Not supported, as <see cref="Read"/>.</summary>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Nothing to do: every write is flushed.</summary>
    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            transport.Input.CancelPendingRead();
            transport.Output.CancelPendingFlush();
        }

        base.Dispose(disposing);
    }

    private static void Check(FlushResult result)
    {
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new ConnectionAbortedException("The connection closed while writing.");
        }
    }

    private static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush) => Check(await flush.ConfigureAwait(false));
}
