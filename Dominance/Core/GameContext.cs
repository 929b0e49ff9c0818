using Dominance.Api;
using Dominance.Portal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// The <see cref="IGameContext"/> given to one generation of the game module. Timers it schedules are tagged with its
/// generation so that they can be cancelled when that generation is replaced. Game thread only.
/// </summary>
internal sealed class GameContext(GameLoop loop, int generation, ILogger log, IConfiguration settings, StateSerializer state) : IGameContext
{
    /// <summary>The module generation this context serves (1 for the first module loaded).</summary>
    public int Generation { get; } = generation;

    /// <summary>
    /// Set when this generation has been replaced. A retired context still delivers output (a late continuation of
    /// the old code may finish a reply) but schedules no more timers.
    /// </summary>
    public bool Retired { get; set; }

    public IReadOnlyCollection<SessionId> Sessions => OpenIds(loop.Sessions.All);

    public DateTimeOffset Now => loop.Clock.GetUtcNow();

    public ILogger Log { get; } = log;

    public IConfiguration Settings { get; } = settings;

    public StateSerializer State { get; } = state;

    public SessionInfo? GetInfo(SessionId session) =>
        loop.Sessions.TryGet(session, out CoreSession? s) && !s.Closing ? s.Info : null;

    public void Send(SessionId session, string text) => Send(session, OutputPayload.ForLine(text));

    public void Send(SessionId session, ref OutputText text) => Send(session, text.Finish());

    public void SendToGroup(string group, string text, SessionId? except = null) => loop.SendToGroup(group, OutputPayload.ForLine(text), except);

    public void SendToGroup(string group, ref OutputText text, SessionId? except = null) => loop.SendToGroup(group, text.Finish(), except);

    public void SendToAll(string text) => SendToAll(OutputPayload.ForLine(text));

    public void SendToAll(ref OutputText text) => SendToAll(text.Finish());

    private void Send(SessionId session, OutputPayload payload)
    {
        if (loop.Sessions.TryGet(session, out CoreSession? s) && !s.Closing)
        {
            s.Portal.Enqueue(FrameKind.Text, payload);
        }

        payload.Release();
    }

    private void SendToAll(OutputPayload payload)
    {
        foreach (CoreSession s in loop.Sessions.All)
        {
            if (!s.Closing)
            {
                s.Portal.Enqueue(FrameKind.Text, payload);
            }
        }

        payload.Release();
    }

    public void SendData(SessionId session, string package, string json)
    {
        if (loop.Sessions.TryGet(session, out CoreSession? s) && !s.Closing && s.Info.SupportsOutOfBand)
        {
            OutputPayload payload = OutputPayload.ForData(package, json);
            s.Portal.Enqueue(FrameKind.Data, payload);
            payload.Release();
        }
    }

    public void SendDataToGroup(string group, string package, string json)
    {
        if (loop.Sessions.Members(group) is { } members)
        {
            OutputPayload payload = OutputPayload.ForData(package, json);
            SessionTable.Deliver(members, FrameKind.Data, payload, except: null, outOfBandOnly: true);
            payload.Release();
        }
    }

    public void SetEcho(SessionId session, bool enabled)
    {
        if (loop.Sessions.TryGet(session, out CoreSession? s) && !s.Closing)
        {
            s.Portal.Enqueue(enabled ? FrameKind.EchoOn : FrameKind.EchoOff, null);
        }
    }

    public void Disconnect(SessionId session, string? message = null)
    {
        if (loop.Sessions.TryGet(session, out CoreSession? s))
        {
            loop.Disconnect(s, message);
        }
    }

    public void Join(SessionId session, string group)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        if (loop.Sessions.TryGet(session, out CoreSession? s) && !s.Closing)
        {
            loop.Sessions.Join(s, group);
        }
    }

    public void Leave(SessionId session, string group)
    {
        if (loop.Sessions.TryGet(session, out CoreSession? s))
        {
            loop.Sessions.Leave(s, group);
        }
    }

    public IReadOnlyCollection<SessionId> GroupMembers(string group) =>
        loop.Sessions.Members(group) is { } members ? OpenIds(members) : [];

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

    public IAccounts Accounts => loop.Accounts ?? throw new InvalidOperationException("This server was started without an account service.");

    public void RequestReload() => loop.ReloadRequested?.Invoke();

    public void RequestShutdown(string reason) => loop.ShutdownRequested?.Invoke(reason);

    public Task<SaveResult> SaveAsync() =>
        loop.SaveRequested?.Invoke() ?? Task.FromResult(new SaveResult(false, null, 0, TimeSpan.Zero, TimeSpan.Zero, "this server keeps no saves"));

    public GameTimer Schedule(TimeSpan delay, Action callback) => ScheduleTimer(delay, TimeSpan.Zero, callback);

    public GameTimer ScheduleRepeating(TimeSpan period, Action callback)
    {
        if (period <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "A repeating timer needs a positive period.");
        }

        return ScheduleTimer(period, period, callback);
    }

    private GameTimer ScheduleTimer(TimeSpan delay, TimeSpan period, Action callback)
    {
        if (Retired)
        {
            throw new InvalidOperationException($"Game generation {Generation} has been replaced; it can no longer schedule timers.");
        }

        return loop.Timers.Schedule(delay, period, callback, Generation);
    }
}
