using System.Security.Cryptography;
using Dominance.Api;
using Dominance.Persistence;
using Dominance.Tests.Support;

namespace Dominance.Tests.Persistence;

/// <summary>Worlds saved as JSON by earlier versions of the server start, and are saved in the binary format from then on.</summary>
public sealed class StateUpgradeTests
{
    [Test]
    public async Task AWorldSavedAsJsonStartsAndIsSavedAgainInBinary()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using (IGameStore store = database.OpenStore())
        {
            await store.MigrateAsync();
            byte[] json = """{"Counter":41,"Seen":[0,1]}"""u8.ToArray(); // as the JSON state of this very game was written
            await store.WriteSaveAsync(json, SHA256.HashData(json), DateTimeOffset.UtcNow, keep: 3);
        }

        using var folder = new GameFolder(GameFolder.Source("v1"));
        await using TestServer server = await TestServer.StartFromSourceAsync(folder.Path, s =>
        {
            database.Configure(s);
            s.Reload.Watch = false;
            s.Persistence.SaveInterval = TimeSpan.FromMilliseconds(100);
        });
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.SendAsync("inc");
        Assert.That(await client.Lines.WaitForAsync("counter="), Is.EqualTo("v1 counter=42"), "the JSON world was read");

        await using IGameStore reader = database.OpenStore();
        string? saved = null;
        await Poll.UntilAsync(async () =>
        {
            SaveInfo newest = (await reader.ListSavesAsync())[0];
            byte[] data = (await reader.ReadSaveAsync(newest.Id))!;
            saved = StateSerializer.IsBinary(data) ? StateSerializer.ToJson(data) : null;
            return saved?.Contains("\"Counter\": 42", StringComparison.Ordinal) == true;
        }, "a binary save of the changed world");
        Assert.That(saved, Does.Contain("\"Seen\": [").And.Contain("0,").And.Contain("1"));
    }
}
