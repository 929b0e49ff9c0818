using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Dominance.Api;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// The game core's event loop: one dedicated thread that owns all game state.
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
/// deadline: no polling interval, no batching delay.</item>
/// <item>Output leaves through each session's <see cref="ISessionLink"/>, which never blocks; what a portal does with
/// a client that does not keep up is the portal's business.</item>
/// <item>Per session, inputs reach the module one at a time: while one is in flight (awaiting), that session's next
/// inputs wait (<see cref="InboundDispatcher"/>).</item>
/// <item>An exception from game code fails only the callback that threw: it is logged, the session whose input
/// caused it is told, and the loop goes on.</item>
/// </list>
/// <para>The parts: <see cref="InboundDispatcher"/> hands events to the module, <see cref="ModuleHost"/> starts and
/// swaps it, <see cref="IdleLogoff"/> closes idle sessions, <see cref="SessionTable"/> fans output out,
/// <see cref="TimerQueue"/> keeps every timer.</para>
/// </remarks>
internal sealed class GameLoop : IPlayerCount
{
    /// <summary>Inbound events taken per turn at most, so that continuations and timers are never starved.</summary>
    private const int MaxInboundPerTurn = 256;

    /// <summary>How long a swap waits for the inputs in flight to finish before it lets go of them.</summary>
    private static readonly TimeSpan s_swapWait = TimeSpan.FromSeconds(2);

    private readonly ManualResetEventSlim _wake = new(initialState: false);
    private readonly GameSynchronizationContext _syncContext;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<SwapRequest> _swaps = new();
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly ModuleHost _modules;
    private readonly InboundDispatcher _dispatcher;
    private readonly SessionResume _resume;
    private readonly Action<Exception> _onPostedFailure;
    private readonly Action<int, Exception> _onTimerFailure;
    private FirstGeneration? _first;
    private Thread? _thread;
    private volatile bool _stopRequested;

    // The game thread's time asleep, for BusyTicks (Stopwatch ticks). Written by the game thread around its one wait,
    // read by a metrics collector: the sleep's start is published before the wait and cleared after the total grows.
    private long _loopStarted;
    private long _sleptTicks;
    private long _sleepingSince;

