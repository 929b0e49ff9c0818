using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Dominance.Api;
using Dominance.Hosting;
using Dominance.Portal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// The game core: one dedicated thread that owns all game state and runs the event loop.
/// </summary>
/// <remarks>
/// <para><b>Threading rules.</b></para>
/// <list type="number">
/// <item>Only the game thread touches game state: the module, its context, the session table, groups and timers.
/// Nothing there is locked, because nothing else may touch it.</item>
/// <item>Other threads reach the game thread in exactly two ways: the inbound channel (<see cref="InboundPipe"/>),
/// which carries every portal event from every session, and <see cref="Post"/> (the game's
/// <see cref="SynchronizationContext"/>), which carries continuations of <c>await</c>s started by game code and
/// requests from the host.</item>
/// <item>The game thread never blocks. It does no I/O, takes no lock another thread holds and never waits on a task.
/// Its only wait is in <see cref="Sleep"/>, when there is nothing to do, and it ends at the next event or at the next
/// timer deadline: no polling interval, no batching delay.</item>
/// <item>Output leaves through each session's bounded outbox (<see cref="PortalSession.Enqueue"/>), which never
/// blocks; a full outbox disconnects that one session.</item>
/// <item>An exception from game code fails only the callback that threw: it is logged, the session whose input
/// caused it is told, and the loop goes on.</item>
/// </list>
/// </remarks>
internal sealed class GameLoop
{
    private const int MaxInboundPerTurn = 256;

    private readonly ManualResetEventSlim _wake = new(initialState: false);
    private readonly GameSynchronizationContext _syncContext;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CoreSettings _settings;
    private readonly ILogger _log;
    private readonly ILogger _gameLog;
    private readonly IConfiguration _gameSettings;
    private readonly long _idleTicks;
    private readonly Action<Exception> _onPostedFailure;
    private readonly Action<int, Exception> _onTimerFailure;
    private readonly ArrayBufferWriter<byte> _stateBuffer = new();
    private IGameModule _module = null!;
    private GameContext _context = null!;
    private ReadOnlyMemory<byte> _initialState;
    private StateSerializer? _initialSerializer;
    private Thread? _thread;
    private volatile bool _stopRequested;
    private volatile int _openSessions;
    private long _inputsHandled;

    public GameLoop(CoreSettings settings, TimeProvider clock, ILoggerFactory loggers, IConfiguration gameSettings)
    {
        _settings = settings;
        Clock = clock;
        _log = loggers.CreateLogger("Dominance.Core");
        _gameLog = loggers.CreateLogger("Dominance.Game");
        _gameSettings = gameSettings;
        _idleTicks = (long)(settings.IdleTimeout.TotalSeconds * clock.TimestampFrequency);
        _syncContext = new GameSynchronizationContext(_wake);
        _onPostedFailure = OnPostedFailure; // created once: a method group passed in the loop would allocate every turn
        _onTimerFailure = OnTimerFailure;
        Inbound = new InboundPipe(settings.InboundCapacity, _wake);
        Timers = new TimerQueue(clock);
    }

    /// <summary>The one pipe from the portal into the core.</summary>
    public InboundPipe Inbound { get; }

    /// <summary>Sessions and groups. Game thread only.</summary>
    public SessionTable Sessions { get; } = new();

    /// <summary>Every timer. Game thread only.</summary>
    public TimerQueue Timers { get; }

    public TimeProvider Clock { get; }

    /// <summary>The managed thread id of the game thread (-1 before it starts).</summary>
    public int GameThreadId => _syncContext.GameThreadId;

    /// <summary>Completes once the module has started on the game thread; faults if it threw.</summary>
    public Task Started => _started.Task;

    /// <summary>Sessions open in the core (not closing). Readable from any thread.</summary>
    public int OpenSessions => _openSessions;

    /// <summary>Inputs dispatched to the module so far. Readable from any thread.</summary>
    public long InputsHandled => Interlocked.Read(ref _inputsHandled);

    /// <summary>The running module generation (1 for the first). Game thread only.</summary>
    public int Generation => _context.Generation;

    /// <summary>
    /// Called on the game thread when game code asks for a reload (<see cref="IGameContext.RequestReload"/>). The host
    /// sets it when the game was loaded from source; it must hand the work to another thread at once.
    /// </summary>
    public Action? ReloadRequested { get; set; }

