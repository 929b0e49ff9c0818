using Dominance.Core;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dominance.Persistence;

/// <summary>Settings of the database and the world saves (configuration section <c>Persistence</c>).</summary>
public sealed class PersistenceSettings
{
    /// <summary>The configuration section these settings are read from.</summary>
    public const string Section = "Persistence";

    /// <summary>
    /// The SQLite database file, used unless <see cref="PostgreSQL"/> is set. A relative path is taken from the game
    /// folder, or for the built-in game from the folder of the executable. Default <c>dominance.db</c>.
    /// </summary>
    public string SqliteFile { get; set; } = "dominance.db";

    /// <summary>
    /// A PostgreSQL connection string (e.g. <c>Host=127.0.0.1;Username=dominance;Password=...;Database=dominance</c>).
    /// When set, the server uses PostgreSQL instead of SQLite. Default empty.
    /// </summary>
    public string PostgreSQL { get; set; } = "";

    /// <summary>How often the world is saved. Default 5 seconds; 0 turns periodic saves off (saves still happen on shutdown and on request).</summary>
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many intact saves are kept, newest first. Default 3. Saves found damaged are kept apart and never deleted.</summary>
    public int KeepSaves { get; set; } = 3;

    /// <summary>The wait before retrying a failed save; it doubles with each failure, up to a minute. Default 1 second.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether the server may start from a world save that its game code cannot fully read, dropping what it does not
    /// keep (a member removed or renamed without <c>[StateAlias]</c>, a value of a changed type). Default false: the
    /// server refuses to start and names the members, because the periodic saves would soon replace the last save that
    /// holds the data. Set it (e.g. <c>--Persistence:DropUnreadableState=true</c>) once the loss is what you want.
    /// </summary>
    public bool DropUnreadableState { get; set; }

    /// <summary>How long a graceful shutdown keeps trying to write the final save. Default 30 seconds.</summary>
    public TimeSpan ShutdownSaveTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="PersistenceSettings"/>; each failure names the setting.</summary>
internal sealed class PersistenceSettingsValidator : IValidateOptions<PersistenceSettings>
{
    public ValidateOptionsResult Validate(string? name, PersistenceSettings options)
    {
        var errors = new SettingErrors(PersistenceSettings.Section);
        errors.ZeroOrPositive(nameof(options.SaveInterval), options.SaveInterval, " (no periodic saves)", "00:00:05");
        errors.AtLeast(nameof(options.KeepSaves), options.KeepSaves, 1);
        if (options.PostgreSQL.Length > 0)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.PostgreSQL);
            }
            catch (ArgumentException e)
            {
                errors.Add(nameof(options.PostgreSQL), $"must be a PostgreSQL connection string such as Host=127.0.0.1;Username=dominance;Password=...;Database=dominance; {e.Message}");
            }
        }
        else if (options.SqliteFile.Trim().Length == 0)
        {
            errors.Add(nameof(options.SqliteFile), "must name a file, such as dominance.db (or set Persistence:PostgreSQL).");
        }

        errors.Positive(nameof(options.RetryDelay), options.RetryDelay);
        errors.Positive(nameof(options.ShutdownSaveTimeout), options.ShutdownSaveTimeout);
        return errors.Result;
    }
}
