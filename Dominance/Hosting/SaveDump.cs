using System.Security.Cryptography;
using Dominance.Api;
using Dominance.Persistence;
using Microsoft.Extensions.Configuration;

namespace Dominance.Hosting;

/// <summary>
/// <c>dominance dump [save-id]</c>: prints a world save as JSON, for people (debugging, support), from the database the
/// server would use with the same settings: the game folder's (or the built-in game's) SQLite file, or PostgreSQL.
/// </summary>
/// <remarks>
/// Needs no game code: binary state names every member, so it reads the same whatever code wrote it. The JSON goes to
/// standard output and nothing else does, so it can be piped into <c>jq</c>; what was printed goes to standard error.
/// </remarks>
internal static class SaveDump
{
    /// <summary>Prints save <paramref name="id"/> (the newest intact one if null). Returns the exit code.</summary>
    public static async Task<int> RunAsync(DirectoryInfo? folder, long? id, IConfigurationSource given, TextWriter output, TextWriter errors)
    {
        if (folder is { Exists: false })
        {
            await errors.WriteLineAsync($"dominance: there is no game folder at '{folder.FullName}'.").ConfigureAwait(false);
            return 2;
        }

        if (!SettingsLoader.TryLoad(folder?.FullName ?? Directory.GetCurrentDirectory(), given, out _, out DominanceSettings settings, out IReadOnlyList<string> invalid))
        {
            foreach (string error in invalid)
            {
                await errors.WriteLineAsync($"dominance: invalid setting: {error}").ConfigureAwait(false);
            }

            return 2;
        }

        PersistenceSettings persistence = settings.Persistence;
        string file = Path.Combine(folder?.FullName ?? AppContext.BaseDirectory, persistence.SqliteFile);
        if (persistence.PostgreSQL.Length == 0 && !File.Exists(file))
        {
            await errors.WriteLineAsync($"dominance: there is no database at {file} (Persistence:SqliteFile), so no world save.").ConfigureAwait(false);
            return 1;
        }

        await using IGameStore store = persistence.PostgreSQL.Length > 0 ? new PostgresGameStore(persistence.PostgreSQL) : new SqliteGameStore(file);
        try
        {
            IReadOnlyList<SaveInfo> saves = await store.ListSavesAsync().ConfigureAwait(false);
            SaveInfo? save = id is { } wanted ? saves.FirstOrDefault(s => s.Id == wanted) : saves.Where(s => s.Problem is null).MaxBy(s => s.Id);
            if (save is null)
            {
                await errors.WriteLineAsync(
                    saves.Count == 0 ? $"dominance: {store.Description} holds no world save."
                    : $"dominance: {store.Description} has no {(id is null ? "intact world save" : $"world save #{id}")}. Its saves: {string.Join(", ", saves.Select(s => "#" + s.Id))}.").ConfigureAwait(false);
                return 1;
            }

            byte[]? data = await store.ReadSaveAsync(save.Id).ConfigureAwait(false);
            if (data is null || data.Length != save.Length || !SHA256.HashData(data).AsSpan().SequenceEqual(save.Sha256))
            {
                await errors.WriteLineAsync($"dominance: world save #{save.Id} is damaged (its length or SHA-256 does not match){(save.Problem is null ? "" : ": " + save.Problem)}.").ConfigureAwait(false);
                return 1;
            }

            await output.WriteLineAsync(StateSerializer.ToJson(data)).ConfigureAwait(false);
            await errors.WriteLineAsync(
                $"World save #{save.Id} of {save.CreatedAt:u}, {data.Length:N0} bytes ({(StateSerializer.IsBinary(data) ? "binary" : "JSON")}), from {store.Description}.").ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is StoreException or System.Data.Common.DbException or InvalidOperationException)
        {
            await errors.WriteLineAsync($"dominance: cannot read world saves from {store.Description}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