    /// <summary>Player accounts, offered to game code as <see cref="IGameContext.Accounts"/>. Set before <see cref="Start"/>.</summary>
    public IAccounts? Accounts { get; set; }

    /// <summary>
    /// Called when game code asks for a world save (<see cref="IGameContext.SaveAsync"/>). Set by the host; must hand
    /// the work to another thread at once.
    /// </summary>
    public Func<Task<SaveResult>>? SaveRequested { get; set; }

    /// <summary>Called when game code asks the server to shut down (<see cref="IGameContext.RequestShutdown"/>). Must not block.</summary>
    public Action<string>? ShutdownRequested { get; set; }

    /// <summary>
    /// Starts the game thread, which starts <paramref name="module"/> with <paramref name="state"/> (empty for a fresh
    /// world), serializing with <paramref name="serializer"/> if it was prepared ahead.
    /// </summary>
    public void Start(IGameModule module, ReadOnlyMemory<byte> state = default, StateSerializer? serializer = null)
    {
        _module = module;
        _initialState = state;
        _initialSerializer = serializer;
        _thread = new Thread(Run) { Name = "game", IsBackground = true };
        _thread.Start();
    }

    /// <summary>
    /// Replaces the running module between two turns of the loop: the running module exports its state, the module that
    /// <paramref name="create"/> makes (on the game thread) starts with it, and the old generation stops and loses its
    /// timers. If exporting, creating or starting throws, the running module stays, with its state, and whatever timers
    /// the new one scheduled are cancelled. <paramref name="serializer"/> becomes the new generation's
    /// <see cref="IGameContext.State"/>. Inputs that arrive meanwhile wait in the inbound channel. Any thread.
    /// </summary>
    public Task<SwapResult> SwapAsync(Func<IGameModule> create, StateSerializer serializer) => InvokeAsync(() => Swap(create, serializer));

    /// <summary>Writes the running module's state to <paramref name="output"/> (a world save). Game thread only.</summary>
    public void ExportState(IBufferWriter<byte> output) => _module.ExportState(output);

    /// <summary>Tells every admin (the <see cref="IGameContext.AdminGroup"/> group) these lines, in order. Any thread.</summary>
    public void TellAdmins(params string[] lines) => Post(() =>
    {
        foreach (string line in lines)
        {
            SendToGroup(IGameContext.AdminGroup, OutputPayload.ForLine(line));
        }
    });

    /// <summary>Hands an encoded line to every open member of a group, and drops the caller's reference. Game thread only.</summary>
    public void SendToGroup(string group, OutputPayload payload, SessionId? except = null)
    {
        if (Sessions.Members(group) is { } members)
        {
            SessionTable.Deliver(members, FrameKind.Text, payload, except, outOfBandOnly: false);
        }

        payload.Release();
    }

    /// <summary>Runs <paramref name="action"/> on the game thread, after what is already posted. Any thread.</summary>
    public void Post(Action action) => _syncContext.Post(static state => ((Action)state!)(), action);

