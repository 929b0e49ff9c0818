using Dominance.Hosting;
using Dominance.Persistence;
using Microsoft.Extensions.Configuration;

namespace Dominance.Tests.Support;

/// <summary>Starts the built-in game (compiled from its embedded source) with a fixed seed and a tick that only admins drive.</summary>
internal static class GameServer
{
    public const string Password = "secret1";

    public static Task<TestServer> StartAsync(Action<DominanceSettings>? configure = null, TimeProvider? clock = null, params (string Key, string Value)[] game) =>
        StartAsync(configure, clock, store: null, game);

    /// <summary>As <see cref="StartAsync(Action{DominanceSettings}?, TimeProvider?, (string, string)[])"/>, over a store of the test's own.</summary>
    public static Task<TestServer> StartAsync(Action<DominanceSettings>? configure, TimeProvider? clock, IGameStore? store, params (string Key, string Value)[] game)
    {
        var values = new Dictionary<string, string?> { ["Game:Seed"] = "7", ["Game:TickSeconds"] = "3600" };
        foreach ((string key, string value) in game)
        {
            values[key.Contains(':') ? key : "Game:" + key] = value;
        }

        return TestServer.StartFromSourceAsync(null, configure, new ConfigurationBuilder().AddInMemoryCollection(values).Build(), clock, store);
    }

    /// <summary>Connects a telnet player and creates a character (the first one created on a server is an admin).</summary>
    public static async Task<TelnetTestClient> CreateAsync(this TestServer server, string name, string password = Password)
    {
        TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("for everything else.");
        await client.SendAsync($"create {name} {password}");
        await client.Lines.WaitForAsync($"Welcome, {name}.");
        await client.Lines.WaitForAsync("Exits:");
        return client;
    }

    /// <summary>Sends a command and returns the first line containing <paramref name="expected"/>.</summary>
    public static async Task<string> DoAsync(this TelnetTestClient client, string command, string expected)
    {
        await client.SendAsync(command);
        return await client.Lines.WaitForAsync(expected);
    }
}
