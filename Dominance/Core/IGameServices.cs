using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// What game code may ask of the rest of the server, beyond the core: accounts, saves, reloads and shutdown. The host
/// implements it; the loop hands it to every generation's <see cref="IGameContext"/>.
/// </summary>
/// <remarks>Called on the game thread. Every member returns at once: the work runs elsewhere.</remarks>
internal interface IGameServices
{
    /// <summary>Player accounts, or <see langword="null"/> if this server keeps none.</summary>
    IAccounts? Accounts { get; }

    /// <summary>Recompiles the game and swaps it in, if it was loaded from source; otherwise does nothing.</summary>
    void RequestReload(bool force);

    /// <summary>Saves the world; completes once the save is stored or has failed.</summary>
    Task<SaveResult> SaveAsync();

    /// <summary>Shuts the server down gracefully, as Ctrl-C does.</summary>
    void RequestShutdown(string reason);
}

/// <summary>The services of a core that runs alone (benchmarks, tests): no accounts, no saves, no reloads, no shutdown.</summary>
internal sealed class NoGameServices : IGameServices
{
    /// <summary>The one instance.</summary>
    public static readonly NoGameServices Instance = new();

    private NoGameServices()
    {
    }

    public IAccounts? Accounts => null;

    public void RequestReload(bool force)
    {
    }

    public Task<SaveResult> SaveAsync() =>
        Task.FromResult(new SaveResult(false, null, 0, TimeSpan.Zero, TimeSpan.Zero, "this server keeps no saves"));

    public void RequestShutdown(string reason)
    {
    }
}
