using Dominance.Api;

namespace Dominance.Core;

/// <summary>The server's services as game code sees them: the same, with <see cref="ResumeAccounts"/> for accounts.</summary>
internal sealed class ResumeServices(IGameServices services, SessionResume resume) : IGameServices
{
    public IAccounts? Accounts { get; } = services.Accounts is { } accounts ? new ResumeAccounts(accounts, resume) : null;

    public void RequestReload(bool force) => services.RequestReload(force);

    public Task<Snippet> CompileSnippetAsync(string code, Type globals) => services.CompileSnippetAsync(code, globals);

    public Task<SaveResult> SaveAsync() => services.SaveAsync();

    public void RequestShutdown(string reason) => services.RequestShutdown(reason);
}
