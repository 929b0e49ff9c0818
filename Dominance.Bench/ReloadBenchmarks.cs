using System.Net;
using System.Net.Sockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Dominance.Api;
using Dominance.Core;
using Dominance.Hosting;
using Dominance.Reload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dominance.Bench;

/// <summary>
/// The game thread's pause during a reload: the old module exports its state, the new generation's module (compiled
/// from changed source into a new collectible context, before and off the game thread, as in a real reload) imports it
/// and starts. Reloads are human-paced, so each iteration waits a second between compiling and swapping, as the server
/// would be running normally between two saves of a source file.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 12)]
public class ReloadPauseBenchmarks
{
    private readonly GameCompiler _compiler = new();
    private GameLoop _loop = null!;
    private GameLoadContext? _previous;
    private GameLoadContext? _next;
    private Type _nextModule = null!;
    private StateSerializer _nextSerializer = null!;
    private int _generation = 1;

    [Params(1_000, 10_000, 100_000)]
    public int Entities { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Type first = Load(_generation);
        _loop = new GameLoop(new CoreSettings(), TimeProvider.System, NullLoggerFactory.Instance, new ConfigurationBuilder().Build());
        _loop.Start((IGameModule)Activator.CreateInstance(first)!, serializer: ReloadCoordinator.PrepareSerializer(first.Assembly));
        _loop.Started.GetAwaiter().GetResult();
        SerializerWarmUp.Start(); // as the server does once its first generation is loaded
        _previous = _next;
    }

    [IterationSetup]
    public void CompileNextGeneration()
    {
        _nextModule = Load(++_generation);
        _nextSerializer = ReloadCoordinator.PrepareSerializer(_nextModule.Assembly);
        ReloadCoordinator.PrepareCode(_nextModule.Assembly); // as the reload coordinator does before every swap
        Thread.Sleep(1000);
    }

    /// <summary>Returns the pause the game thread itself measured; BenchmarkDotNet's time adds the hand-off to it and back.</summary>
    [Benchmark]
    public double Swap()
    {
        Type module = _nextModule;
        SwapResult result = _loop.SwapAsync(() => (IGameModule)Activator.CreateInstance(module)!, _nextSerializer).GetAwaiter().GetResult();
        return result.Succeeded ? result.Pause.TotalMilliseconds : throw new InvalidOperationException(result.FailedStage, result.Error);
    }

    [IterationCleanup]
    public void UnloadPreviousGeneration()
    {
        _previous?.Unload();
        _previous = _next;
    }

    [GlobalCleanup]
    public void Cleanup() => _loop.StopAsync().GetAwaiter().GetResult();

    private Type Load(int generation)
    {
        CompileResult compiled = _compiler.CompileAsync([new SourceFile("World.cs", BenchGames.World(Entities, "v" + generation))], generation).GetAwaiter().GetResult();
        _next = new GameLoadContext(generation);
        return _next.LoadModuleType(compiled.Assembly!, compiled.Symbols);
    }
}

/// <summary>
/// Edit to live: from saving a source file in the game folder to the first command that runs the new code, with a
/// warm compiler, through a real server and a real telnet connection (debounce, read, compile, swap, reply).
/// Allocated counts every thread's allocations (BenchmarkDotNet reads the process total), so the compile dominates it.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 20)]
public class EditToLiveBenchmarks
{
    private string _folder = "";
    private DominanceServer _server = null!;
    private TcpClient _client = null!;
    private NetworkStream _stream = null!;
    private int _version;
    private readonly List<TcpClient> _players = [];
    private readonly CancellationTokenSource _stop = new();
    private Thread? _chatter;

    /// <summary>Players connected besides the one measuring, together chatting once a second each (every chat goes to everyone).</summary>
    [Params(0, 40)]
    public int Players { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("dominance-bench-").FullName;
        File.WriteAllText(Path.Combine(_folder, "World.cs"), BenchGames.World(1_000, "v0"));
        var settings = new DominanceSettings();
        settings.Portal.TelnetPort = 0;
        settings.Portal.HttpPort = 0;
        settings.Portal.CommandRateLimit = 0;
        settings.Portal.ConnectionRateLimit = 0; // the players all connect from loopback at once
        _server = DominanceServer.Create(settings, new ConfigurationBuilder().Build(), GameSources.FromFolder(_folder), null, logging => logging.SetMinimumLevel(LogLevel.Warning));
        _server.StartAsync().GetAwaiter().GetResult();
        _client = new TcpClient { NoDelay = true };
        _client.Connect(new IPEndPoint(IPAddress.Loopback, _server.TelnetEndPoint.Port));
        _stream = _client.GetStream();
        ReadUntil("welcome");
        StartPlayers();
    }

    /// <summary>Connects <see cref="Players"/> telnet players, each reading everything it is sent, and has them chat in turn.</summary>
    private void StartPlayers()
    {
        for (int i = 0; i < Players; i++)
        {
            var player = new TcpClient { NoDelay = true };
            player.Connect(new IPEndPoint(IPAddress.Loopback, _server.TelnetEndPoint.Port));
            _players.Add(player);
            NetworkStream stream = player.GetStream();
            _ = Task.Run(async () =>
            {
                byte[] buffer = new byte[16 * 1024];
                while (!_stop.IsCancellationRequested && await stream.ReadAsync(buffer, _stop.Token).ConfigureAwait(false) > 0)
                {
                }
            });
        }

        if (Players == 0)
        {
            return;
        }

        _chatter = new Thread(() =>
        {
            TimeSpan gap = TimeSpan.FromSeconds(1.0 / Players);
            for (long n = 0; !_stop.IsCancellationRequested; n++)
            {
                _players[(int)(n % Players)].GetStream().Write(System.Text.Encoding.ASCII.GetBytes($"chat hello {n}\r\n"));
                _stop.Token.WaitHandle.WaitOne(gap);
            }
        }) { IsBackground = true, Name = "chatter" };
        _chatter.Start();
    }

    [Benchmark]
    public void SaveToFirstNewReply()
    {
        string version = "v" + ++_version;
        File.WriteAllText(Path.Combine(_folder, "World.cs"), BenchGames.World(1_000, version));
        while (true)
        {
            _stream.Write("ping\r\n"u8);
            if (ReadUntil(" ping").StartsWith(version, StringComparison.Ordinal))
            {
                return;
            }

            Thread.Sleep(2); // poll: the first command that runs the new code ends the measurement
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        _chatter?.Join();
        foreach (TcpClient player in _players)
        {
            player.Dispose();
        }

        _client.Dispose();
        _server.StopAsync().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_folder, recursive: true);
    }

    private string ReadUntil(string marker)
    {
        var line = new StringBuilder();
        Span<byte> one = stackalloc byte[1];
        while (true)
        {
            if (_stream.Read(one) == 0)
            {
                throw new IOException("The server closed the connection.");
            }

            if (one[0] == (byte)'\n')
            {
                string text = line.ToString().TrimEnd('\r');
                line.Clear();
                if (text.Contains(marker, StringComparison.Ordinal))
                {
                    return text;
                }

                continue;
            }

            if (one[0] < 0x80 && one[0] != 0xFF)
            {
                line.Append((char)one[0]);
            }
        }
    }
}
