using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net.Sockets;
using Dominance.Accounts;
using Dominance.Core;
using Dominance.Nats;
using Dominance.Persistence;
using Dominance.Portal;
using Dominance.Reload;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;

namespace Dominance.Hosting;

/// <summary>The <c>dominance</c> command: its verbs and options.</summary>
internal static class ServerCommandLine
{
    private const string SettingsTemplate = """
        {
          // Settings of this game. All are optional: the values shown are the defaults.
          // Any of them can also be set as DOMINANCE__Section__Key=value or --Section:Key=value.
          "Portal": {
            "Host": "127.0.0.1",
            "TelnetPort": 4000,
            "HttpPort": 4001,
            "CommandRateLimit": 80,
            "MaxInputLength": 6000
          },
          "Core": {
            "IdleTimeout": "00:30:00"
          },
          "Reload": {
            "Watch": true,
            // Admins may run C# against the live game (eval); every use is logged. false turns it off.
            "Eval": true,
            // How long the compiler process waits for the next edit before it exits (the next edit starts another).
            "CompilerIdleTimeout": "00:10:00",
            // A token (openssl rand -hex 16) turns on POST /admin/reload, for scripts on this machine that send it as
            // "Authorization: Bearer <token>". Empty: the endpoint is off.
            "AdminToken": ""
          },
          // The game's own settings, read by the game code through IGameContext.Settings.
          "Game": {
          }
        }

        """;

    /// <summary>
    /// The configuration sections a setting can be given for on the command line, as <c>--Section:Key=value</c>: the
    /// server's parts, the game's own, and the host's (logging, Kestrel). Each is a (hidden) option of the parser, which
    /// splits <c>--Portal:TelnetPort=5000</c> at the colon into the option <c>--Portal</c> and its value
    /// <c>TelnetPort=5000</c>.
    /// </summary>
    private static readonly string[] s_sections =
        [PortalSettings.Section, CoreSettings.Section, AccountSettings.Section, PersistenceSettings.Section, ReloadSettings.Section, MetricsSettings.Section, NatsSettings.Section, "Game", "Logging", "Kestrel"];

    /// <summary>Parses <paramref name="args"/> and runs the chosen verb. Returns the process exit code.</summary>
    public static Task<int> InvokeAsync(string[] args) =>
        // The host handles Ctrl-C and SIGTERM itself (graceful shutdown); the parser must not cut it short.
        Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

    private static RootCommand Build()
    {
        var options = new RunOptions(
            new Option<string?>("--host") { Description = "Address to listen on (Portal:Host), e.g. 0.0.0.0. Default 127.0.0.1." },
            new Option<int?>("--telnet-port") { Description = "Telnet port (Portal:TelnetPort). Default 4000." },
            new Option<int?>("--http-port") { Description = "HTTP and WebSocket port (Portal:HttpPort). Default 4001." },
            new Option<string?>("--nats") { Description = "A NATS server (Nats:Url), e.g. nats://127.0.0.1:4222: take portals in other processes too (run), or reach the core (portal). Needs Nats:Secret." },
            new Option<bool>("--no-local-portal") { Description = "With --nats: run the core without its own telnet and web listeners; players come through remote portals (Nats:LocalPortal=false)." },
            [.. s_sections.Select(SectionOption)]);
        var runFolder = new Argument<DirectoryInfo?>("game-folder")
        {
            Description = "A game folder (C# sources and appsettings.json) to serve and watch. Without one, the built-in game runs.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        runFolder.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value: ['-', ..] option }])
            {
                result.AddError($"Unknown option '{option}'. See dominance --help.");
            }
        });
        var initFolder = new Argument<DirectoryInfo>("folder") { Description = "A new (or empty) folder to create the game in." };

        var run = new Command("run", "Serve a game: the built-in one, or a game folder, reloaded whenever one of its .cs files is saved.") { runFolder };
        options.AddNamedTo(run);
        run.SetAction((parse, _) => RunAsync(parse.GetValue(runFolder), options.Overrides(parse)));

        var portal = new Command("portal", "Run only the network edge (telnet, WebSocket, the web client) for a game core reached over NATS: dominance portal --nats nats://HOST:4222.");
        options.AddNamedTo(portal);
        portal.SetAction((parse, _) => PortalAsync(options.Overrides(parse)));

        var init = new Command("init", "Create a game folder: a copy of the built-in game's source, a settings file, and a C# project for editors, ready to edit and run.")
        {
            initFolder,
        };
        init.SetAction(parse => Init(parse.GetValue(initFolder)!));

        var dumpId = new Argument<long?>("save-id") { Description = "The save to print. Default: the newest intact one.", Arity = ArgumentArity.ZeroOrOne };
        var dumpFolder = new Option<DirectoryInfo?>("--folder") { Description = "The game folder whose database to read (its appsettings.json and SQLite file). Default: the built-in game's." };
        var dump = new Command("dump", "Print a world save as JSON (to standard output), from the database the server would use with these settings.") { dumpId, dumpFolder };
        dump.SetAction((parse, _) => SaveDump.RunAsync(
            parse.GetValue(dumpFolder), parse.GetValue(dumpId), new MemoryConfigurationSource { InitialData = options.Overrides(parse) }, Console.Out, Console.Error));

