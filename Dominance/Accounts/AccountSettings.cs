using Dominance.Core;
using Microsoft.Extensions.Options;

namespace Dominance.Accounts;

/// <summary>Settings of player accounts (configuration section <c>Accounts</c>).</summary>
public sealed class AccountSettings
{
    /// <summary>The configuration section these settings are read from.</summary>
    public const string Section = "Accounts";

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
    public int PasswordIterations { get; set; } = PasswordHasher.Iterations;

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

/// <summary>Checks <see cref="AccountSettings"/>; each failure names the setting.</summary>
internal sealed class AccountSettingsValidator : IValidateOptions<AccountSettings>
{
    public ValidateOptionsResult Validate(string? name, AccountSettings options)
    {
        var errors = new SettingErrors(AccountSettings.Section);
        errors.AtLeast(nameof(options.LoginFailureLimit), options.LoginFailureLimit, 0);
        if (!options.AllowWeakPasswordHashing)
        {
            errors.AtLeast(nameof(options.PasswordIterations), options.PasswordIterations, PasswordHasher.Iterations);
        }

        errors.AtLeast(nameof(options.AccountFailureLimit), options.AccountFailureLimit, 0);
        errors.Positive(nameof(options.LoginFailureWindow), options.LoginFailureWindow);
        errors.AtLeast(nameof(options.CreateLimit), options.CreateLimit, 0);
        errors.Positive(nameof(options.CreateWindow), options.CreateWindow);
        errors.AtLeast(nameof(options.PasswordWorkers), options.PasswordWorkers, 1);
        errors.AtLeast(nameof(options.PasswordQueue), options.PasswordQueue, 1);
        return errors.Result;
    }
}
