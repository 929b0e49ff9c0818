using System.Net;

namespace Dominance.Hosting;

/// <summary>
/// Every setting of the server, bound from configuration: embedded defaults, then <c>appsettings.json</c>, then
/// <c>DOMINANCE__Section__Key</c> environment variables, then <c>--Section:Key=value</c> on the command line.
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

    /// <summary>Checks every value and returns one message per bad setting, each naming the setting.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        PortalSettings p = Portal;
        if (!IPAddress.TryParse(p.Host, out _))
        {
            errors.Add($"Portal:Host must be an IP address such as 127.0.0.1 or 0.0.0.0; it is '{p.Host}'.");
        }

        Port(errors, "Portal:TelnetPort", p.TelnetPort);
        Port(errors, "Portal:HttpPort", p.HttpPort);
        if (p.TelnetPort != 0 && p.TelnetPort == p.HttpPort)
        {
            errors.Add($"Portal:TelnetPort and Portal:HttpPort must differ; both are {p.TelnetPort}.");
        }

        AtLeast(errors, "Portal:CommandRateLimit", p.CommandRateLimit, 0);
        Positive(errors, "Portal:CommandRateWindow", p.CommandRateWindow);
        AtLeast(errors, "Portal:MaxInputLength", p.MaxInputLength, 1);
        AtLeast(errors, "Portal:ConnectionRateLimit", p.ConnectionRateLimit, 0);
        Positive(errors, "Portal:ConnectionRateWindow", p.ConnectionRateWindow);
        AtLeast(errors, "Portal:MaxConnections", p.MaxConnections, 1);
        AtLeast(errors, "Portal:SendQueueCapacity", p.SendQueueCapacity, 4);
        Positive(errors, "Portal:ShutdownGrace", p.ShutdownGrace);
        AtLeast(errors, "Core:InboundCapacity", Core.InboundCapacity, 1);
        if (Core.IdleTimeout < TimeSpan.Zero)
        {
            errors.Add($"Core:IdleTimeout must be 0 (off) or a positive time such as 00:30:00; it is {Core.IdleTimeout}.");
        }

        AtLeast(errors, "Accounts:LoginFailureLimit", Accounts.LoginFailureLimit, 0);
        if (!Accounts.AllowWeakPasswordHashing)
        {
            AtLeast(errors, "Accounts:PasswordIterations", Accounts.PasswordIterations, Dominance.Accounts.PasswordHasher.Iterations);
        }

        AtLeast(errors, "Accounts:AccountFailureLimit", Accounts.AccountFailureLimit, 0);
        Positive(errors, "Accounts:LoginFailureWindow", Accounts.LoginFailureWindow);
        AtLeast(errors, "Accounts:CreateLimit", Accounts.CreateLimit, 0);
        Positive(errors, "Accounts:CreateWindow", Accounts.CreateWindow);
        AtLeast(errors, "Accounts:PasswordWorkers", Accounts.PasswordWorkers, 1);
        AtLeast(errors, "Accounts:PasswordQueue", Accounts.PasswordQueue, 1);
        if (Persistence.SaveInterval < TimeSpan.Zero)
        {
            errors.Add($"Persistence:SaveInterval must be 0 (no periodic saves) or a positive time such as 00:01:00; it is {Persistence.SaveInterval}.");
        }

        AtLeast(errors, "Persistence:KeepSaves", Persistence.KeepSaves, 1);
        if (Persistence.PostgreSQL.Length > 0)
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(Persistence.PostgreSQL);
            }
            catch (ArgumentException e)
            {
                errors.Add($"Persistence:PostgreSQL must be a PostgreSQL connection string such as Host=127.0.0.1;Username=dominance;Password=...;Database=dominance; {e.Message}");
            }
        }
        else if (Persistence.SqliteFile.Trim().Length == 0)
        {
            errors.Add("Persistence:SqliteFile must name a file, such as dominance.db (or set Persistence:PostgreSQL).");
        }

        Positive(errors, "Persistence:RetryDelay", Persistence.RetryDelay);
        Positive(errors, "Persistence:ShutdownSaveTimeout", Persistence.ShutdownSaveTimeout);
        if (Reload.Debounce < TimeSpan.Zero)
        {
            errors.Add($"Reload:Debounce must be 0 or a positive time such as 00:00:00.150; it is {Reload.Debounce}.");
        }

        if (Reload.AdminToken.Length is > 0 and < ReloadSettings.MinAdminTokenLength || Reload.AdminToken.Any(char.IsWhiteSpace))
        {
            errors.Add(
                $"Reload:AdminToken must be empty (the reload endpoint is off) or at least {ReloadSettings.MinAdminTokenLength} characters " +
                $"without spaces, such as the output of: openssl rand -hex 16; it has {Reload.AdminToken.Length}.");
        }

        return errors;
    }

    private static void Port(List<string> errors, string name, int value)
    {
        if (value is < 0 or > 65535)
        {
            errors.Add($"{name} must be a port from 0 to 65535 (0 picks a free one); it is {value}.");
        }
    }

    private static void AtLeast(List<string> errors, string name, int value, int minimum)
    {
        if (value < minimum)
        {
            errors.Add($"{name} must be at least {minimum}; it is {value}.");
        }
    }

    private static void Positive(List<string> errors, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{name} must be a positive time such as 00:00:01; it is {value}.");
        }
    }
}

