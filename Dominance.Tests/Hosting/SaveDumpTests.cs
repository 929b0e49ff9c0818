using System.Buffers;
using System.Security.Cryptography;
using Dominance.Api;
using Dominance.Persistence;
using Dominance.Tests.Support;

namespace Dominance.Tests.Hosting;

/// <summary><c>dominance dump</c>, as a user runs it: a save printed as JSON, from SQLite or PostgreSQL.</summary>
public sealed class SaveDumpTests
{
    [TestCase(StoreKind.Sqlite)]
    [TestCase(StoreKind.PostgreSQL)]
    public async Task DumpPrintsTheNewestSaveOrTheOneNamedAsJson(StoreKind kind)
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(kind);
        long jsonSave, binarySave;
        await using (IGameStore store = database.OpenStore())
        {
            await store.MigrateAsync();
            byte[] json = """{"Tick":7}"""u8.ToArray();
            jsonSave = await store.WriteSaveAsync(json, SHA256.HashData(json), DateTimeOffset.UtcNow, keep: 3);
            var binary = new ArrayBufferWriter<byte>();
            new StateSerializer().Write(binary, new Dictionary<string, int> { ["alice"] = 21 });
            binarySave = await store.WriteSaveAsync(binary.WrittenMemory, SHA256.HashData(binary.WrittenSpan), DateTimeOffset.UtcNow, keep: 3);
        }

        await using (ServerProcess newest = ServerProcess.Start(["dump", .. database.Arguments], ephemeralPorts: false))
        {
            Assert.That(await newest.ExitCodeAsync(), Is.Zero, newest.Output);
            Assert.That(newest.Output, Does.Contain("\"alice\": 21"));
            Assert.That(newest.Output, Does.Contain($"World save #{binarySave} of ").And.Contain("(binary)"));
        }

        await using (ServerProcess named = ServerProcess.Start(["dump", jsonSave.ToString(System.Globalization.CultureInfo.InvariantCulture), .. database.Arguments], ephemeralPorts: false))
        {
            Assert.That(await named.ExitCodeAsync(), Is.Zero, named.Output);
            Assert.That(named.Output, Does.Contain("\"Tick\": 7").And.Contain("(JSON)"));
        }

        await using ServerProcess missing = ServerProcess.Start(["dump", "999", .. database.Arguments], ephemeralPorts: false);
        Assert.That(await missing.ExitCodeAsync(), Is.EqualTo(1));
        Assert.That(missing.Output, Does.Contain($"has no world save #999. Its saves: #{binarySave}, #{jsonSave}."));
    }
}
