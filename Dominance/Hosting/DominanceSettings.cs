using Dominance.Accounts;
using Dominance.Core;
using Dominance.Persistence;
using Dominance.Portal;
using Dominance.Reload;

namespace Dominance.Hosting;

/// <summary>
/// Every setting of the server, bound from configuration: embedded defaults, then <c>appsettings.json</c>, then
/// <c>DOMINANCE__Section__Key</c> environment variables, then <c>--Section:Key=value</c> on the command line. Each part
/// owns its section's class and the checks of its values (<see cref="SettingsRegistration"/>).
/// </summary>
public sealed class DominanceSettings
{
    /// <summary>The network edge: ports and client protections.</summary>
    public PortalSettings Portal { get; set; } = new();

    /// <summary>The game core: the inbound channel and idle logoff.</summary>
    public CoreSettings Core { get; set; } = new();

    /// <summary>Live reload of the game code.</summary>
    public ReloadSettings Reload { get; set; } = new();

    /// <summary>Player accounts: admins and the login throttle.</summary>
    public AccountSettings Accounts { get; set; } = new();

    /// <summary>The database (SQLite or PostgreSQL) and world saves.</summary>
    public PersistenceSettings Persistence { get; set; } = new();

    /// <summary>Metrics: <c>/metrics</c> for Prometheus, and OTLP export.</summary>
    public MetricsSettings Metrics { get; set; } = new();
}
