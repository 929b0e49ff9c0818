using Dominance.Core;
using Microsoft.Extensions.Options;

namespace Dominance.Reload;

/// <summary>Settings of live reload (configuration section <c>Reload</c>).</summary>
public sealed class ReloadSettings
{
    /// <summary>The configuration section these settings are read from.</summary>
    public const string Section = "Reload";

    /// <summary>Whether saving a <c>.cs</c> file in the game folder reloads the game. Default on.</summary>
    public bool Watch { get; set; } = true;

    /// <summary>How long the game folder must be quiet after a change before the reload starts (editors save in steps).</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// Whether admins may run C# against the live game (<see cref="Api.IGameContext.EvaluateAsync"/>, the built-in game's
    /// <c>eval</c>). Default on. Every use is logged. Turn it off where game admins are not trusted with the server's
    /// machine: the code runs with the server's rights.
    /// </summary>
    public bool Eval { get; set; } = true;

    /// <summary>
    /// Whether the server gives memory back once it has been quiet for 10 s after its start, a reload or an
    /// <c>eval</c>: one compacting garbage collection (which pauses the game thread for a few milliseconds), and, when no
    /// game folder is watched, the compiler's caches are dropped (the next <c>reload</c> or <c>eval</c> compiles
    /// cold). Default on.
    /// </summary>
    public bool TrimMemory { get; set; } = true;

    /// <summary>
    /// Whether the game is compiled in the server's own process instead of a compiler process (the server's binary
    /// again, <c>dominance compile-worker</c>). Default off: the compiler process takes Roslyn and the code the JIT made
    /// for it with it when it exits, so a server that compiled its game at start idles as small as one that loaded it
    /// from the compile cache. In process, a start that compiles keeps about 60 MB more for good. <c>eval</c> compiles in
    /// process either way.
    /// </summary>
    public bool CompileInProcess { get; set; }

    /// <summary>
    /// How long the compiler process waits for the next edit of a watched game folder before it exits (the next edit
    /// starts another, and compiles cold). With no folder watched, it exits as soon as it has compiled.
    /// </summary>
    public TimeSpan CompilerIdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The shortest <see cref="AdminToken"/> accepted.</summary>
    public const int MinAdminTokenLength = 16;

    /// <summary>
    /// The token <c>POST /admin/reload</c> requires, as <c>Authorization: Bearer &lt;token&gt;</c>. Default empty: the
    /// endpoint is off. Never logged.
    /// </summary>
    public string AdminToken { get; set; } = "";
}

/// <summary>Checks <see cref="ReloadSettings"/>; each failure names the setting.</summary>
internal sealed class ReloadSettingsValidator : IValidateOptions<ReloadSettings>
{
    public ValidateOptionsResult Validate(string? name, ReloadSettings options)
    {
        var errors = new SettingErrors(ReloadSettings.Section);
        errors.ZeroOrPositive(nameof(options.Debounce), options.Debounce, "", "00:00:00.150");
        errors.ZeroOrPositive(nameof(options.CompilerIdleTimeout), options.CompilerIdleTimeout, " (exit after each compile)", "00:10:00");
        if (options.AdminToken.Length is > 0 and < ReloadSettings.MinAdminTokenLength || options.AdminToken.Any(char.IsWhiteSpace))
        {
            errors.Add(
                nameof(options.AdminToken),
                $"must be empty (the reload endpoint is off) or at least {ReloadSettings.MinAdminTokenLength} characters " +
                $"without spaces, such as the output of: openssl rand -hex 16; it has {options.AdminToken.Length}.");
        }

        return errors.Result;
    }
}
