using Dominance.Api;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// The <see cref="IGameContext"/> given to one generation of the game module. Timers it schedules are tagged with its
/// generation so that they can be cancelled when that generation is replaced. Game thread only.
/// </summary>
internal sealed class GameContext(
    int generation,
    SessionTable sessions,
    TimerQueue timers,
    TimeProvider clock,
    IGameServices services,
    FailureLog failures,
    ILogger log,
    ILogger audit,
    IConfiguration settings,
    StateSerializer state) : IGameContext
{
    /// <summary>
    /// How long the token of <see cref="SetAccount"/> gives the account back after a core restart: a session logged in
    /// longer ago than this logs in again.
    /// </summary>
    internal static readonly TimeSpan RestoreTokenLifetime = TimeSpan.FromDays(1);

    /// <summary>The module generation this context serves (1 for the first module loaded).</summary>
    public int Generation { get; } = generation;

    /// <summary>
    /// Set when this generation has been replaced. A retired context still delivers output (a late continuation of
    /// the old code may finish a reply) but schedules no more timers.
    /// </summary>
    public bool Retired { get; set; }

    public IReadOnlyCollection<SessionId> Sessions => OpenIds(sessions.All);

    public DateTimeOffset Now => clock.GetUtcNow();

    public ILogger Log { get; } = log;

    public ILogger Audit { get; } = audit;

    public IConfiguration Settings { get; } = settings;

    public StateSerializer State { get; } = state;

    public IReadOnlyList<GameFailure> RecentFailures => failures.Recent();

    public IAccounts Accounts => services.Accounts ?? throw new InvalidOperationException("This server was started without an account service.");

    public void SetAccount(SessionId session, string account)
    {
        if (!sessions.TryGet(session, out CoreSession? s) || s.Closing)
        {
            return;
        }

        sessions.MarkPlaying(s);
        if (sessions.ResumeTokens is { } tokens)
        {
            s.RestoreAccount = account;
            if (s.Transport is { } transport)
            {
                // The token names the connection's id, which a portal presents after a core restart (it differs from
                // the session's own after a resume).
                s.Link.SetRestoreToken(tokens.Issue(ResumeTokenPurpose.Restore, account, transport, clock.GetUtcNow() + RestoreTokenLifetime));
            }
        }
    }

    public void MarkPlaying(SessionId session)
    {
        if (sessions.TryGet(session, out CoreSession? s))
        {
            sessions.MarkPlaying(s); // a closing session is not counted (SessionTable.MarkPlaying)
        }
    }

    public SessionInfo? GetInfo(SessionId session) =>
        sessions.TryGet(session, out CoreSession? s) && !s.Closing ? s.Info : null;

    public void Send(SessionId session, string text) => Send(session, OutputPayload.ForLine(text));

    public void Send(SessionId session, ref OutputText text) => Send(session, text.Finish());

    public void SendToGroup(string group, string text, SessionId? except = null) =>
        sessions.SendToGroup(group, OutputKind.Text, OutputPayload.ForLine(text), except, outOfBandOnly: false);

    public void SendToGroup(string group, ref OutputText text, SessionId? except = null) =>
        sessions.SendToGroup(group, OutputKind.Text, text.Finish(), except, outOfBandOnly: false);

    public void SendToAll(string text) => sessions.SendToAll(OutputKind.Text, OutputPayload.ForLine(text));

    public void SendToAll(ref OutputText text) => sessions.SendToAll(OutputKind.Text, text.Finish());

    public void SendPrompt(SessionId session, string text)
    {
        if (sessions.TryGet(session, out CoreSession? s))
        {
            SessionTable.Send(s, OutputKind.Prompt, OutputPayload.ForPrompt(text));
        }
    }

    public void SendData(SessionId session, string package, string json)
    {
        if (sessions.TryGet(session, out CoreSession? s) && !s.Closing && s.Info.Wants(package))
        {
            SessionTable.Send(s, OutputKind.Data, OutputPayload.ForData(package, json));
        }
    }

    public void SendDataToGroup(string group, string package, string json)
    {
        if (sessions.Members(group) is not null)
        {
            sessions.SendToGroup(group, OutputKind.Data, OutputPayload.ForData(package, json), except: null, outOfBandOnly: true,
                standardPackage: GmcpStandard.IsStandard(package) ? package : null);
        }
    }

    public bool GroupWants(string group, string package)
    {
        if (sessions.Members(group) is { } members)
        {
            foreach (CoreSession member in members)
            {
                if (!member.Closing && member.Info.Wants(package))
                {
                    return true;
                }
            }
        }

        return false;
    }

    public void SetEcho(SessionId session, bool enabled)
    {
        if (sessions.TryGet(session, out CoreSession? s) && !s.Closing)
        {
            s.EchoOff = !enabled;
            s.Link.SetEcho(enabled);
        }
    }

    public void Disconnect(SessionId session, string? message = null)
    {
        if (sessions.TryGet(session, out CoreSession? s) && !s.Closing)
        {
            sessions.Close(s, message is null ? null : OutputPayload.ForLine(message));
        }
    }

    public void Join(SessionId session, string group)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        if (sessions.TryGet(session, out CoreSession? s) && !s.Closing)
        {
            sessions.Join(s, group);
        }
    }

    public void Leave(SessionId session, string group)
    {
        if (sessions.TryGet(session, out CoreSession? s))
        {
            sessions.Leave(s, group);
        }
    }

    public IReadOnlyCollection<SessionId> GroupMembers(string group) =>
        sessions.Members(group) is { } members ? OpenIds(members) : [];

    public void RequestReload(bool force = false) => services.RequestReload(force);

    public void RequestShutdown(string reason) => services.RequestShutdown(reason);

    public Task<SaveResult> SaveAsync() => services.SaveAsync();

    public async Task<string> EvaluateAsync(SessionId requestedBy, string code, object globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        Log.LogWarning("eval by session {Session} (generation {Generation}): {Code}", requestedBy, Generation, code);
        Snippet snippet = await services.CompileSnippetAsync(code, globals.GetType()); // back on the game thread
        if (snippet.Run is not { } run)
        {
            return string.Join("\n", snippet.Errors);
        }

        if (Retired)
        {
            return "The game was reloaded meanwhile; run it again.";
        }

        try
        {
            return Describe(run(globals));
        }
        catch (Exception e)
        {
            Log.LogWarning(e, "eval by session {Session} threw", requestedBy);
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>An eval's value as text: collections show their first items.</summary>
    private static string Describe(object? value) => value switch
    {
        null => "null",
        string text => text,
        System.Collections.IEnumerable items => $"[{string.Join(", ", items.Cast<object?>().Take(50).Select(i => i?.ToString() ?? "null"))}]",
        _ => value.ToString() ?? "",
    };

    public GameTimer Schedule(TimeSpan delay, Action callback) => ScheduleTimer(delay, TimeSpan.Zero, callback);

    public GameTimer ScheduleRepeating(TimeSpan period, Action callback)
    {
        if (period <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "A repeating timer needs a positive period.");
        }

        return ScheduleTimer(period, period, callback);
    }

    private void Send(SessionId session, OutputPayload payload)
    {
        if (sessions.TryGet(session, out CoreSession? s))
        {
            SessionTable.Send(s, OutputKind.Text, payload);
        }
        else
        {
            payload.Release();
        }
    }

    private GameTimer ScheduleTimer(TimeSpan delay, TimeSpan period, Action callback)
    {
        if (Retired)
        {
            throw new InvalidOperationException($"Game generation {Generation} has been replaced; it can no longer schedule timers.");
        }

        return timers.Schedule(delay, period, callback, Generation);
    }

    private static List<SessionId> OpenIds(IReadOnlyCollection<CoreSession> sessions)
    {
        var ids = new List<SessionId>(sessions.Count);
        foreach (CoreSession session in sessions)
        {
            if (!session.Closing)
            {
                ids.Add(session.Id);
            }
        }

        return ids;
    }
}