    /// <summary>Runs <paramref name="function"/> on the game thread and returns its result. Any thread.</summary>
    public Task<T> InvokeAsync<T>(Func<T> function)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                result.SetResult(function());
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        });
        return result.Task;
    }

    /// <summary>Tells every session <paramref name="message"/> and closes it once its output is flushed. Any thread.</summary>
    public Task DisconnectAllAsync(string message) => InvokeAsync(() =>
    {
        foreach (CoreSession session in Sessions.All)
        {
            Disconnect(session, message);
        }

        return true;
    });

    /// <summary>Stops the loop after the current turn and stops the module. Completes when the thread has exited.</summary>
    public Task StopAsync()
    {
        _stopRequested = true;
        _wake.Set();
        return _thread is null ? Task.CompletedTask : _exited.Task;
    }

    /// <summary>Closes a session after <paramref name="message"/>. Game thread only.</summary>
    public void Disconnect(CoreSession session, string? message)
    {
        if (session.Closing)
        {
            return;
        }

        session.Closing = true;
        _openSessions--;
        session.IdleTimer?.Cancel();
        if (message is not null)
        {
            session.Portal.SendLine(message);
        }

        session.Portal.Close();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The event loop. Everything below runs on the game thread.
    // ---------------------------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // entered once and never left: it would otherwise stay unoptimized code
    private void Run()
    {
        SynchronizationContext.SetSynchronizationContext(_syncContext);
        _syncContext.GameThreadId = Environment.CurrentManagedThreadId;
        if (!StartModule())
        {
            _exited.SetResult();
            return;
        }

        while (!_stopRequested)
        {
            int work = 0;

            // 1. Continuations of awaits in game code, and requests from the host, in the order they were posted.
            work += _syncContext.RunPosted(_onPostedFailure);

            // 2. Portal events, in arrival order: connects, inputs, out-of-band data, disconnects.
            for (int i = 0; i < MaxInboundPerTurn && Inbound.TryRead(out InboundEvent item); i++)
            {
                Dispatch(item);
                work++;
            }

            // 3. Timers whose deadline has passed, earliest first.
            work += Timers.RunDue(Clock.GetTimestamp(), _onTimerFailure);

            // 4. Nothing to do: sleep until the next event or the next timer deadline.
            if (work == 0)
            {
                Sleep();
            }
        }

        StopModule();
        Inbound.Complete();
        _exited.SetResult();
    }

    private void Sleep()
    {
        // Reset, then look again: an event that arrived before the reset is seen by the look; one that arrives after
        // it sets the event again, so the wait returns at once. Either way nothing is slept through.
        _wake.Reset();
        if (Inbound.Count > 0 || !_syncContext.IsEmpty || _stopRequested)
        {
            return;
        }

        _wake.Wait(Timers.MillisecondsUntilNext());
    }

    private void Dispatch(in InboundEvent item)
    {
        SessionId id = item.Session.Id;
        switch (item.Kind)
        {
            case InboundKind.Connected:
                CoreSession added = Sessions.Add(item.Session, Clock.GetTimestamp());
                _openSessions++;
                ScheduleIdleCheck(added);
                Run(added, static (module, s, _) => module.OnConnect(s.Id), null);
                break;

            case InboundKind.Input when Sessions.TryGet(id, out CoreSession? session) && !session.Closing:
                session.LastInput = Clock.GetTimestamp();
                Interlocked.Increment(ref _inputsHandled);
                ValueTask pending;
                try
                {
                    pending = _module.OnInput(id, item.Text!);
                }
                catch (Exception e)
                {
                    ReportFailure(session, e, item.Text);
                    break;
                }

                if (!pending.IsCompletedSuccessfully)
                {
                    _ = ObserveAsync(pending, session, item.Text);
                }

                break;

            case InboundKind.Data when Sessions.TryGet(id, out CoreSession? session) && !session.Closing:
                session.LastInput = Clock.GetTimestamp();
                Run(session, static (module, s, e) => module.OnData(s.Id, e.Package!, e.Text!), item);
                break;

            case InboundKind.InfoChanged when Sessions.TryGet(id, out CoreSession? session):
                session.Info = item.Session.Info;
                break;

            case InboundKind.Disconnected when Sessions.Remove(id, out CoreSession? session):
                if (!session.Closing)
                {
                    _openSessions--;
                }

                session.IdleTimer?.Cancel();
                Run(session, static (module, s, _) => module.OnDisconnect(s.Id), null);
                break;
        }
    }

    private void Run(CoreSession session, Action<IGameModule, CoreSession, InboundEvent> callback, in InboundEvent? item)
    {
        try
        {
            callback(_module, session, item.GetValueOrDefault());
        }
        catch (Exception e)
        {
            ReportFailure(session, e, item?.Text);
        }
    }

    private async Task ObserveAsync(ValueTask pending, CoreSession session, string? input)
    {
        try
        {
            await pending; // resumes on the game thread: the game's SynchronizationContext is current here
        }
        catch (Exception e)
        {
            ReportFailure(session, e, input);
        }
    }

    private void ReportFailure(CoreSession session, Exception e, string? input)
    {
        _log.LogError(e, "Game code failed while handling {Input} from session {Session}", input ?? "(an event)", session.Id);
        if (!session.Closing)
        {
            session.Portal.SendLine("Something went wrong while handling that. The error has been logged.");
        }
    }

    private void OnPostedFailure(Exception e) => _log.LogError(e, "Game code failed in a continuation");

    private void OnTimerFailure(int owner, Exception e) =>
        _log.LogError(e, "A timer of {Owner} failed", owner == TimerQueue.HostOwner ? "the host" : $"game generation {owner}");

    private void ScheduleIdleCheck(CoreSession session)
    {
        if (_idleTicks <= 0)
        {
            return;
        }

        // One pending check per session, due when it would become idle. Input only updates LastInput; the check
        // re-arms itself for the new deadline, so typing never touches the timer queue.
        long due = session.LastInput + _idleTicks;
        TimeSpan delay = Clock.GetElapsedTime(Clock.GetTimestamp(), due);
        session.IdleTimer = Timers.Schedule(delay, TimeSpan.Zero, () => CheckIdle(session), TimerQueue.HostOwner);
    }

    private void CheckIdle(CoreSession session)
    {
        if (session.Closing || !Sessions.TryGet(session.Id, out _))
        {
            return;
        }

        if (Clock.GetTimestamp() - session.LastInput < _idleTicks)
        {
            ScheduleIdleCheck(session);
            return;
        }

        _log.LogInformation("Session {Session} idle for {Timeout}; disconnecting it", session.Id, _settings.IdleTimeout);
        Disconnect(session, $"You have been idle for {Describe(_settings.IdleTimeout)}. Goodbye.");
    }

    private bool StartModule()
    {
        try
        {
            _context = new GameContext(this, 1, _gameLog, _gameSettings, _initialSerializer ?? new StateSerializer());
            _module.Start(_context, _initialState);
            _initialState = default;
            _initialSerializer = null;
            _started.SetResult();
            return true;
        }
        catch (Exception e)
        {
            _log.LogCritical(e, "The game module failed to start");
            _started.SetException(e);
            return false;
        }
    }

    private void StopModule()
    {
        if (_context is null)
        {
            return; // the module never started
        }

        Retire(_module, _context);

        // The loop has ended for good: hold nothing of the game's code, so that it can be unloaded.
        _module = null!;
        _context = null!;
    }

    private SwapResult Swap(Func<IGameModule> create, StateSerializer serializer)
    {
        long started = Stopwatch.GetTimestamp();
        int generation = _context.Generation + 1;

        // 1. The running generation exports its state.
        _stateBuffer.ResetWrittenCount();
        try
        {
            _module.ExportState(_stateBuffer);
        }
        catch (Exception e)
        {
            return new SwapResult(false, _context.Generation, Stopwatch.GetElapsedTime(started), "the running game failed to export its state", e);
        }

        // 2. The new generation is created and starts with it. If it throws, it never took over: drop what it scheduled.
        var context = new GameContext(this, generation, _gameLog, _gameSettings, serializer);
        IGameModule next;
        try
        {
            next = create();
            next.Start(context, _stateBuffer.WrittenMemory);
        }
        catch (Exception e)
        {
            context.Retired = true;
            Timers.CancelOwnedBy(generation);
            return new SwapResult(false, _context.Generation, Stopwatch.GetElapsedTime(started), "the new game failed to start", e);
        }

        // 3. The old generation stops; nothing of it (timers, context) stays reachable from the host.
        IGameModule old = _module;
        GameContext oldContext = _context;
        _module = next;
        _context = context;
        Retire(old, oldContext);
        return new SwapResult(true, generation, Stopwatch.GetElapsedTime(started), null, null);
    }

    private void Retire(IGameModule module, GameContext context)
    {
        try
        {
            module.Stop();
        }
        catch (Exception e)
        {
            _log.LogError(e, "Game generation {Generation} failed while stopping", context.Generation);
        }

        context.Retired = true;
        Timers.CancelOwnedBy(context.Generation);
    }

    private static string Describe(TimeSpan span) => span.TotalMinutes >= 1 && span.Seconds == 0
        ? $"{span.TotalMinutes:0} minute{(span.TotalMinutes == 1 ? "" : "s")}"
        : $"{span.TotalSeconds:0.#} seconds";
}

/// <summary>The outcome of <see cref="GameLoop.SwapAsync"/>.</summary>
/// <param name="Succeeded">Whether the new module now runs.</param>
/// <param name="Generation">The generation running afterwards.</param>
/// <param name="Pause">How long the game thread spent on the swap (export, import and start).</param>
/// <param name="FailedStage">What failed, if the swap was rolled back.</param>
/// <param name="Error">The exception, if the swap was rolled back.</param>
internal sealed record SwapResult(bool Succeeded, int Generation, TimeSpan Pause, string? FailedStage, Exception? Error);
