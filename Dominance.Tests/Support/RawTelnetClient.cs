using System.IO.Compression;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dominance.Tests.Support;

/// <summary>
/// A telnet client that keeps every byte it receives, for tests of the bytes themselves: charsets, MSSP, and MCCP2 (once
/// <c>IAC SB MCCP2 IAC SE</c> arrives, what follows is inflated as it comes and kept in <see cref="Inflated"/>).
/// </summary>
internal sealed class RawTelnetClient : IAsyncDisposable
{
    private static readonly byte[] s_compressionStart = [255, 250, 86, 255, 240];

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly List<byte> _received = [];
    private readonly List<byte> _inflated = [];
    private readonly Pipe _compressed = new();
    private readonly Task _reader;
    private Task? _inflater;
    private TaskCompletionSource _reading = Started();
    private volatile bool _closed;

    private RawTelnetClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = Task.Run(ReadAsync);
    }

    /// <summary>Every byte received, as it came (compressed bytes included).</summary>
    public byte[] Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>What the compressed stream has inflated to so far.</summary>
    public byte[] Inflated
    {
        get
        {
            lock (_inflated)
            {
                return [.. _inflated];
            }
        }
    }

    /// <summary>Set if inflating failed (the server's stream was not valid zlib).</summary>
    public Exception? InflateError { get; private set; }

    /// <summary>Whether the server has closed the connection: everything it sent has been received, and inflated if compressed.</summary>
    public bool Closed => _closed;

    /// <summary>Stops reading after the read under way: the server's output waits in the sockets' buffers, then on the server.</summary>
    public void PauseReading() => Interlocked.Exchange(ref _reading, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Reads again.</summary>
    public void ResumeReading() => Volatile.Read(ref _reading).TrySetResult();

    public static async Task<RawTelnetClient> ConnectAsync(IPEndPoint endPoint)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(endPoint);
        return new RawTelnetClient(tcp);
    }

    public async Task SendAsync(params byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public Task SendLineAsync(string line) => SendAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

    /// <summary>Waits until the received bytes contain <paramref name="expected"/>.</summary>
    public Task WaitForAsync(byte[] expected) =>
        Poll.UntilAsync(() => Received.AsSpan().IndexOf(expected) >= 0, $"bytes [{string.Join(' ', expected)}] from the server");

    /// <summary>Waits until the inflated text contains <paramref name="text"/> (UTF-8).</summary>
    public Task WaitForInflatedAsync(string text) =>
        Poll.UntilAsync(() => Encoding.UTF8.GetString(Inflated).Contains(text, StringComparison.Ordinal),
            $"'{text}' in the decompressed output (so far: '{Encoding.UTF8.GetString(Inflated)}', error: {InflateError?.Message})");

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        await _compressed.Writer.CompleteAsync();
        try
        {
            await _reader;
        }
        catch
        {
            // closed under the reader
        }
    }

    private async Task ReadAsync()
    {
        byte[] buffer = new byte[8192];
        int matched = 0;
        bool ended = false;
        try
        {
            while (true)
            {
                await Volatile.Read(ref _reading).Task;
                int read = await _stream.ReadAsync(buffer);
                if (read == 0)
                {
                    ended = true;
                    break;
                }

                lock (_received)
                {
                    _received.AddRange(buffer.AsSpan(0, read));
                }

                int start = 0;
                if (_inflater is null)
                {
                    for (; start < read && _inflater is null; start++)
                    {
                        matched = buffer[start] == s_compressionStart[matched] ? matched + 1 : buffer[start] == s_compressionStart[0] ? 1 : 0;
                        if (matched == s_compressionStart.Length)
                        {
                            _inflater = Task.Run(InflateAsync);
                        }
                    }
                }

                if (_inflater is not null && start < read)
                {
                    await _compressed.Writer.WriteAsync(buffer.AsMemory(start, read - start));
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            // the connection closed
        }
        finally
        {
            await _compressed.Writer.CompleteAsync();
            if (_inflater is not null)
            {
                await _inflater; // it catches its own errors (InflateError); Closed means the inflated text is whole too
            }

            _closed = ended;
        }
    }

    private static TaskCompletionSource Started()
    {
        var started = new TaskCompletionSource();
        started.SetResult();
        return started;
    }

    private async Task InflateAsync()
    {
        try
        {
            await using var inflate = new ZLibStream(_compressed.Reader.AsStream(), CompressionMode.Decompress);
            byte[] buffer = new byte[8192];
            int read;
            while ((read = await inflate.ReadAsync(buffer)) > 0)
            {
                lock (_inflated)
                {
                    _inflated.AddRange(buffer.AsSpan(0, read));
                }
            }
        }
        catch (Exception e)
        {
            InflateError = e;
        }
    }
}
