using System.Net;
using Dominance.Api;

namespace Dominance.Portal.InMemory;

/// <summary>
/// A session with no socket: code hands it input lines and receives its output bytes. It goes through the same
/// portal path as a network client (rate limit, inbound channel, outbox, write loop), which makes it the connection
/// of choice for benchmarks, bots and embedding.
/// </summary>
/// <remarks>Call <see cref="SendAsync"/> from one thread at a time, as a socket's read loop would.</remarks>
internal sealed class InMemorySession : PortalSession
{
    private readonly Action<FrameKind, ReadOnlyMemory<byte>> _output;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates a session whose output frames are handed to <paramref name="output"/> on the write loop.</summary>
    public InMemorySession(PortalService portal, Action<FrameKind, ReadOnlyMemory<byte>> output)
        : base(portal, ClientProtocol.InMemory, IPAddress.Loopback)
    {
        _output = output;
    }

    /// <summary>Sends one input line, as if the client typed it (subject to the portal's limits).</summary>
    public ValueTask SendAsync(string line)
    {
        if (line.Length > Portal.Settings.MaxInputLength)
        {
            RejectTooLong(line.Length);
            return ValueTask.CompletedTask;
        }

        BeginRead();
        return AdmitInput() ? RelayLineAsync(line) : ValueTask.CompletedTask;
    }

    /// <summary>The client leaves.</summary>
    public void Disconnect() => _closed.TrySetResult();

    protected override Task ReadLoopAsync() => _closed.Task;

    protected override ValueTask WriteFrameAsync(OutputFrame frame)
    {
        _output(frame.Kind, frame.Payload is null ? ReadOnlyMemory<byte>.Empty : frame.Payload.Memory);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask FlushAsync() => ValueTask.CompletedTask;

    protected override ValueTask CloseTransportAsync()
    {
        _closed.TrySetResult();
        return ValueTask.CompletedTask;
    }

    protected override void AbortTransport() => _closed.TrySetResult();
}
