using System.Text.Json;
using Dominance.Api;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// Sessions that survive their connection: a logged-in session whose connection goes is <i>parked</i> for
/// <see cref="CoreSettings.ResumeGrace"/>, and a new connection that presents its resume token takes it over. Game
/// thread only, except <see cref="Enabled"/>.
/// </summary>
/// <remarks>
/// <para><b>Tokens.</b> When an account logs in on a session (a successful <see cref="IAccounts.LoginAsync"/> or
/// <see cref="IAccounts.CreateAsync"/> called while that session's input is handled), the session is bound to the
/// account and its client is sent a token, out of band: <c>Core.Resume {"token":"...","grace":120}</c> (clients without
/// out-of-band data get none, and are never parked). The token is valid for the grace period plus an hour and is
/// renewed every half hour, so the one a client holds is always good for longer than the grace period.</para>
/// <para><b>Parking.</b> When the connection of a bound session goes without the core having closed it, the session
/// stays: its character is still in the world, in its groups, and game code sees no disconnect. Its output goes to a
/// <see cref="ParkedLink"/>, which keeps the newest <see cref="CoreSettings.ResumeBacklog"/> frames. Idle logoff still
/// counts from the last input. When the grace period ends, or the game or idle logoff closes the session, it ends as a
/// disconnect always has: <see cref="IGameModule.OnDisconnect"/>.</para>
/// <para><b>Resuming.</b> A connection that presents a valid token (the WebSocket's <c>?resume=</c>) for a session that
/// is still bound to the token's account takes the session over, with no <see cref="IGameModule.OnConnect"/>: it is
/// sent what was kept (after a line saying how much was dropped, if anything was), a new token, and then the game's
/// <see cref="IGameModule.OnResume"/> runs. A session whose old connection has not yet been noticed gone (a network
/// that dropped without a word) is taken over the same way, and the old connection is closed. Any other token is
/// refused with a line saying to log in again and <c>Core.Resume.Refused {"reason":"..."}</c>, and the connection goes
/// on as a new one. A logged-in session that the core closes (the game's disconnect, idle logoff) is sent
/// <c>Core.Resume.Ended {}</c> first.</para>
/// <para><b>Taken back.</b> A remote portal that the core dropped while it was alive (silent for a while, or a batch of
/// its events lost) connects its sessions again when it attaches again, with their ids and restore tokens: a parked
/// session whose token names its account is taken back as a resume takes it (<see cref="TryTakeBack"/>).</para>
/// </remarks>
internal sealed class SessionResume(
    ResumeTokens tokens, CoreSettings settings, SessionTable sessions, TimerQueue timers, TimeProvider clock, Func<IGameModule> module, ILogger log)
{
    /// <summary>The out-of-band package that carries a new token to the client.</summary>
    public const string TokenPackage = "Core.Resume";

    /// <summary>The out-of-band package that tells a client its token was refused.</summary>
    public const string RefusedPackage = "Core.Resume.Refused";

    /// <summary>The out-of-band package that tells a client its session was closed, so its token is of no more use.</summary>
    public const string EndedPackage = "Core.Resume.Ended";

    private static readonly TimeSpan s_renewal = TimeSpan.FromMinutes(30);

    private readonly TimeSpan _grace = settings.ResumeGrace;
    private bool _stopping;

    /// <summary>Whether sessions are parked at all (<see cref="CoreSettings.ResumeGrace"/> is not zero).</summary>
    public bool Enabled => _grace > TimeSpan.Zero;

    /// <summary>
    /// The session whose input the module is handling right now (set around the synchronous part of
    /// <see cref="IGameModule.OnInput"/>), so that a login started there is bound to it.
    /// </summary>
    public CoreSession? Current { get; set; }

    /// <summary>Binds <paramref name="session"/> to <paramref name="account"/>, which has just logged in on it, and sends it a token.</summary>
    public void LoggedIn(CoreSession session, string account)
    {
        if (!Enabled || session.Closing)
        {
            return;
        }

        session.Account = account;
        SendToken(session);
        session.TokenTimer?.Cancel();
        session.TokenTimer = timers.Schedule(s_renewal, s_renewal, () => SendToken(session), TimerQueue.HostOwner);
    }

    /// <summary>
    /// The server is stopping: from now on no session is parked, since nothing in this core would resume it. A session
    /// whose connection goes ends (a remote portal's player comes back with the next core, restored).
    /// </summary>
    public void StopParking() => _stopping = true;

    /// <summary>
    /// The connection of <paramref name="session"/> has gone. Parks the session and returns <see langword="true"/> if
    /// it can come back; otherwise returns <see langword="false"/> and the caller ends it.
    /// </summary>
    public bool TryPark(CoreSession session)
    {
        if (!Enabled || _stopping || session.Closing || session.Account is null || !session.Info.SupportsOutOfBand)
        {
            return false;
        }

        sessions.Detach(session);
        session.Link = new ParkedLink(settings.ResumeBacklog, () => timers.Schedule(TimeSpan.Zero, TimeSpan.Zero, () => End(session), TimerQueue.HostOwner));
        session.GraceTimer = timers.Schedule(_grace, TimeSpan.Zero, () => Expire(session), TimerQueue.HostOwner);
        log.LogInformation("Session {Session} ({Account}) lost its connection; it is kept for {Grace} for its player to come back", session.Id, session.Account, _grace);
        return true;
    }

    /// <summary>
    /// A connection presented <paramref name="token"/>. Hands it the session the token names and returns
    /// <see langword="true"/>; or tells it why not and returns <see langword="false"/> (the caller connects it as new).
    /// </summary>
    public bool TryResume(ISessionLink link, SessionInfo info, string token)
    {
        ResumeTokenCheck check = tokens.Check(token, ResumeTokenPurpose.Resume, clock.GetUtcNow());
        CoreSession? session = null;
        string? refusal = check.Status switch
        {
            ResumeTokenStatus.Malformed or ResumeTokenStatus.Forged or ResumeTokenStatus.OtherPurpose => "That session cannot be resumed here (its token is not valid on this server). Please log in again.",
            _ when check.Status == ResumeTokenStatus.Expired || !sessions.TryGet(check.Session, out session) || session.Closing || session.Account != check.Account =>
                $"Your session has ended: you were away longer than {Describe(_grace)}, or it was closed. Please log in again.",
            _ => null,
        };
        if (refusal is not null || session is null)
        {
            log.LogInformation("Session {Session} ({Address}) could not resume: token {Status}, session {Resumed}", info.Id, info.RemoteAddress, check.Status, check.Session);
            Send(link, OutputKind.Text, OutputPayload.ForLine(refusal));
            if (info.SupportsOutOfBand)
            {
                Send(link, OutputKind.Data, OutputPayload.ForData(RefusedPackage, $"{{\"reason\":{JsonSerializer.Serialize(refusal)}}}"));
            }

            return false;
        }

        if (session.Parked is { } parked)
        {
            log.LogInformation("Session {Session} ({Account}) resumed on connection {Transport} with {Kept} kept messages", session.Id, session.Account, info.Id, parked.Count);
            Unpark(session, parked, link, info);
        }
        else
        {
            // Its old connection has not been noticed gone (a network that dropped without a word): the new one wins.
            // It is told to forget its token, or two tabs holding the same one would take the session from each other
            // in turn.
            ISessionLink old = session.Link;
            if (session.Info.SupportsOutOfBand)
            {
                Send(old, OutputKind.Data, OutputPayload.ForData(EndedPackage, "{}"));
            }

            sessions.Detach(session);
            old.Close(OutputPayload.ForLine("This session has been resumed on another connection, so this one is closing."));
            Attach(session, link, info);
            log.LogInformation("Session {Session} ({Account}) taken over by connection {Transport}", session.Id, session.Account, info.Id);
        }

        Resumed(session, link, info);
        return true;
    }

    /// <summary>
    /// A portal connects <paramref name="session"/>'s id again (it attaches again after the core dropped it), vouching
    /// with a restore token for <paramref name="account"/>. If the session is parked and plays that account, it is
    /// taken back as a resume takes it (<see cref="IGameModule.OnResume"/>, what was kept, a new token) and this returns
    /// <see langword="true"/>; otherwise <see langword="false"/>, and the caller ends it.
    /// </summary>
    public bool TryTakeBack(CoreSession session, ISessionLink link, SessionInfo info, string? account)
    {
        if (session.Parked is not { } parked || session.Closing || account is null || account != session.Account)
        {
            return false;
        }

        log.LogInformation("Session {Session} ({Account}) is back on its portal with {Kept} kept messages", session.Id, session.Account, parked.Count);
        // Nothing is restored: the game has the session as it was (Restoring would tell it that OnRestored follows).
        SessionInfo back = info with { Restoring = false };
        Unpark(session, parked, link, back);
        Resumed(session, link, back);
        return true;
    }

    /// <summary>Gives a parked session to <paramref name="link"/>, with what was kept for it.</summary>
    private void Unpark(CoreSession session, ParkedLink parked, ISessionLink link, SessionInfo info)
    {
        session.GraceTimer?.Cancel();
        session.GraceTimer = null;
        Attach(session, link, info);
        if (parked.Dropped > 0)
        {
            Send(link, OutputKind.Text, OutputPayload.ForLine($"({parked.Dropped} earlier messages were dropped while you were away.)"));
        }

        parked.HandOver(link);
    }

    /// <summary>A session is on its new connection: a new token, a restore token for the connection, and the game's <see cref="IGameModule.OnResume"/>.</summary>
    private void Resumed(CoreSession session, ISessionLink link, SessionInfo info)
    {
        SendToken(session);
        if (sessions.ResumeTokens is { } restore && session.RestoreAccount is { } account)
        {
            // The new connection, too, comes back after a core restart (see GameContext.SetAccount).
            link.SetRestoreToken(restore.Issue(ResumeTokenPurpose.Restore, account, info.Id, clock.GetUtcNow() + GameContext.RestoreTokenLifetime));
        }

        try
        {
            module().OnResume(session.Id);
        }
        catch (Exception e)
        {
            log.LogError(e, "Game code failed in OnResume for session {Session}", session.Id);
        }
    }

    private void Attach(CoreSession session, ISessionLink link, SessionInfo info)
    {
        session.Link = link;
        session.Info = info with { Id = session.Id };
        sessions.Attach(session, info.Id);
    }

    private void Expire(CoreSession session)
    {
        if (session.Parked is null || session.Closing)
        {
            return;
        }

        log.LogInformation("Session {Session} ({Account}) did not come back within {Grace}; logging it off", session.Id, session.Account, _grace);
        End(session);
    }

    /// <summary>Ends a parked session as a disconnect: it leaves the table and the game is told.</summary>
    private void End(CoreSession session)
    {
        // A session that has already ended may have a successor of the same id (its portal connected it again).
        if (!sessions.TryGet(session.Id, out CoreSession? current) || current != session)
        {
            return;
        }

        sessions.Remove(session.Id, out _);

        try
        {
            module().OnDisconnect(session.Id);
        }
        catch (Exception e)
        {
            log.LogError(e, "Game code failed in OnDisconnect for session {Session}", session.Id);
        }
    }

    private void SendToken(CoreSession session)
    {
        if (session.Closing || session.Parked is not null || session.Account is not { } account || !session.Info.SupportsOutOfBand)
        {
            return;
        }

        // Base64url and a dot: nothing in the token needs escaping in JSON.
        string token = tokens.Issue(ResumeTokenPurpose.Resume, account, session.Id, clock.GetUtcNow() + _grace + TimeSpan.FromHours(1));
        long seconds = (long)_grace.TotalSeconds;
        SessionTable.Send(session, OutputKind.Data, OutputPayload.ForData(TokenPackage, $"{{\"token\":\"{token}\",\"grace\":{seconds}}}"));
    }

    private static void Send(ISessionLink link, OutputKind kind, OutputPayload payload)
    {
        if (!link.TrySend(kind, payload))
        {
            payload.Release();
        }
    }

    private static string Describe(TimeSpan span) => span.TotalMinutes >= 1 && span.Seconds == 0
        ? $"{span.TotalMinutes:0} minute{(span.TotalMinutes == 1 ? "" : "s")}"
        : $"{span.TotalSeconds:0.#} seconds";
}
