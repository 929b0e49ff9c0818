using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Dominance.Api;
using Dominance.Core;
using Dominance.Hosting;
using Dominance.Persistence;
using Dominance.Reload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dominance.Bench;

/// <summary>
/// A world save, in its two halves. <see cref="GameThreadStall"/>: what the game thread does, the module exporting
/// its state into a buffer (as <see cref="WorldSaves"/> does it; the figure adds the hand-off to the game thread and
/// back). <see cref="WholeSave"/>: from the request to the end of the database transaction, through the real writer
/// into a real SQLite file (WAL, synchronous=FULL), keeping the last 3 saves.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 60, iterationCount: 20)]
public class SaveBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private string _folder = "";
    private GameLoadContext _context = null!;
    private GameLoop _loop = null!;
    private SqliteGameStore _store = null!;
    private WorldSaves _saves = null!;

    [Params(10_000, 100_000, 1_000_000)]
    public int Entities { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        CompileResult compiled = new GameCompiler().CompileAsync([new SourceFile("World.cs", BenchGames.World(Entities))], 1).GetAwaiter().GetResult();
        _context = new GameLoadContext(1);
        Type module = _context.LoadModuleType(compiled.Assembly!, compiled.Symbols);
        _loop = new GameLoop(new CoreSettings(), TimeProvider.System, NullLoggerFactory.Instance, new ConfigurationBuilder().Build());
        _loop.Start((IGameModule)Activator.CreateInstance(module)!, serializer: ReloadCoordinator.PrepareSerializer(module.Assembly));
        _loop.Started.GetAwaiter().GetResult();
        SerializerWarmUp.Start(); // as the server does once its game is loaded
        Thread.Sleep(1000);       // and as a server does while it waits for the first periodic save

        _folder = Directory.CreateTempSubdirectory("dominance-bench-saves-").FullName;
        _store = new SqliteGameStore(Path.Combine(_folder, "dominance.db"));
        _store.MigrateAsync().GetAwaiter().GetResult();
        var settings = new PersistenceSettings { SaveInterval = TimeSpan.Zero };
        _saves = new WorldSaves(_store, _loop, settings, TimeProvider.System, NullLogger<WorldSaves>.Instance);
        _saves.Start();
    }

    [Benchmark]
    public int GameThreadStall() => _loop.InvokeAsync(() =>
    {
        _buffer.ResetWrittenCount();
        _loop.ExportState(_buffer);
        return _buffer.WrittenCount;
    }).GetAwaiter().GetResult();

    [Benchmark]
    public SaveResult WholeSave()
    {
        SaveResult result = _saves.SaveAsync().GetAwaiter().GetResult();
        return result.Succeeded ? result : throw new InvalidOperationException(result.Error);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _saves.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _loop.StopAsync().GetAwaiter().GetResult();
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _context.Unload();
        Directory.Delete(_folder, recursive: true);
    }
}
