using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Dominance.Bench.Load;

/// <summary>
/// One simulated player on a raw socket (WebSocket or telnet, see <see cref="ILoadProtocol"/>), read by a
/// <see cref="LoadReceiver"/> thread. It sends lines, and for every line it receives that carries a send stamp
/// (<c>t=</c>, the sender's Stopwatch timestamp, same process), it records the latency, and the part of it until the
/// bytes arrived at its socket (the kernel's stamp). Lines without a stamp are only counted.
/// </summary>
internal sealed class LoadClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ILoadProtocol _protocol;
    private readonly List<long> _latencies = [];
    private readonly List<long> _arrivals = [];
    private readonly List<long>? _sentAt;
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _sending = new();
    private volatile string? _failure;
    private int _stampedCount;
    private long _receivedBytes;
    private int _disposing;
    private long _readAt;
    private long _arrivedAt;

    private LoadClient(Socket socket, ILoadProtocol protocol, int expectedStamps, bool timeline)
    {
        _socket = socket;
        _protocol = protocol;
        Descriptor = (int)socket.Handle;
        Handle = GCHandle.Alloc(this);

        // Sized before the first read: a list that grows during a run reallocates onto the large object heap, and the
        // tool's own collections then show up as the server's latency.
        _latencies.EnsureCapacity(expectedStamps);
        _arrivals.EnsureCapacity(expectedStamps);
        _sentAt = timeline ? new List<long>(expectedStamps) : null;
    }

    /// <summary>Latencies of stamped messages, in Stopwatch ticks: from the send stamp to the read. Read once the run is over.</summary>
    public List<long> Latencies => _latencies;

    /// <summary>
    /// For each latency, the part of it until the bytes arrived at this client's socket (the kernel's receive stamp),
    /// in Stopwatch ticks, or <see cref="long.MinValue"/> if the kernel gave none. The rest is the load tool's own delay.
    /// </summary>
    public List<long> Arrivals => _arrivals;

    /// <summary>
    /// For each latency, its message's send stamp (Stopwatch ticks): which message it was, and when it was sent. Kept
    /// only for a timeline (<see cref="LoadOptions.Timeline"/>), otherwise <see langword="null"/>.
    /// </summary>
    public List<long>? SentAt => _sentAt;

    /// <summary>Bytes received, as read (protocol and all).</summary>
    public long ReceivedBytes => Volatile.Read(ref _receivedBytes);

    /// <summary>Stamped messages received.</summary>
    public int Stamped => Volatile.Read(ref _stampedCount);

    /// <summary>Why the connection ended early, if it did.</summary>
    public string? Failure => _failure;

    /// <summary>Whether what the server sends is compressed (a telnet client that took MCCP2); read once it is quiet.</summary>
    public bool Compressed => _protocol is TelnetLoadProtocol { Compressed: true };

    /// <summary>The socket's file descriptor, for the receiver's epoll.</summary>
    internal int Descriptor { get; }

    /// <summary>A handle to this client, the receiver's epoll data for its socket; freed when the socket is closed.</summary>
    internal GCHandle Handle { get; }

    /// <summary>
    /// Connects a client (and opens the WebSocket) that will record up to <paramref name="expectedStamps"/> latencies
    /// without growing its lists, read by <paramref name="receiver"/>. A telnet client with <paramref name="mccp"/>
    /// takes the server's MCCP2 compression (<see cref="TelnetLoadProtocol"/>).
    /// </summary>
    public static async Task<LoadClient> ConnectAsync(LoadTarget target, bool telnet, int expectedStamps, LoadReceiver receiver, bool mccp = false, bool timeline = false)
    {
        IPEndPoint endpoint = telnet ? target.Telnet ?? throw new InvalidOperationException($"{target.Name} has no telnet port.") : target.Http;
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        LoadClient client;
        try
        {
            socket.Connect(endpoint); // loopback: the kernel completes it without waiting for the server to accept
            socket.Blocking = false;
            LinuxReceive.StampArrivals(socket);
            client = new LoadClient(socket, telnet ? new TelnetLoadProtocol(mccp) : new WebSocketLoadProtocol(endpoint), expectedStamps, timeline);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        try
        {
            receiver.Add(client);
            client._protocol.Start(client);
            await client._opened.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Logs in as a guest and waits for the welcome.</summary>
    public async Task LogInAsync(TimeSpan timeout)
    {
        Send("connect guest");
        await _welcomed.Task.WaitAsync(timeout);
    }

    /// <summary>Sends <paramref name="line"/> (a non-blocking send: one line fits in the socket's buffer at once).</summary>
    public void Send(string line) => SendRaw(_protocol.Encode(line));

    /// <summary>
    /// Sends <paramref name="line"/>, or, if the connection has failed or been closed (the server cut it off, say),
    /// returns <see langword="false"/> with <see cref="Failure"/> set, so that a load run reports it instead of ending.
    /// </summary>
    public bool TrySend(string line)
    {
        try
        {
            Send(line);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            _failure ??= $"sending failed: {e.Message}";
            return false;
        }
    }

    /// <summary>Shuts the connection down and waits until its receiver has closed it: the latency lists are then complete and still.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) == 0)
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Both); // the receiver reads the end and closes the socket
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed by the receiver.
            }
        }

        await _closed.Task.ConfigureAwait(false);
    }

    /// <summary>Sends <paramref name="bytes"/> whole; sends from different threads do not interleave.</summary>
    internal void SendRaw(ReadOnlySpan<byte> bytes)
    {
        lock (_sending)
        {
            while (!bytes.IsEmpty)
            {
                int sent = _socket.Send(bytes, SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    _socket.Poll(TimeSpan.FromMilliseconds(10), SelectMode.SelectWrite);
                    continue;
                }

                if (error != SocketError.Success)
                {
                    throw new SocketException((int)error);
                }

                bytes = bytes[sent..];
            }
        }
    }

    /// <summary>The protocol's opening is done (the WebSocket handshake was answered).</summary>
    internal void Opened() => _opened.TrySetResult();

    /// <summary>
    /// On the receiver's thread: <paramref name="data"/> was read at <paramref name="readAt"/>, and its last byte arrived
    /// at the socket at <paramref name="arrivedAt"/> (Stopwatch ticks; 0 if unknown).
    /// </summary>
    internal void Received(ReadOnlySpan<byte> data, long readAt, long arrivedAt)
    {
        _readAt = readAt;
        _arrivedAt = arrivedAt;
        Volatile.Write(ref _receivedBytes, _receivedBytes + data.Length);
        _protocol.Read(this, data);
    }

    /// <summary>On the receiver's thread: the connection ended (<paramref name="error"/>, or the end of the stream); the socket is closed.</summary>
    internal void Closed(int epoll, Exception? error)
    {
        LinuxReceive.Remove(epoll, Descriptor);
        lock (_sending)
        {
            _socket.Dispose();
        }

        Handle.Free();
        (_protocol as IDisposable)?.Dispose(); // this thread is the only one that reads with it
        if (Volatile.Read(ref _disposing) == 0)
        {
            Exception e = error ?? new IOException("The server closed the connection.");
            _failure ??= e.Message;
            _opened.TrySetException(e);
            _welcomed.TrySetException(e);
        }

        _closed.TrySetResult();
    }

    /// <summary>Handles one received line (a span into the read).</summary>
    internal void OnLine(ReadOnlySpan<byte> line)
    {
        int stamp = line.IndexOf("t="u8);
        if (stamp >= 0)
        {
            long sent = 0;
            for (int i = stamp + 2; i < line.Length && line[i] is >= (byte)'0' and <= (byte)'9'; i++)
            {
                sent = (sent * 10) + (line[i] - '0');
            }

            _latencies.Add(_readAt - sent);
            _arrivals.Add(_arrivedAt == 0 ? long.MinValue : _arrivedAt - sent);
            _sentAt?.Add(sent);
            Interlocked.Increment(ref _stampedCount);
        }
        else if (!_welcomed.Task.IsCompleted && line.IndexOf("Welcome"u8) >= 0)
        {
            _welcomed.TrySetResult();
        }
    }
}
