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

    /// <summary>Failed logins one address may make per <see cref="LoginFailureWindow"/> before it must wait. 0 turns the throttle off.</summary>
    public int LoginFailureLimit { get; set; } = 5;

    /// <summary>The window of <see cref="LoginFailureLimit"/>. Default five minutes.</summary>
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

        errors.Positive(nameof(options.LoginFailureWindow), options.LoginFailureWindow);
        return errors.Result;
    }
}
