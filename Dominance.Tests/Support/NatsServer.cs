using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Dominance.Tests.Support;

/// <summary>
/// A real nats-server (the Debian package), started by the test on a free port (of loopback unless told another
/// address) with a user and password of its own, and ready once it answers a connection with its INFO line.
/// </summary>
internal sealed class NatsServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private NatsServer(ChildProcess process, IPAddress address, int port, string password)
    {
        _process = process;
        Address = address;
        Port = port;
        Password = password;
    }

    /// <summary>The address it listens on.</summary>
    public IPAddress Address { get; }

    public int Port { get; }

    public string User => "dominance";

    public string Password { get; }

    public string Url => $"nats://{Address}:{Port}";

    /// <summary>What the server wrote.</summary>
    public string Output => _process.Output;

    /// <summary>The settings that point a core or a portal at this server, with the shared <paramref name="secret"/>, as environment variables.</summary>
    public Dictionary<string, string> Environment(string secret) => new()
    {
        ["DOMINANCE__Nats__Url"] = Url,
        ["DOMINANCE__Nats__User"] = User,
        ["DOMINANCE__Nats__Password"] = Password,
        ["DOMINANCE__Nats__Secret"] = secret,
    };

    /// <summary>
    /// Starts a server listening on <paramref name="address"/> (loopback if not given), or marks the test as missing its
    /// prerequisite if nats-server is not installed.
    /// </summary>
    public static async Task<NatsServer> StartAsync(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        string? binary = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            Prerequisite.Missing("nats-server is not installed (apt-get install nats-server)");
        }

        int port = FreePort(address);
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        ChildProcess process = ChildProcess.Start(binary!, ["-a", address.ToString(), "-p", port.ToString(), "--user", "dominance", "--pass", password]);
        var server = new NatsServer(process, address, port, password);
        await Poll.UntilAsync(server.AnswersAsync, $"nats-server answers on port {port}");
        return server;
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private async Task<bool> AnswersAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(Address, Port);
            var buffer = new byte[4];
            int read = await client.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
            return read == 4 && buffer.AsSpan().SequenceEqual("INFO"u8);
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
