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
}

/// <summary>Checks <see cref="CoreSettings"/>; each failure names the setting.</summary>
internal sealed class CoreSettingsValidator : IValidateOptions<CoreSettings>
{
    public ValidateOptionsResult Validate(string? name, CoreSettings options)
    {
        var errors = new SettingErrors(CoreSettings.Section);
        errors.AtLeast(nameof(options.InboundCapacity), options.InboundCapacity, 1);
        errors.ZeroOrPositive(nameof(options.IdleTimeout), options.IdleTimeout, " (off)", "00:30:00");
        return errors.Result;
    }
}
