using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace Dominance.Bench.Load;

/// <summary>
/// One simulated player. It sends lines, and for every line it receives that carries a send stamp (<c>t=</c>, the
/// sender's Stopwatch timestamp, same process), it records the latency. Lines without a stamp are only counted.
/// </summary>
internal abstract class LoadClient : IAsyncDisposable
{
    private readonly List<long> _latencies = [];
    private readonly TaskCompletionSource _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiving = Task.CompletedTask;

    /// <summary>Latencies of stamped messages, in Stopwatch ticks. Read once the run is over.</summary>
    public List<long> Latencies => _latencies;

    /// <summary>Stamped messages received.</summary>
    public int Stamped => Volatile.Read(ref _stampedCount);

    /// <summary>Why the connection ended early, if it did.</summary>
    public string? Failure { get; private set; }

    private int _stampedCount;

    /// <summary>
    /// Connects a client that will record up to <paramref name="expectedStamps"/> latencies without growing its list.
    /// A list that grows during a run reallocates onto the large object heap, and the tool's own collections then show
    /// up as the server's latency.
    /// </summary>
    public static async Task<LoadClient> ConnectAsync(LoadTarget target, bool telnet, int expectedStamps)
    {
        LoadClient client = telnet
            ? await TelnetLoadClient.OpenAsync(target.Telnet ?? throw new InvalidOperationException($"{target.Name} has no telnet port."))
            : await WebSocketLoadClient.OpenAsync(target.Http);
        client._latencies.EnsureCapacity(expectedStamps); // before the receive loop starts: the list is not thread-safe
        client._receiving = Task.Run(client.ReceiveLoopAsync);
        return client;
    }

    /// <summary>Logs in as a guest and waits for the welcome.</summary>
    public async Task LogInAsync(TimeSpan timeout)
    {
        await SendAsync("connect guest");
        await _welcomed.Task.WaitAsync(timeout);
    }

    public abstract ValueTask SendAsync(string line);

    public abstract ValueTask DisposeAsync();

    protected abstract Task ReceiveLoopAsync();

    /// <summary>Handles one received line (a span into the receive buffer).</summary>
    protected void OnLine(ReadOnlySpan<byte> line)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        int stamp = line.IndexOf("t="u8);
        if (stamp >= 0)
        {
            long sent = 0;
            for (int i = stamp + 2; i < line.Length && line[i] is >= (byte)'0' and <= (byte)'9'; i++)
            {
                sent = (sent * 10) + (line[i] - '0');
            }

            _latencies.Add(now - sent);
            Interlocked.Increment(ref _stampedCount);
        }
        else if (!_welcomed.Task.IsCompleted && line.IndexOf("Welcome"u8) >= 0)
        {
            _welcomed.TrySetResult();
        }
    }

    protected void Fail(Exception e)
    {
        Failure ??= e.Message;
        _welcomed.TrySetException(e);
    }

    protected Task Receiving => _receiving;

    private sealed class WebSocketLoadClient(ClientWebSocket socket) : LoadClient
    {
        public static async Task<LoadClient> OpenAsync(IPEndPoint http)
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri($"ws://{http}/ws"), CancellationToken.None);
            return new WebSocketLoadClient(socket);
        }

        public override ValueTask SendAsync(string line) =>
            socket.SendAsync(Encoding.UTF8.GetBytes(line).AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

        public override async ValueTask DisposeAsync()
        {
            socket.Abort();
            socket.Dispose();
            await Receiving.ConfigureAwait(false);
        }

        protected override async Task ReceiveLoopAsync()
        {
            byte[] buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    int length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == buffer.Length)
                        {
                            Array.Resize(ref buffer, buffer.Length * 2);
                        }

                        result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        Fail(new IOException($"The server closed the connection: {socket.CloseStatusDescription}"));
                        return;
                    }

                    // A frame may hold several lines: the server coalesces what is already queued.
                    ReadOnlySpan<byte> rest = buffer.AsSpan(0, length);
                    while (!rest.IsEmpty)
                    {
                        int end = rest.IndexOf((byte)'\n');
                        OnLine(end < 0 ? rest : rest[..end]);
                        rest = end < 0 ? default : rest[(end + 1)..];
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
            {
                Fail(e);
            }
        }
    }

    private sealed class TelnetLoadClient(TcpClient tcp) : LoadClient
    {
        private readonly NetworkStream _stream = tcp.GetStream();

        public static async Task<LoadClient> OpenAsync(IPEndPoint telnet)
        {
            var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
            await tcp.ConnectAsync(telnet);
            return new TelnetLoadClient(tcp);
        }

        public override ValueTask SendAsync(string line) => _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

        public override async ValueTask DisposeAsync()
        {
            tcp.Dispose();
            await Receiving.ConfigureAwait(false);
        }

        protected override async Task ReceiveLoopAsync()
        {
            byte[] buffer = new byte[64 * 1024];
            var line = new ArrayBufferWriter<byte>(256);
            int iac = 0; // bytes of an IAC sequence still to skip (negotiation is not content)
            try
            {
                while (true)
                {
                    int read = await _stream.ReadAsync(buffer).ConfigureAwait(false);
                    if (read == 0)
                    {
                        Fail(new IOException("The server closed the connection."));
                        return;
                    }

                    foreach (byte b in buffer.AsSpan(0, read))
                    {
                        if (iac > 0)
                        {
                            iac = iac == 2 && b is >= 251 and <= 254 ? 1 : iac - 1;
                            continue;
                        }

                        if (b == 255)
                        {
                            iac = 2;
                        }
                        else if (b == (byte)'\n')
                        {
                            OnLine(line.WrittenSpan);
                            line.ResetWrittenCount();
                        }
                        else
                        {
                            line.GetSpan(1)[0] = b;
                            line.Advance(1);
                        }
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                Fail(e);
            }
        }
    }
}
