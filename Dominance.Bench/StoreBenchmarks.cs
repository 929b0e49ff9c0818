using BenchmarkDotNet.Attributes;
using Dominance.Persistence;

namespace Dominance.Bench;

/// <summary>
/// One call to the SQLite store, as a login makes it: <see cref="FindAccount"/> reads an account,
/// <see cref="SetLastLogin"/> writes one timestamp in a committed, synced transaction (WAL, synchronous=FULL). Each
/// call opens a connection of its own and checks that the file is still the one it opened.
/// </summary>
[MemoryDiagnoser]
public class StoreBenchmarks
{
    private string _folder = "";
    private SqliteGameStore _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("dominance-bench-store-").FullName;
        _store = new SqliteGameStore(Path.Combine(_folder, "dominance.db"));
        _store.MigrateAsync().GetAwaiter().GetResult();
        _store.TryCreateAccountAsync(new AccountRecord("Alice", "pbkdf2-sha256$600000$a$b", true, DateTimeOffset.UtcNow, null)).GetAwaiter().GetResult();
    }

    [Benchmark]
    public bool FindAccount() => _store.FindAccountAsync("Alice").GetAwaiter().GetResult() is not null;

    [Benchmark]
    public void SetLastLogin() => _store.SetLastLoginAsync("Alice", DateTimeOffset.UtcNow).GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_folder, recursive: true);
    }
}
