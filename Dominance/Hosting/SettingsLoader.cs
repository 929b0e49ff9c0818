using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;

namespace Dominance.Hosting;

/// <summary>
/// Reads the configuration in Generic Host order: embedded defaults (the property initializers of the settings
/// classes), then <c>appsettings.json</c>, then <c>DOMINANCE__</c> environment variables, then command-line
/// overrides. Bad values come back as messages that name the setting.
/// </summary>
internal static class SettingsLoader
{
    /// <summary>The prefix of environment variables that override settings: <c>DOMINANCE__Portal__TelnetPort=5000</c>.</summary>
    public const string EnvironmentPrefix = "DOMINANCE__";

    /// <summary>
    /// Builds and binds the configuration, with <paramref name="overrides"/> (<c>--Section:Key=value</c>) last.
    /// Returns <see langword="false"/> with one message per problem if the configuration cannot be read or a value is
    /// out of range (checked as the host checks it at start: <see cref="SettingsRegistration.Check"/>).
    /// </summary>
    public static bool TryLoad(
        string settingsFolder,
        IReadOnlyList<string> overrides,
        out IConfigurationRoot configuration,
        out DominanceSettings settings,
        out IReadOnlyList<string> errors) =>
        TryLoad(settingsFolder, new CommandLineConfigurationSource { Args = overrides }, out configuration, out settings, out errors);

    /// <summary>As the other overload, with the overrides given as a configuration source of their own.</summary>
    public static bool TryLoad(
        string settingsFolder,
        IConfigurationSource overrides,
        out IConfigurationRoot configuration,
        out DominanceSettings settings,
        out IReadOnlyList<string> errors)
    {
        settings = new DominanceSettings();
        configuration = new ConfigurationBuilder().Build();
        try
        {
            configuration = new ConfigurationBuilder()
                .AddJsonFile(Path.Combine(Path.GetFullPath(settingsFolder), "appsettings.json"), optional: true, reloadOnChange: false)
                .AddEnvironmentVariables(EnvironmentPrefix)
                .Add(overrides)
                .Build();
            configuration.Bind(settings);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            // The binder names the setting ("... at 'Portal:TelnetPort' to type 'System.Int32'"); the JSON reader
            // names the file and line. Either way the message is the useful part, not the stack.
            errors = [e.InnerException is null ? e.Message : $"{e.Message} {e.InnerException.Message}"];
            return false;
        }

        errors = SettingsRegistration.Check(settings);
        return errors.Count == 0;
    }
}