        // The server's compiler process (CompilerProcess starts it): not for people, so not in --help.
        var compileWorker = new Command(CompileProtocol.Verb, "Compile games for a server that started this process: requests on standard input, answers on standard output.")
        {
            Hidden = true,
        };
        compileWorker.SetAction(_ => CompileWorker.Run(Console.OpenStandardInput(), Console.OpenStandardOutput()));

        var root = new RootCommand(
            "Dominance: a single-binary game server for MUDs and persistent strategy games. "
            + "Telnet on 127.0.0.1:4000, web client and WebSocket on http://127.0.0.1:4001. Without a verb, runs the server. "
            + $"Any setting can be given as --Section:Key=value (e.g. --Core:IdleTimeout=00:10:00; sections: {string.Join(", ", s_sections)}), "
            + "or as DOMINANCE__Section__Key in the environment.")
        {
            run,
            portal,
            init,
            dump,
            compileWorker,
            runFolder,
        };
        options.AddNamedTo(root);
        foreach (Option<string[]> section in options.Sections)
        {
            root.Options.Add(section); // recursive: every verb takes settings, as the environment gives them to every verb
        }

        root.SetAction((parse, _) => RunAsync(parse.GetValue(runFolder), options.Overrides(parse)));
        return root;
    }

    /// <summary>The option that takes the settings of one section: <c>--Section:Key=value</c>, as often as needed.</summary>
    private static Option<string[]> SectionOption(string section)
    {
        var option = new Option<string[]>("--" + section) { Hidden = true, Arity = ArgumentArity.OneOrMore, Recursive = true };
        option.Validators.Add(result =>
        {
            foreach (Token token in result.Tokens)
            {
                if (!token.Value.Contains('=', StringComparison.Ordinal))
                {
                    result.AddError($"Give a setting with its value: --{section}:{token.Value}=value.");
                }
            }
        });
        return option;
    }

    private static int Init(DirectoryInfo folder)
    {
        if (folder.Exists && folder.EnumerateFileSystemInfos().Any())
        {
            Console.Error.WriteLine($"dominance: '{folder.FullName}' is not empty. Choose a new folder, so that nothing is overwritten.");
            return 2;
        }

        folder.Create();
        IReadOnlyList<string> sources = GameSources.WriteEmbedded(folder.FullName);
        File.WriteAllText(Path.Combine(folder.FullName, "appsettings.json"), SettingsTemplate);
        IReadOnlyList<string> project = GameProject.Write(folder.FullName);
        Console.WriteLine(
            $"Created a game in {folder.FullName}: {sources.Count} source file(s), appsettings.json, " +
            $"and a project for editors and dotnet build ({string.Join(", ", project.Select(p => Path.GetRelativePath(folder.FullName, p)))}).");
        Console.WriteLine($"Run it with:  dominance run {folder.FullName}");
        Console.WriteLine("Edit any .cs file while it runs: the server recompiles and swaps the new code in, players stay connected.");
        return 0;
    }

    private static async Task<int> RunAsync(DirectoryInfo? folder, Dictionary<string, string?> overrides)
    {
        if (folder is { Exists: false })
        {
            Console.Error.WriteLine($"dominance: there is no game folder at '{folder.FullName}'. Create one with: dominance init {folder.FullName}");
            return 2;
        }

        string settingsFolder = folder?.FullName ?? Directory.GetCurrentDirectory();
        var given = new MemoryConfigurationSource { InitialData = overrides };
        if (!SettingsLoader.TryLoad(settingsFolder, given, out IConfigurationRoot configuration, out DominanceSettings settings, out IReadOnlyList<string> errors))
        {
            foreach (string error in errors)
            {
                Console.Error.WriteLine($"dominance: invalid setting: {error}");
            }

            return 2;
        }

        GameSources sources = folder is null ? GameSources.Embedded : GameSources.FromFolder(folder.FullName);
        await using DominanceServer server = DominanceServer.Create(settings, configuration, sources);
        try
        {
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is SocketException or AddressInUseException)
        {
            string setting = e.Message.Contains($":{settings.Portal.TelnetPort}", StringComparison.Ordinal) ? "Portal:TelnetPort (--telnet-port)" : "Portal:HttpPort (--http-port)";
            Console.Error.WriteLine($"dominance: cannot listen: {e.Message} Choose another port with {setting}.");
            return 1;
        }
        catch (Exception e) when (e is OptionsValidationException or AggregateException { InnerException: OptionsValidationException })
        {
            // The settings were checked above; this is the host's own check at start (ValidateOnStart), kept in step.
            foreach (string error in e is AggregateException all
                ? all.InnerExceptions.OfType<OptionsValidationException>().SelectMany(failed => failed.Failures)
                : ((OptionsValidationException)e).Failures)
            {
                Console.Error.WriteLine($"dominance: invalid setting: {error}");
            }

            return 2;
        }
        catch (Exception e) when (e is GameLoadException or StoreException)
        {
            Console.Error.WriteLine($"dominance: {e.Message}");
            return 1;
        }

        if (server.HasLocalPortal)
        {
            Console.WriteLine($"Dominance is running {sources.Description}. Telnet: {server.TelnetEndPoint}  Web: http://{server.HttpEndPoint}/  WebSocket: ws://{server.HttpEndPoint}/ws  (Ctrl-C stops)");
        }
        else
        {
            Console.WriteLine($"Dominance core is running {sources.Description}, for portals at {settings.Nats.RedactedUrl} (no local portal). Health: http://{server.HttpEndPoint}/healthz  (Ctrl-C stops)");
        }

        await server.WaitForShutdownAsync().ConfigureAwait(false);

        // Whoever runs the server (a script, systemd) must be able to tell that the players' last moves are not stored.
        if (server.ShutdownFailure is { } failure)
        {
            Console.Error.WriteLine($"dominance: exit code 1: {failure}");
            return 1;
        }

        return 0;
    }

    private static async Task<int> PortalAsync(Dictionary<string, string?> overrides)
    {
        var given = new MemoryConfigurationSource { InitialData = overrides };
        if (!SettingsLoader.TryLoad(Directory.GetCurrentDirectory(), given, out IConfigurationRoot configuration, out DominanceSettings settings, out IReadOnlyList<string> errors))
        {
            foreach (string error in errors)
            {
                Console.Error.WriteLine($"dominance: invalid setting: {error}");
            }

            return 2;
        }

        if (!settings.Nats.Enabled)
        {
            Console.Error.WriteLine("dominance: a portal needs its core's NATS server: --nats nats://HOST:4222 (Nats:Url), and the core's Nats:Secret.");
            return 2;
        }

        await using PortalServer server = PortalServer.Create(settings, configuration);
        try
        {
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is SocketException or AddressInUseException)
        {
            Console.Error.WriteLine($"dominance: cannot listen: {e.Message} Choose other ports with --telnet-port and --http-port.");
            return 1;
        }
        catch (NATS.Client.Core.NatsException e)
        {
            Console.Error.WriteLine($"dominance: cannot reach the NATS server at {settings.Nats.RedactedUrl}: {NatsSettings.Redact(e.Message)}");
            return 1;
        }

        Console.WriteLine($"Dominance is running as a portal {server.Relay.Id} of the core at {settings.Nats.RedactedUrl}. Telnet: {server.TelnetEndPoint}  Web: http://{server.HttpEndPoint}/  WebSocket: ws://{server.HttpEndPoint}/ws  (Ctrl-C stops)");
        Task stopped = server.WaitForShutdownAsync();
        if (await Task.WhenAny(stopped, server.Relay.Refused).ConfigureAwait(false) == server.Relay.Refused)
        {
            Console.Error.WriteLine($"dominance: {await server.Relay.Refused.ConfigureAwait(false)}");
            await server.StopAsync().ConfigureAwait(false);
            return 1;
        }

        await stopped.ConfigureAwait(false);
        return 0;
    }

    /// <summary>The options of the verb that runs the server, each mapped to the setting it sets.</summary>
    private sealed record RunOptions(Option<string?> Host, Option<int?> TelnetPort, Option<int?> HttpPort, Option<string?> Nats, Option<bool> NoLocalPortal, Option<string[]>[] Sections)
    {
        public void AddNamedTo(Command command)
        {
            command.Options.Add(Host);
            command.Options.Add(TelnetPort);
            command.Options.Add(HttpPort);
            command.Options.Add(Nats);
            if (command.Name != "portal")
            {
                command.Options.Add(NoLocalPortal);
            }
        }

        /// <summary>The settings given on the command line, as configuration keys; the named options win over <c>--Portal:...</c>.</summary>
        public Dictionary<string, string?> Overrides(ParseResult parse)
        {
            var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (Option<string[]> section in Sections)
            {
                foreach (string setting in parse.GetValue(section) ?? [])
                {
                    int equals = setting.IndexOf('=', StringComparison.Ordinal);
                    overrides[$"{section.Name[2..]}:{setting[..equals]}"] = setting[(equals + 1)..];
                }
            }

            if (parse.GetValue(Host) is { } host)
            {
                overrides["Portal:Host"] = host;
            }

            if (parse.GetValue(TelnetPort) is { } telnet)
            {
                overrides["Portal:TelnetPort"] = telnet.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(HttpPort) is { } http)
            {
                overrides["Portal:HttpPort"] = http.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(Nats) is { } nats)
            {
                overrides["Nats:Url"] = nats;
            }

            if (parse.GetResult(NoLocalPortal) is not null && parse.GetValue(NoLocalPortal))
            {
                overrides["Nats:LocalPortal"] = "false";
            }

            return overrides;
        }
    }
}
