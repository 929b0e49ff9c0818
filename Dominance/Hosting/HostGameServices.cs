using Dominance.Accounts;
using Dominance.Api;
using Dominance.Core;
using Dominance.Persistence;
using Dominance.Reload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dominance.Hosting;

/// <summary>
/// What game code may ask of the server (<see cref="IGameServices"/>), carried out by the parts that do it: accounts,
/// world saves, live reload and the host's lifetime.
/// </summary>
/// <remarks>
/// The saves and the reload coordinator both drive the game loop, and the loop is built with this object, so they are
/// looked up when game code first asks for them (by then they exist) rather than taken in the constructor.
/// </remarks>
internal sealed class HostGameServices(
    AccountService accounts, IServiceProvider services, IHostApplicationLifetime lifetime, ILogger<DominanceServer> log) : IGameServices
{
    public IAccounts? Accounts => accounts;

    public void RequestReload(bool force) => services.GetService<ReloadCoordinator>()?.RequestReload("the reload command", force);

    public Task<SaveResult> SaveAsync() => services.GetRequiredService<WorldSaves>().SaveAsync();

    public void RequestShutdown(string reason)
    {
        // StopApplication runs every ApplicationStopping handler before it returns; the game thread must not wait for
        // them (or for anything), so another thread makes the call.
        log.LogWarning("Shutdown requested by the game: {Reason}", reason);
        ThreadPool.UnsafeQueueUserWorkItem(static lifetime => lifetime.StopApplication(), lifetime, preferLocal: false);
    }
}
