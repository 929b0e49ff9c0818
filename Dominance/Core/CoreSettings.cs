using Microsoft.Extensions.Options;

namespace Dominance.Core;

/// <summary>Settings of the game core (configuration section <c>Core</c>).</summary>
public sealed class CoreSettings
{
    /// <summary>The configuration section these settings are read from.</summary>
    public const string Section = "Core";

    /// <summary>Events the inbound channel holds before sessions have to wait (backpressure).</summary>
    public int InboundCapacity { get; set; } = 4096;

    /// <summary>Sessions with no input for this long are disconnected. Default 30 minutes; 0 turns it off.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long a logged-in session outlives its connection: its character stays in the world, its output is kept
    /// (<see cref="ResumeBacklog"/>), and a client that presents the session's resume token within this time takes it
    /// over. Default 2 minutes; 0 turns resuming off (a lost connection logs its player off at once).
    /// </summary>
    public TimeSpan ResumeGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Frames of output a session without a connection keeps for its return; older ones are dropped, and counted.</summary>
    public int ResumeBacklog { get; set; } = 500;

    /// <summary>
    /// The file that holds the resume tokens' key (made, owner-only, if missing). Relative paths are taken beside the
    /// SQLite database (in the game folder with PostgreSQL). Not used with portals over NATS: the key then comes from
    /// <c>Nats:Secret</c>.
    /// </summary>
    public string ResumeKeyFile { get; set; } = "resume.key";
}

/// <summary>Checks <see cref="CoreSettings"/>; each failure names the setting.</summary>
internal sealed class CoreSettingsValidator : IValidateOptions<CoreSettings>
{
    public ValidateOptionsResult Validate(string? name, CoreSettings options)
    {
        var errors = new SettingErrors(CoreSettings.Section);
        errors.AtLeast(nameof(options.InboundCapacity), options.InboundCapacity, 1);
        errors.ZeroOrPositive(nameof(options.IdleTimeout), options.IdleTimeout, " (off)", "00:30:00");
        errors.ZeroOrPositive(nameof(options.ResumeGrace), options.ResumeGrace, " (off)", "00:02:00");
        if (options.ResumeGrace > TimeSpan.FromDays(1))
        {
            errors.Add(nameof(options.ResumeGrace), $"must be at most one day (1.00:00:00); it is {options.ResumeGrace}.");
        }

        errors.AtLeast(nameof(options.ResumeBacklog), options.ResumeBacklog, 1);
        if (string.IsNullOrWhiteSpace(options.ResumeKeyFile))
        {
            errors.Add(nameof(options.ResumeKeyFile), "must name the file for the resume tokens' key, such as resume.key; it is empty.");
        }
        return errors.Result;
    }
}
