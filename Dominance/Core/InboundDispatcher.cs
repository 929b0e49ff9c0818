using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dominance.Api;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// Hands the portal's events to the game module, in order per session and one input at a time per session. Game
/// thread only, except <see cref="InputsHandled"/>.
/// </summary>
/// <remarks>
/// <para><b>One input at a time per session.</b> When a session's <see cref="IGameModule.OnInput"/> returns a task that
/// has not completed (game code awaited something), that input is <i>in flight</i>: the session's later inputs and
/// out-of-band messages wait, in arrival order, in the session's own queue (<see cref="CoreSession.Inputs"/>), and run
/// once it completes. Other sessions, timers and continuations go on meanwhile. A session whose queue holds
/// <see cref="CoreSettings.InboundCapacity"/> events has further inputs dropped, and is told so once.</para>
/// <para>Negotiation changes (<see cref="InboundKind.InfoChanged"/>) apply at once. A disconnect does not wait either:
/// the session leaves, what it had waiting is dropped (nobody is left to read the answers), and
/// <see cref="IGameModule.OnDisconnect"/> runs; an input still in flight finds the session gone after its await.</para>
/// <para>Events name the portal's connection; a session that resumed on a new connection is found by it
/// (<see cref="SessionTable.TryGetByTransport"/>). A connection that presents a resume token may take a parked session
/// over instead of starting a new one, and a logged-in session whose connection goes may be parked instead of ending
/// (<see cref="SessionResume"/>). A session that a portal in another process kept through a core restart comes back
/// with the account its restore token names, and <see cref="IGameModule.OnRestored"/> runs after its
/// <see cref="IGameModule.OnConnect"/>, in the session's turn, as an input does. A portal that the core dropped while
/// it was still alive connects its sessions again when it attaches again, with ids the core may still have: a parked
/// session of the same account is taken back (<see cref="SessionResume.TryTakeBack"/>), any other ends first.</para>
/// <para>An exception of game code is caught where the game is called; one of the server's own costs the event that
/// caused it, which is logged, and never ends the game thread.</para>
/// <para>While the loop <see cref="Hold"/>s inputs (a reload's swap waits for the inputs in flight to finish), no input
/// starts; completing ones leave their sessions' queues for <see cref="Resume"/>.</para>
/// <para>Each input's time from the portal to its handled end (synchronous return, or the completion of its await) is
/// recorded in <c>replyTime</c>, in seconds.</para>
/// </remarks>
internal sealed class InboundDispatcher(
    InboundPipe inbound, SessionTable sessions, ModuleHost modules, IdleLogoff idle, SessionResume resume, TimeProvider clock, int queueLimit,
    FailureLog failures, ILogger log, Histogram<double> replyTime)
{
    private const string FailureNotice = "Something went wrong while handling that. The error has been logged.";

    /// <summary>Sessions with an input in flight.</summary>
    private readonly HashSet<CoreSession> _inFlight = [];
    private long _inputsHandled;

    /// <summary>Inputs handed to the module so far. Readable from any thread.</summary>
    public long InputsHandled => Interlocked.Read(ref _inputsHandled);

    /// <summary>How many sessions have an input in flight.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Whether inputs are held: none starts until <see cref="Resume"/>.</summary>
    public bool Held { get; private set; }

    /// <summary>Dispatches up to <paramref name="max"/> events from the inbound channel. Returns how many it took.</summary>
    public int DispatchInbound(int max)
    {
        int taken = 0;
        while (taken < max && inbound.TryRead(out InboundEvent item))
        {
            taken++;
            try
            {
                Dispatch(item);
            }
            catch (Exception e)
            {
                // Game code's exceptions are caught where it is called: this is a failure of the server's own. It costs
                // this one event; the game thread must not end with it (that would end the process).
                log.LogError(e, "Handling a {Kind} event of session {Session} failed; the event was dropped", item.Kind, item.Session);
            }
        }

        return taken;
    }

    /// <summary>Holds inputs: from now on none starts, and events stay in the inbound channel, until <see cref="Resume"/>.</summary>
    public void Hold() => Held = true;

    /// <summary>
    /// Lets go of the inputs in flight without waiting for them: their sessions' next inputs may start, and their
    /// completions will start nothing. Returns the sessions let go. Used when a swap could wait no longer.
    /// </summary>
    public List<CoreSession> LetGoOfInFlight()
    {
        List<CoreSession> letGo = [.. _inFlight];
        foreach (CoreSession session in letGo)
        {
            session.Inputs!.InFlight = 0;
        }

        _inFlight.Clear();
        return letGo;
    }

    /// <summary>Ends a <see cref="Hold"/>: every session's waiting events run, in order, until one goes in flight.</summary>
    public void Resume()
    {
        Held = false;
        foreach (CoreSession session in sessions.All)
        {
            RunWaiting(session);
        }
    }

    private void Dispatch(in InboundEvent item)
    {
        switch (item.Kind)
        {
            case InboundKind.Connected when item.Text is { } token && resume.TryResume(item.Link!, item.Info!, token):
                break;

            case InboundKind.Connected:
                Connect(item);
                break;

            case InboundKind.Input or InboundKind.Data or InboundKind.Restored when sessions.TryGetByTransport(item.Session, out CoreSession? session) && !session.Closing:
                session.LastInput = clock.GetTimestamp();
                if (session.Inputs is { } inputs && (inputs.InFlight != 0 || inputs.Waiting.Count > 0))
                {
                    Wait(session, inputs, item);
                }
                else
                {
                    Run(session, item);
                }

                break;

            case InboundKind.InfoChanged when sessions.TryGetByTransport(item.Session, out CoreSession? session):
                session.Info = item.Info!.Id == session.Id ? item.Info : item.Info with { Id = session.Id };
                break;

            case InboundKind.Disconnected when sessions.TryGetByTransport(item.Session, out CoreSession? session):
                if (!resume.TryPark(session))
                {
                    End(session);
                }

                break;
        }
    }

    /// <summary>
    /// Connects a new session, or gives a session the core still has back to its portal: a portal connects a session
    /// again, with the same id, when it attaches again after the core dropped it (it went silent, or events from it
    /// were lost), and the core may have parked that session meanwhile. If the connect's restore token names the
    /// account of that parked session, the session is taken back as a resume takes it; any other session of that id
    /// ends first, and the connect starts a new one.
    /// </summary>
    private void Connect(in InboundEvent item)
    {
        if (sessions.TryGet(item.Session, out CoreSession? known))
        {
            if (resume.TryTakeBack(known, item.Link!, item.Info!, item.Account))
            {
                return;
            }

            log.LogWarning(
                "Session {Session} connected again while the core still had it ({State}); ending the old one first",
                known.Id, known.Parked is not null ? "parked" : known.Closing ? "closing" : "connected");
            End(known);
        }

        CoreSession added = sessions.Add(item.Link!, item.Info!, clock.GetTimestamp());
        idle.Watch(added);
        try
        {
            modules.Module.OnConnect(added.Id);
        }
        catch (Exception e)
        {
            ReportFailure(added, e, null);
        }

        if (item.Account is { } account && !added.Closing)
        {
            // Back from an earlier core: the game puts the player back, in the session's turn as an input.
            Run(added, InboundEvent.Restored(added.Id, account));
        }
    }

    /// <summary>Ends a session: it leaves the table, and the game sees it disconnect.</summary>
    private void End(CoreSession session)
    {
        sessions.Remove(session.Id, out _);
        try
        {
            modules.Module.OnDisconnect(session.Id);
        }
        catch (Exception e)
        {
            ReportFailure(session, e, null);
        }
    }

    /// <summary>Hands one input or out-of-band message of a session with nothing in flight to the module.</summary>
    private void Run(CoreSession session, in InboundEvent item)
    {
        if (item.Kind == InboundKind.Data)
        {
            try
            {
                modules.Module.OnData(session.Id, item.Package!, item.Text!);
            }
            catch (Exception e)
            {
                ReportFailure(session, e, "(an out-of-band message)");
            }

            return;
        }

        bool secret = session.EchoOff; // as it was when the line was typed: the game may turn the echo on while handling it
        ValueTask pending;
        resume.Current = session; // a login started in this call is bound to this session
        try
        {
            if (item.Kind == InboundKind.Restored)
            {
                resume.LoggedIn(session, item.Text!); // the core vouched for the account: the web client may resume it too
                pending = modules.Module.OnRestored(session.Id, item.Text!);
            }
            else
            {
                Interlocked.Increment(ref _inputsHandled);
                pending = modules.Module.OnInput(session.Id, item.Text!);
            }
        }
        catch (Exception e)
        {
            ReportFailure(session, e, Loggable(item, secret));
            return;
        }
        finally
        {
            resume.Current = null;
        }

        if (pending.IsCompletedSuccessfully)
        {
            RecordReplyTime(item.Received);
            return;
        }

        if (pending.IsCompleted)
        {
            RecordReplyTime(item.Received);
            try
            {
                pending.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                ReportFailure(session, e, Loggable(item, secret));
            }

            return;
        }

        SessionInputs queue = session.Inputs ??= new SessionInputs();
        int number = ++queue.Started;
        queue.InFlight = number;
        _inFlight.Add(session);
        _ = CompleteAsync(pending, session, queue, Loggable(item, secret), number, item.Received);
    }

    private void RecordReplyTime(long received)
    {
        if (received != 0 && replyTime.Enabled)
        {
            replyTime.Record(Stopwatch.GetElapsedTime(received).TotalSeconds);
        }
    }

    /// <summary>Waits for an input in flight, then starts what its session has waiting.</summary>
    private async Task CompleteAsync(ValueTask pending, CoreSession session, SessionInputs queue, string input, int number, long received)
    {
        try
        {
            await pending; // resumes on the game thread: the game's SynchronizationContext is current here
        }
        catch (Exception e)
        {
            ReportFailure(session, e, input);
        }

        RecordReplyTime(received);

        if (queue.InFlight != number)
        {
            return; // let go of (LetGoOfInFlight): its session has moved on without it
        }

        queue.InFlight = 0;
        _inFlight.Remove(session);
        RunWaiting(session);
    }

    /// <summary>Runs the session's waiting events in order until one goes in flight, unless inputs are held.</summary>
    private void RunWaiting(CoreSession session)
    {
        while (!Held && session.Inputs is { InFlight: 0, Waiting.Count: > 0 } queue)
        {
            InboundEvent next = queue.Waiting.Dequeue();
            if (queue.Waiting.Count == 0)
            {
                queue.ToldFull = false;
            }

            Run(session, next);
        }
    }

    /// <summary>Queues an event behind the session's input in flight, within the queue's limit.</summary>
    private void Wait(CoreSession session, SessionInputs queue, in InboundEvent item)
    {
        Queue<InboundEvent> waiting = queue.Waiting;
        if (waiting.Count < queueLimit)
        {
            waiting.Enqueue(item);
            return;
        }

        if (!queue.ToldFull)
        {
            queue.ToldFull = true;
            log.LogWarning("Session {Session} has {Count} inputs waiting behind one still running; dropping its further input until they have run", session.Id, waiting.Count);
            SessionTable.Send(session, OutputKind.Text, OutputPayload.ForLine(
                $"Your earlier command is still running, and {waiting.Count} more are waiting for it. Input is dropped until they have run."));
        }
    }

    /// <summary>
    /// What the log may say of an input: its first word only, since the rest may be a password
    /// (<c>connect Alice secret</c>), and nothing of a line typed with the echo off (a password on its own line).
    /// </summary>
    private static string Loggable(in InboundEvent item, bool typedWithEchoOff)
    {
        if (item.Kind == InboundKind.Restored)
        {
            return "(the account's return after a core restart)";
        }

        string? input = item.Text;
        if (input is null)
        {
            return "(an event)";
        }

        if (typedWithEchoOff)
        {
            return "(a line typed with the echo off, not logged)";
        }

        int space = input.IndexOf(' ');
        string verb = space < 0 ? input : input[..space] + " ...";
        return verb.Length <= 40 ? verb : verb[..40] + "...";
    }

    private void ReportFailure(CoreSession session, Exception e, string? input)
    {
        log.LogError(e, "Game code failed while handling {Input} from session {Session}", input ?? "(an event)", session.Id);
        SessionTable.Send(session, OutputKind.Text, OutputPayload.ForLine(FailureNotice));

        // Admins see it where they are: the exception and the game's file:line (the errors command lists the last ten).
        GameFailure failure = FailureLog.Describe(clock.GetUtcNow(), e, input is null ? $"session {session.Id}" : $"handling '{input}' from session {session.Id}");
        failures.Add(failure);
        sessions.SendToGroup(IGameContext.AdminGroup, OutputKind.Text, OutputPayload.ForLine($"[error] {failure.Summary}"), except: null, outOfBandOnly: false);
    }
}
