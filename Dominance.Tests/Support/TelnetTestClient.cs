using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dominance.Tests.Support;

/// <summary>
/// A raw telnet client over a real socket. It strips IAC sequences from what it receives (recording them in
/// <see cref="Commands"/>), splits the rest into lines, and by default answers no negotiation at all, like a dumb
/// client.
/// </summary>
internal sealed class TelnetTestClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly Task _reader;
    private readonly List<byte[]> _commands = [];
    private readonly List<byte> _line = [];
    private volatile TaskCompletionSource _resume = CompletedGate();

    private TelnetTestClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = Task.Run(ReadAsync);
    }

    /// <summary>Lines received, in order.</summary>
    public LineQueue Lines { get; } = new();

    /// <summary>Every IAC sequence received, in order (WILL/WONT/DO/DONT as 3 bytes; SB ... SE whole).</summary>
    public IReadOnlyList<byte[]> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public static async Task<TelnetTestClient> ConnectAsync(IPEndPoint endPoint, int receiveBufferSize = 0)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        if (receiveBufferSize > 0)
        {
            tcp.ReceiveBufferSize = receiveBufferSize;
        }

        await tcp.ConnectAsync(endPoint);
        return new TelnetTestClient(tcp);
    }

    /// <summary>Connects without starting the reader: the client never reads (a stalled client).</summary>
    public static async Task<TcpClient> ConnectSilentAsync(IPEndPoint endPoint)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { ReceiveBufferSize = 4096 };
        await tcp.ConnectAsync(endPoint);
        return tcp;
    }

    /// <summary>Stops taking bytes off the socket, so that the server's output backs up (a client that stalls).</summary>
    public void PauseReading() => _resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Resumes reading after <see cref="PauseReading"/>.</summary>
    public void ResumeReading() => _resume.TrySetResult();

    public Task SendAsync(string line) => SendRawAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

    public async Task SendRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Waits until an IAC sequence equal to <paramref name="expected"/> has been received.</summary>
    public Task WaitForCommandAsync(params byte[] expected) =>
        Poll.UntilAsync(() => Commands.Any(c => c.AsSpan().SequenceEqual(expected)), $"the server sent IAC sequence [{string.Join(' ', expected)}]");

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
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
        var command = new List<byte>();
        int state = 0; // 0 data, 1 after IAC, 2 option byte, 3 in SB, 4 IAC in SB
        try
        {
            while (true)
            {
                await _resume.Task;
                int read = await _stream.ReadAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                for (int i = 0; i < read; i++)
                {
                    byte b = buffer[i];
                    switch (state)
                    {
                        case 0 when b == 255:
                            command.Clear();
                            command.Add(b);
                            state = 1;
                            break;
                        case 0:
                            Data(b);
                            break;
                        case 1:
                            command.Add(b);
                            state = b switch { 255 => 0, >= 251 => 2, 250 => 3, _ => 0 };
                            if (b == 255)
                            {
                                Data(b);
                            }
                            else if (state == 0)
                            {
                                Record(command);
                            }

                            break;
                        case 2:
                            command.Add(b);
                            Record(command);
                            state = 0;
                            break;
                        case 3:
                            command.Add(b);
                            state = b == 255 ? 4 : 3;
                            break;
                        case 4:
                            command.Add(b);
                            if (b == 240)
                            {
                                Record(command);
                                state = 0;
                            }
                            else
                            {
                                state = 3;
                            }

                            break;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            // the connection closed
        }
        finally
        {
            if (_line.Count > 0)
            {
                Lines.Add(Encoding.UTF8.GetString(_line.ToArray()));
            }

            Lines.Complete();
        }
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        return gate;
    }

    private void Data(byte b)
    {
        if (b == (byte)'\n')
        {
            Lines.Add(Encoding.UTF8.GetString(_line.ToArray()).TrimEnd('\r'));
            _line.Clear();
        }
        else
        {
            _line.Add(b);
        }
    }

    private void Record(List<byte> command)
    {
        lock (_commands)
        {
            _commands.Add([.. command]);
        }
    }
}
