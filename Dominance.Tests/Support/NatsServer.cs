using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Dominance.Tests.Support;

/// <summary>
/// A real nats-server (the Debian package), started by the test on a free port (of loopback unless told another
/// address) with a user and password of its own, and ready once it answers a connection with its INFO line. A test
/// can stop it and start it again on the same port, as an operator restarting it would.
/// </summary>
internal sealed class NatsServer : IAsyncDisposable
{
    private readonly string[] _arguments;
    private readonly string? _folder;
    private ChildProcess _process;

    private NatsServer(string[] arguments, string? folder, IPAddress address, int port, string password)
    {
        _arguments = arguments;
        _folder = folder;
        _process = ChildProcess.Start(arguments[0], arguments[1..]);
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

    /// <summary>Points an in-process core's settings at this server, with the shared <paramref name="secret"/>.</summary>
    public void Configure(Dominance.Hosting.DominanceSettings settings, string secret)
    {
        settings.Nats.Url = Url;
        settings.Nats.User = User;
        settings.Nats.Password = Password;
        settings.Nats.Secret = secret;
    }

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
    /// prerequisite if nats-server is not installed. <paramref name="maxPayload"/>, if given, is its <c>max_payload</c>
    /// (the largest message it takes, in bytes; 1 MB if not given).
    /// </summary>
    public static async Task<NatsServer> StartAsync(IPAddress? address = null, int? maxPayload = null)
    {
        address ??= IPAddress.Loopback;
        string? binary = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            Prerequisite.Missing("nats-server is not installed (apt-get install nats-server)");
        }

        int port = FreePort(address);
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        string[] arguments = [binary!, "-a", address.ToString(), "-p", port.ToString(), "--user", "dominance", "--pass", password];
        string? folder = null;
        if (maxPayload is { } max)
        {
            // max_payload is a setting of the configuration file only.
            folder = Directory.CreateTempSubdirectory("dominance-nats-").FullName;
            string config = Path.Combine(folder, "nats.conf");
            await File.WriteAllTextAsync(config, $"max_payload: {max}\n");
            arguments = [.. arguments, "-c", config];
        }

        var server = new NatsServer(arguments, folder, address, port, password);
        await Poll.UntilAsync(server.AnswersAsync, $"nats-server answers on port {port}");
        return server;
    }

    /// <summary>Stops the server (SIGKILL: its clients see the connection drop); <see cref="StartAgainAsync"/> brings it back.</summary>
    public async Task StopAsync() => await _process.DisposeAsync();

    /// <summary>Starts the server again, stopped by <see cref="StopAsync"/>, on the same port and with the same settings.</summary>
    public async Task StartAgainAsync()
    {
        _process = ChildProcess.Start(_arguments[0], _arguments[1..]);
        await Poll.UntilAsync(AnswersAsync, $"nats-server answers on port {Port} again");
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

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
