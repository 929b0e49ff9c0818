using System.Net;
using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// The accounts game code is given, which tell <see cref="SessionResume"/> who logged in where: a create or login that
/// succeeds binds the session whose input started it (<see cref="SessionResume.Current"/>) to the account. Game code
/// needs to do nothing for its players' sessions to survive a lost connection. Called on the game thread.
/// </summary>
/// <remarks>
/// The session is the one whose <see cref="IGameModule.OnInput"/> is running when the call is made, so a login must
/// be started in the synchronous part of <c>OnInput</c> (before its first <c>await</c>), as one normally is. A login
/// started elsewhere (a timer, after another await) still works; its session just cannot resume.
/// </remarks>
internal sealed class ResumeAccounts(IAccounts accounts, SessionResume resume) : IAccounts
{
    public string? CheckName(string name) => accounts.CheckName(name);

    public Task<AccountResult> CreateAsync(string name, string password, IPAddress from) => Bind(accounts.CreateAsync(name, password, from));

    public Task<AccountResult> LoginAsync(string name, string password, IPAddress from) => Bind(accounts.LoginAsync(name, password, from));

    public Task<Account?> FindAsync(string name) => accounts.FindAsync(name);

    private Task<AccountResult> Bind(Task<AccountResult> pending) =>
        resume.Enabled && resume.Current is { } session ? BindAsync(pending, session) : pending;

    private async Task<AccountResult> BindAsync(Task<AccountResult> pending, CoreSession session)
    {
        AccountResult result = await pending; // resumes on the game thread: the game's SynchronizationContext is current
        if (result.Account is { } account)
        {
            resume.LoggedIn(session, account.Name);
        }

        return result;
    }
}
