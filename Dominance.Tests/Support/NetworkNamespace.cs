using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace Dominance.Tests.Support;

/// <summary>
/// A network namespace of its own (<c>ip netns</c>), joined to this one by a veth pair: this side is
/// <see cref="HostAddress"/>, the namespace's side <see cref="InsideAddress"/>, a /30 of 10.0.0.0/8 picked at random. A
/// process run in it (<see cref="Launcher"/>) has its own loopback and reaches this namespace only over the pair, as
/// another machine would. Names are new on every run, and disposing removes the namespace and the pair.
/// </summary>
/// <remarks>Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2; without root the test's prerequisite is missing.</remarks>
internal sealed class NetworkNamespace : IAsyncDisposable
{
    private readonly string _hostLink;

    private NetworkNamespace(string name, string hostLink, IPAddress host, IPAddress inside)
    {
        Name = name;
        _hostLink = hostLink;
        HostAddress = host;
        InsideAddress = inside;
    }

    /// <summary>The namespace's name (for <c>ip netns exec</c>).</summary>
    public string Name { get; }

    /// <summary>This side of the pair: how a process in the namespace reaches this one.</summary>
    public IPAddress HostAddress { get; }

    /// <summary>The namespace's side of the pair: how this namespace reaches a process in it.</summary>
    public IPAddress InsideAddress { get; }

    /// <summary>The command that runs a program in the namespace (for <see cref="ServerProcess.Start"/>).</summary>
    public IReadOnlyList<string> Launcher => [Ip(), "netns", "exec", Name];

    /// <summary>Creates the namespace and the pair, or marks the test as missing its prerequisite (not root, no iproute2).</summary>
    public static async Task<NetworkNamespace> CreateAsync()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Prerequisite.Missing("network namespaces (ip netns) need root");
        }

        if (!File.Exists(Ip()))
        {
            Prerequisite.Missing("ip (iproute2) is not installed (apt-get install iproute2)");
        }

        string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        int subnet = RandomNumberGenerator.GetInt32(1, 1 << 22) << 2; // a /30 in 10.0.0.0/8, not 10.0.0.0/30
        var host = new IPAddress([10, (byte)(subnet >> 16), (byte)(subnet >> 8), (byte)(subnet | 1)]);
        var inside = new IPAddress([10, (byte)(subnet >> 16), (byte)(subnet >> 8), (byte)(subnet | 2)]);
        // Interface names are at most 15 characters.
        var created = new NetworkNamespace($"dominance-{id}", $"dom{id}h", host, inside);
        string peer = $"dom{id}n";
        try
        {
            await RunAsync("netns", "add", created.Name);
            await RunAsync("link", "add", created._hostLink, "type", "veth", "peer", "name", peer);
            await RunAsync("link", "set", peer, "netns", created.Name);
            await RunAsync("addr", "add", $"{host}/30", "dev", created._hostLink);
            await RunAsync("link", "set", created._hostLink, "up");
            await RunAsync("-n", created.Name, "addr", "add", $"{inside}/30", "dev", peer);
            await RunAsync("-n", created.Name, "link", "set", peer, "up");
            await RunAsync("-n", created.Name, "link", "set", "lo", "up");
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }

        return created;
    }

    /// <summary>Removes the namespace (its end of the pair goes with it) and this end of the pair, whatever exists of them.</summary>
    public async ValueTask DisposeAsync()
    {
        await RunAsync(check: false, "netns", "del", Name);
        await RunAsync(check: false, "link", "del", _hostLink);
    }

    private static string Ip() => new[] { "/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip" }.FirstOrDefault(File.Exists) ?? "/usr/sbin/ip";

    private static Task RunAsync(params string[] args) => RunAsync(check: true, args);

    private static async Task RunAsync(bool check, params string[] args)
    {
        var start = new ProcessStartInfo(Ip()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Poll.Deadline);
        if (check && process.ExitCode != 0)
        {
            Assert.Fail($"ip {string.Join(' ', args)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }
}