/// <summary>Settings of the portal, the in-process network edge.</summary>
public sealed class PortalSettings
{
    /// <summary>The address both listeners bind to. Default 127.0.0.1; use 0.0.0.0 to accept other machines.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The telnet port. Default 4000; 0 picks a free port.</summary>
    public int TelnetPort { get; set; } = 4000;

    /// <summary>The HTTP port (web client, <c>/ws</c>, <c>/healthz</c>). Default 4001; 0 picks a free port.</summary>
    public int HttpPort { get; set; } = 4001;

    /// <summary>Inputs a session may send per <see cref="CommandRateWindow"/>; more are dropped with a warning. 0 turns the limit off.</summary>
    public int CommandRateLimit { get; set; } = 80;

    /// <summary>The window of <see cref="CommandRateLimit"/>. Default one second.</summary>
    public TimeSpan CommandRateWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest input line, in characters. Longer lines are dropped with a warning.</summary>
    public int MaxInputLength { get; set; } = 6000;

    /// <summary>New connections one IP address may open per <see cref="ConnectionRateWindow"/>. 0 turns the limit off.</summary>
    public int ConnectionRateLimit { get; set; } = 20;

    /// <summary>The window of <see cref="ConnectionRateLimit"/>. Default ten seconds.</summary>
    public TimeSpan ConnectionRateWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most connections open at once, over both protocols.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Messages a session's send queue holds. A client that lets it fill up is disconnected.</summary>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>How long a graceful shutdown waits for queued output to reach clients before closing them hard.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Settings of the game core.</summary>
public sealed class CoreSettings
{
    /// <summary>Events the inbound channel holds before sessions have to wait (backpressure).</summary>
    public int InboundCapacity { get; set; } = 4096;

    /// <summary>Sessions with no input for this long are disconnected. Default 30 minutes; 0 turns it off.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary>Settings of live reload.</summary>
public sealed class ReloadSettings
{
    /// <summary>Whether saving a <c>.cs</c> file in the game folder reloads the game. Default on.</summary>
    public bool Watch { get; set; } = true;

    /// <summary>How long the game folder must be quiet after a change before the reload starts (editors save in steps).</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>The shortest <see cref="AdminToken"/> accepted.</summary>
    public const int MinAdminTokenLength = 16;

    /// <summary>
    /// The token <c>POST /admin/reload</c> requires, as <c>Authorization: Bearer &lt;token&gt;</c>. Default empty: the
    /// endpoint is off. Never logged.
    /// </summary>
    public string AdminToken { get; set; } = "";
}

/// <summary>Settings of player accounts.</summary>
public sealed class AccountSettings
{
    /// <summary>Names of accounts that are admins when created (the first account created always is).</summary>
    public string[] Admins { get; set; } = [];

    /// <summary>
    /// Failed logins one address may make per <see cref="LoginFailureWindow"/> before it must wait; checks in progress
    /// count too. A success forgives only that address's failures against the account it logged in to. 0 turns it off.
    /// </summary>
    public int LoginFailureLimit { get; set; } = 5;

    /// <summary>Failed logins for one account name, from all addresses, per <see cref="LoginFailureWindow"/> before it must wait. 0 turns it off.</summary>
    public int AccountFailureLimit { get; set; } = 20;

    /// <summary>The window of <see cref="LoginFailureLimit"/> and <see cref="AccountFailureLimit"/>. Default five minutes.</summary>
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// PBKDF2-SHA256 iterations for new password hashes. Default and minimum 600,000 (OWASP); raise it as machines get
    /// faster. Existing hashes keep the count they were made with.
    /// </summary>
    public int PasswordIterations { get; set; } = Dominance.Accounts.PasswordHasher.Iterations;

    /// <summary>
    /// Lets <see cref="PasswordIterations"/> go below the minimum. Tests only: not a public setting, so configuration
    /// (appsettings.json, environment, command line) can never set it.
    /// </summary>
    internal bool AllowWeakPasswordHashing { get; set; }

    /// <summary>Accounts one address may create per <see cref="CreateWindow"/>. 0 turns the limit off.</summary>
    public int CreateLimit { get; set; } = 3;

    /// <summary>The window of <see cref="CreateLimit"/>. Default one hour.</summary>
    public TimeSpan CreateWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Password hashes computed at once (each is 600,000 PBKDF2 iterations). Default a quarter of the processors, at least 1.</summary>
    public int PasswordWorkers { get; set; } = Math.Max(1, Environment.ProcessorCount / 4);

    /// <summary>Password hashes that may wait for a worker; past it, logins and creates are told the server is busy. Default 16.</summary>
    public int PasswordQueue { get; set; } = 16;
}

/// <summary>Settings of the database and the world saves.</summary>
public sealed class PersistenceSettings
{
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

    /// <summary>How often the world is saved. Default one minute; 0 turns periodic saves off (saves still happen on shutdown and on request).</summary>
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How many intact saves are kept, newest first. Default 3. Saves found damaged are kept apart and never deleted.</summary>
    public int KeepSaves { get; set; } = 3;

    /// <summary>The wait before retrying a failed save; it doubles with each failure, up to a minute. Default 1 second.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a graceful shutdown keeps trying to write the final save. Default 30 seconds.</summary>
    public TimeSpan ShutdownSaveTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
