using System.CommandLine;
using System.Net.Sockets;
using Dominance.Game;
using Microsoft.Extensions.Configuration;

namespace Dominance.Hosting;

/// <summary>The <c>dominance</c> command: its verbs and options.</summary>
internal static class ServerCommandLine
{
    /// <summary>Parses <paramref name="args"/> and runs the chosen verb. Returns the process exit code.</summary>
    public static Task<int> InvokeAsync(string[] args)
    {
        RootCommand root = Build();
        // The host handles Ctrl-C and SIGTERM itself (graceful shutdown); the parser must not cut it short.
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static RootCommand Build()
    {
        var host = new Option<string?>("--host") { Description = "Address to listen on (Portal:Host), e.g. 0.0.0.0. Default 127.0.0.1." };
        var telnetPort = new Option<int?>("--telnet-port") { Description = "Telnet port (Portal:TelnetPort). Default 4000." };
        var httpPort = new Option<int?>("--http-port") { Description = "HTTP and WebSocket port (Portal:HttpPort). Default 4001." };

        var run = new Command("run", "Serve the game (the default verb). Any setting can be overridden as --Section:Key=value.")
        {
            host,
            telnetPort,
            httpPort,
        };
        run.TreatUnmatchedTokensAsErrors = false;
        run.SetAction((parse, _) => RunAsync(parse, host, telnetPort, httpPort));

        var root = new RootCommand(
            "Dominance: a single-binary game server for MUDs and persistent strategy games. "
            + "Telnet on 127.0.0.1:4000, web client and WebSocket on http://127.0.0.1:4001.")
        {
            run,
            host,
            telnetPort,
            httpPort,
        };
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction((parse, _) => RunAsync(parse, host, telnetPort, httpPort));
        return root;
    }

    private static async Task<int> RunAsync(ParseResult parse, Option<string?> host, Option<int?> telnetPort, Option<int?> httpPort)
    {
        var overrides = new List<string>(parse.UnmatchedTokens);
        if (parse.GetValue(host) is { } h)
        {
            overrides.Add($"--Portal:Host={h}");
        }

        if (parse.GetValue(telnetPort) is { } t)
        {
            overrides.Add($"--Portal:TelnetPort={t}");
        }

        if (parse.GetValue(httpPort) is { } p)
        {
            overrides.Add($"--Portal:HttpPort={p}");
        }

        if (!SettingsLoader.TryLoad(Directory.GetCurrentDirectory(), overrides, out IConfigurationRoot configuration, out DominanceSettings settings, out IReadOnlyList<string> errors))
        {
            foreach (string error in errors)
            {
                Console.Error.WriteLine($"dominance: invalid setting: {error}");
            }

            return 2;
        }

        await using DominanceServer server = DominanceServer.Create(settings, configuration, new MinimalGame());
        try
        {
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is SocketException or Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            string setting = e.Message.Contains($":{settings.Portal.TelnetPort}", StringComparison.Ordinal) ? "Portal:TelnetPort (--telnet-port)" : "Portal:HttpPort (--http-port)";
            Console.Error.WriteLine($"dominance: cannot listen: {e.Message} Choose another port with {setting}.");
            return 1;
        }

        Console.WriteLine($"Dominance is running. Telnet: {server.TelnetEndPoint}  Web: http://{server.HttpEndPoint}/  WebSocket: ws://{server.HttpEndPoint}/ws  (Ctrl-C stops)");
        await server.WaitForShutdownAsync().ConfigureAwait(false);
        return 0;
    }
}
