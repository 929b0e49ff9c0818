using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// Logs off sessions that have sent nothing for <see cref="CoreSettings.IdleTimeout"/>: they are told why, then
/// closed. Game thread only.
/// </summary>
/// <remarks>
/// One pending check per session, due when it would become idle. Input only updates
/// <see cref="CoreSession.LastInput"/>; the check re-arms itself for the new deadline, so typing never touches the
/// timer queue. The checks are the host's timers (<see cref="TimerQueue.HostOwner"/>): a reload does not cancel them.
/// </remarks>
internal sealed class IdleLogoff(TimeSpan timeout, SessionTable sessions, TimerQueue timers, TimeProvider clock, ILogger log)
{
    private readonly long _timeoutTicks = (long)(timeout.TotalSeconds * clock.TimestampFrequency);

    /// <summary>Starts watching a session that has just connected. Does nothing if idle logoff is off.</summary>
    public void Watch(CoreSession session)
    {
        if (_timeoutTicks <= 0)
        {
            return;
        }

        TimeSpan delay = clock.GetElapsedTime(clock.GetTimestamp(), session.LastInput + _timeoutTicks);
        session.IdleTimer = timers.Schedule(delay, TimeSpan.Zero, () => Check(session), TimerQueue.HostOwner);
    }

    private void Check(CoreSession session)
    {
        if (session.Closing || !sessions.TryGet(session.Id, out _))
        {
            return;
        }

        if (clock.GetTimestamp() - session.LastInput < _timeoutTicks)
        {
            Watch(session);
            return;
        }

        log.LogInformation("Session {Session} idle for {Timeout}; disconnecting it", session.Id, timeout);
        sessions.Close(session, Api.OutputPayload.ForLine($"You have been idle for {Describe(timeout)}. Goodbye."));
    }

    private static string Describe(TimeSpan span) => span.TotalMinutes >= 1 && span.Seconds == 0
        ? $"{span.TotalMinutes:0} minute{(span.TotalMinutes == 1 ? "" : "s")}"
        : $"{span.TotalSeconds:0.#} seconds";
}