    /// <summary>
    /// Creates the core. <paramref name="gameSettings"/> is the game's own configuration section;
    /// <paramref name="services"/> is what game code may ask of the rest of the server (none, if omitted);
    /// <paramref name="metrics"/> is where the loop's instruments are published (<see cref="ServerMetrics.Detached"/>, if omitted);
    /// <paramref name="resumeTokens"/> signs the tokens that let a session resume (a key for this process only, if omitted).
    /// </summary>
    public GameLoop(
        CoreSettings settings, TimeProvider clock, ILoggerFactory loggers, IConfiguration gameSettings, IGameServices? services = null,
        ServerMetrics? metrics = null, ResumeTokens? resumeTokens = null)
    {
        metrics ??= ServerMetrics.Detached;
        _clock = clock;
        _log = loggers.CreateLogger("Dominance.Core");
        _syncContext = new GameSynchronizationContext(_wake);
        _onPostedFailure = OnPostedFailure; // created once: a method group passed in the loop would allocate every turn
        _onTimerFailure = OnTimerFailure;
        Inbound = new InboundPipe(settings.InboundCapacity, _wake);
        Timers = new TimerQueue(clock);
        var resume = _resume = new SessionResume(resumeTokens ?? ResumeTokens.Ephemeral(), settings, Sessions, Timers, clock, () => _modules!.Module, _log); // called only after the constructor
        _modules = new ModuleHost(
            Sessions, Timers, clock, new ResumeServices(services ?? NoGameServices.Instance, resume), Failures, _log, loggers.CreateLogger("Dominance.Game"),
            loggers.CreateLogger(AuditLog.Category), gameSettings);
        var idle = new IdleLogoff(settings.IdleTimeout, Sessions, Timers, clock, _log);
        _dispatcher = new InboundDispatcher(
            Inbound, Sessions, _modules, idle, resume, clock, settings.InboundCapacity, Failures, _log, metrics.InputReplyTime);
        metrics.ObserveCore(this);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Any thread.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>The last failures of game code, for admins (<see cref="IGameContext.RecentFailures"/>).</summary>
    public FailureLog Failures { get; } = new();

    /// <summary>The one pipe from the portal into the core.</summary>
    public InboundPipe Inbound { get; }

    /// <summary>The managed thread id of the game thread (-1 before it starts).</summary>
    public int GameThreadId => _syncContext.GameThreadId;

    /// <summary>Completes once the module has started on the game thread; faults if it threw.</summary>
    public Task Started => _started.Task;

    /// <summary>Completes when the game thread has exited (after <see cref="StopAsync"/>, or a module that failed to start).</summary>
    public Task Exited => _exited.Task;

    /// <summary>Sessions open in the core (not closing).</summary>
    public int OpenSessions => Sessions.Open;

    /// <inheritdoc/>
    public int PlayersOnline => Sessions.Playing;

    /// <summary>Inputs handed to the module so far.</summary>
    public long InputsHandled => _dispatcher.InputsHandled;

    /// <summary>
    /// Time the game thread has spent working (not asleep in its wait for work) since it started, in
    /// <see cref="Stopwatch"/> ticks. Any thread; a reading taken as a sleep ends may come out low once.
    /// </summary>
    public long BusyTicks
    {
        get
        {
            long started = Volatile.Read(ref _loopStarted);
            if (started == 0)
            {
                return 0;
            }

            long now = Stopwatch.GetTimestamp();
            long sleepingSince = Volatile.Read(ref _sleepingSince);
            long slept = Volatile.Read(ref _sleptTicks) + (sleepingSince == 0 ? 0 : now - sleepingSince);
            return Math.Max(0, now - started - slept);
        }
    }

    /// <summary>
    /// Starts the game thread, which starts <paramref name="module"/> with <paramref name="state"/> (empty for a fresh
    /// world), serializing with <paramref name="serializer"/> if it was prepared ahead.
    /// </summary>
    public void Start(IGameModule module, ReadOnlyMemory<byte> state = default, StateSerializer? serializer = null)
    {
        _first = new FirstGeneration(module, state, serializer ?? new StateSerializer());
        _thread = new Thread(RunLoop) { Name = "game", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Stops the loop after the current turn and stops the module. Completes when the thread has exited.</summary>
    public Task StopAsync()
    {
        _stopRequested = true;
        _wake.Set();
        return _thread is null ? Task.CompletedTask : _exited.Task;
    }

    /// <summary>Runs <paramref name="action"/> on the game thread, after what is already posted.</summary>
    public void Post(Action action) => _syncContext.Post(static state => ((Action)state!)(), action);

    /// <summary>Runs <paramref name="function"/> on the game thread and returns its result.</summary>
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

    /// <summary>
    /// Replaces the running module between two inputs: once no input is in flight (or, after a wait of
    /// <see cref="s_swapWait"/>, letting go of those that still are), the running module exports its state, the module
    /// that <paramref name="create"/> makes (on the game thread) starts with it, and the old generation stops and loses
    /// its timers. If exporting, creating or starting throws, the running module stays, with its state.
    /// <paramref name="serializer"/> becomes the new generation's <see cref="IGameContext.State"/>. Inputs that arrive
    /// meanwhile wait, and run after the swap, in order.
    /// </summary>
    public Task<SwapResult> SwapAsync(Func<IGameModule> create, StateSerializer serializer)
    {
        var request = new SwapRequest(create, serializer, new TaskCompletionSource<SwapResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        Post(() =>
        {
            request.Deadline = _clock.GetTimestamp() + (long)(s_swapWait.TotalSeconds * _clock.TimestampFrequency);
            _swaps.Enqueue(request);
            _dispatcher.Hold();
        });
        return request.Done.Task;
    }

    /// <summary>
    /// At shutdown: tells every session <paramref name="message"/> and closes it once its output is flushed; only those
    /// whose link <paramref name="which"/> picks, if given (sessions of remote portals outlive the core). From then on no
    /// session is parked: one whose connection goes ends, so that the game sees it leave before the final save.
    /// </summary>
    public Task DisconnectAllAsync(string message, Func<ISessionLink, bool>? which = null) => InvokeAsync(() =>
    {
        _resume.StopParking();
        foreach (CoreSession session in Sessions.All)
        {
            if (which is null || which(session.Link))
            {
                Sessions.Close(session, OutputPayload.ForLine(message));
            }
        }

        return true;
    });

    /// <summary>Tells every admin (the <see cref="IGameContext.AdminGroup"/> group) these lines, in order.</summary>
    public void TellAdmins(params string[] lines) => Post(() =>
    {
        foreach (string line in lines)
        {
            Sessions.SendToGroup(IGameContext.AdminGroup, OutputKind.Text, OutputPayload.ForLine(line), except: null, outOfBandOnly: false);
        }
    });

    // ---------------------------------------------------------------------------------------------------------------
    // Game thread only.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>Sessions and groups.</summary>
    public SessionTable Sessions { get; } = new();

    /// <summary>Every timer.</summary>
    public TimerQueue Timers { get; }

    /// <summary>The running module generation (1 for the first).</summary>
    public int Generation => _modules.Generation;

    /// <summary>Writes the running module's state to <paramref name="output"/> (a world save).</summary>
    public void ExportState(IBufferWriter<byte> output) => _modules.ExportState(output);

    // ---------------------------------------------------------------------------------------------------------------
    // The loop.
    // ---------------------------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // entered once and never left: it would otherwise stay unoptimized code
    private void RunLoop()
    {
        SynchronizationContext.SetSynchronizationContext(_syncContext);
        _syncContext.GameThreadId = Environment.CurrentManagedThreadId;
        Volatile.Write(ref _loopStarted, Stopwatch.GetTimestamp());
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

            // 2. Portal events, in arrival order: connects, inputs, out-of-band data, disconnects. While a swap waits
            //    for the inputs in flight, they stay in the inbound channel; the swap runs once those have finished.
            work += _swaps.Count > 0 ? TrySwap() : _dispatcher.DispatchInbound(MaxInboundPerTurn);

            // 3. Timers whose deadline has passed, earliest first.
            work += Timers.RunDue(_clock.GetTimestamp(), _onTimerFailure);

            // 4. Nothing to do: sleep until the next event or the next deadline.
            if (work == 0)
            {
                Sleep();
            }
        }

        _modules.Stop();
        Inbound.Complete();
        _exited.SetResult();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool StartModule()
    {
        // Taken out of the field, so that nothing but the module host holds the first generation (or its state) later.
        FirstGeneration first = _first!;
        _first = null;
        try
        {
            _modules.Start(first.Module, first.State, first.Serializer);
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

    /// <summary>Runs the first waiting swap if no input is in flight, or if it has waited long enough. Returns 1 if it ran.</summary>
    private int TrySwap()
    {
        SwapRequest request = _swaps.Peek();
        if (_dispatcher.InFlight > 0)
        {
            if (_clock.GetTimestamp() < request.Deadline)
            {
                return 0;
            }

            foreach (CoreSession session in _dispatcher.LetGoOfInFlight())
            {
                _log.LogWarning(
                    "Session {Session}'s input was still running in game generation {Generation} after {Wait}; swapping without waiting for it",
                    session.Id, _modules.Generation, s_swapWait);
            }
        }

        _swaps.Dequeue();
        SwapResult result = _modules.Swap(request.Create, request.Serializer);
        if (_swaps.Count == 0)
        {
            _dispatcher.Resume();
        }

        request.Done.SetResult(result);
        return 1;
    }

    private void Sleep()
    {
        // Reset, then look again: an event that arrived before the reset is seen by the look; one that arrives after
        // it sets the event again, so the wait returns at once. Either way nothing is slept through. (While a swap
        // waits, inbound events are left where they are, and only its deadline and posted work matter.)
        _wake.Reset();
        bool swapWaiting = _swaps.Count > 0;
        if ((!swapWaiting && Inbound.Count > 0) || !_syncContext.IsEmpty || _stopRequested)
        {
            return;
        }

        int timeout = Timers.MillisecondsUntilNext();
        if (swapWaiting)
        {
            int untilDeadline = MillisecondsUntil(_swaps.Peek().Deadline);
            timeout = timeout == Timeout.Infinite ? untilDeadline : Math.Min(timeout, untilDeadline);
        }

        long asleep = Stopwatch.GetTimestamp();
        Volatile.Write(ref _sleepingSince, asleep);
        _wake.Wait(timeout);
        Volatile.Write(ref _sleptTicks, _sleptTicks + (Stopwatch.GetTimestamp() - asleep));
        Volatile.Write(ref _sleepingSince, 0);
    }

    private int MillisecondsUntil(long timestamp)
    {
        long remaining = timestamp - _clock.GetTimestamp();
        return remaining <= 0 ? 0 : (int)Math.Min(Math.Ceiling(remaining * 1000.0 / _clock.TimestampFrequency), int.MaxValue - 1);
    }

    private void OnPostedFailure(Exception e)
    {
        _log.LogError(e, "Game code failed in a continuation");
        RecordFailure(e, "in a continuation");
    }

    private void OnTimerFailure(int owner, Exception e)
    {
        string whose = owner == TimerQueue.HostOwner ? "the host" : $"game generation {owner}";
        _log.LogError(e, "A timer of {Owner} failed", whose);
        RecordFailure(e, $"in a timer of {whose}");
    }

    /// <summary>Keeps a failure of game code for the <c>errors</c> command and tells the admins. Game thread.</summary>
    private void RecordFailure(Exception e, string context)
    {
        GameFailure failure = FailureLog.Describe(_clock.GetUtcNow(), e, context);
        Failures.Add(failure);
        Sessions.SendToGroup(IGameContext.AdminGroup, OutputKind.Text, OutputPayload.ForLine($"[error] {failure.Summary}"), except: null, outOfBandOnly: false);
    }

    /// <summary>What <see cref="Start"/> hands the game thread.</summary>
    private sealed record FirstGeneration(IGameModule Module, ReadOnlyMemory<byte> State, StateSerializer Serializer);

    /// <summary>A swap asked for and not run yet.</summary>
    private sealed class SwapRequest(Func<IGameModule> create, StateSerializer serializer, TaskCompletionSource<SwapResult> done)
    {
        public Func<IGameModule> Create { get; } = create;

        public StateSerializer Serializer { get; } = serializer;

        public TaskCompletionSource<SwapResult> Done { get; } = done;

        /// <summary>When it stops waiting for the inputs in flight (a timestamp of the loop's clock).</summary>
        public long Deadline { get; set; }
    }
}
