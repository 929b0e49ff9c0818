using Dominance.Accounts;
using Dominance.Core;
using Dominance.Persistence;
using Dominance.Portal;
using Dominance.Reload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dominance.Hosting;

/// <summary>
/// Offers each part's settings as options (<see cref="IOptions{TOptions}"/>), checked by that part's
/// <see cref="IValidateOptions{TOptions}"/> when the host starts (<c>ValidateOnStart</c>): a bad value stops the start
/// with an <see cref="OptionsValidationException"/> whose failures name the settings.
/// </summary>
internal static class SettingsRegistration
{
    /// <summary>Registers the sections of <paramref name="settings"/>, as they are, with their checks.</summary>
    public static IServiceCollection AddDominanceSettings(this IServiceCollection services, DominanceSettings settings)
    {
        services.AddSettings<PortalSettings, PortalSettingsValidator>(settings.Portal);
        services.AddSettings<CoreSettings, CoreSettingsValidator>(settings.Core);
        services.AddSettings<AccountSettings, AccountSettingsValidator>(settings.Accounts);
        services.AddSettings<PersistenceSettings, PersistenceSettingsValidator>(settings.Persistence);
        services.AddSettings<ReloadSettings, ReloadSettingsValidator>(settings.Reload);
        services.AddSettings<MetricsSettings, MetricsSettingsValidator>(settings.Metrics);
        return services;
    }

    /// <summary>
    /// Checks every section the way the host does at start, without starting anything. Returns one message per bad
    /// setting; empty if all are good.
    /// </summary>
    public static IReadOnlyList<string> Check(DominanceSettings settings)
    {
        using ServiceProvider provider = new ServiceCollection().AddDominanceSettings(settings).BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return [];
        }
        catch (OptionsValidationException e)
        {
            return [.. e.Failures];
        }
        catch (AggregateException e)
        {
            return [.. e.InnerExceptions.OfType<OptionsValidationException>().SelectMany(failed => failed.Failures)];
        }
    }

    private static void AddSettings<TSettings, TValidator>(this IServiceCollection services, TSettings section)
        where TSettings : class
        where TValidator : class, IValidateOptions<TSettings>
    {
        services.AddSingleton<IValidateOptions<TSettings>, TValidator>();
        services.AddSingleton<IOptionsFactory<TSettings>>(provider => new GivenSettings<TSettings>(
            section, provider.GetServices<IConfigureOptions<TSettings>>(), provider.GetServices<IPostConfigureOptions<TSettings>>(), provider.GetServices<IValidateOptions<TSettings>>()));
        services.AddOptions<TSettings>().ValidateOnStart();
    }

    /// <summary>
    /// The options factory for a section that was bound already (by <see cref="SettingsLoader"/>, or made by a test):
    /// it hands out that very instance, after the framework's configure and validate steps.
    /// </summary>
    private sealed class GivenSettings<TSettings>(
        TSettings section,
        IEnumerable<IConfigureOptions<TSettings>> setups,
        IEnumerable<IPostConfigureOptions<TSettings>> postConfigures,
        IEnumerable<IValidateOptions<TSettings>> validations)
        : OptionsFactory<TSettings>(setups, postConfigures, validations)
        where TSettings : class
    {
        protected override TSettings CreateInstance(string name) => section;
    }
}
