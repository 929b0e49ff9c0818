using System.Diagnostics;
using System.Reflection;
using System.Reflection.Metadata;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dominance.Api;
using Dominance.Core;
using Dominance.Persistence;
using Microsoft.Extensions.Logging;

namespace Dominance.Reload;

/// <summary>What one reload did, for the log, the admins and <c>POST /admin/reload</c>.</summary>
/// <param name="Succeeded">Whether the new code now runs.</param>
/// <param name="Generation">The generation running afterwards.</param>
/// <param name="Reason">What asked for the reload.</param>
/// <param name="CompileMilliseconds">Time to read and compile the source, off the game thread.</param>
/// <param name="PauseMilliseconds">Time the game thread spent swapping (export, import, start); 0 if it never swapped.</param>
/// <param name="Errors">Compile errors (<c>file:line:column: error ...</c>) or the reason the swap was rolled back.</param>
internal sealed record ReloadReport(bool Succeeded, int Generation, string Reason, double CompileMilliseconds, double PauseMilliseconds, IReadOnlyList<string> Errors);

/// <summary>
/// Live reload. Compiles the game's source off the game thread, swaps the new module in on the game thread between two
/// inputs, unloads the old generation's collectible context and proves that it was collected.
/// </summary>
/// <remarks>
/// One reload runs at a time. Requests that arrive while one is waiting to start are folded into it; one that arrives
/// while a reload runs queues exactly one more. If compiling or starting the new code fails, the old code keeps running
/// with its state, and the errors go to the log and to every session in <see cref="IGameContext.AdminGroup"/>.
/// </remarks>
internal sealed class ReloadCoordinator : IDisposable
{
    private const int MaxCollections = 20;

    private readonly GameSources _sources;
    private readonly GameLoop _core;
    private readonly ReloadSettings _settings;
    private readonly ILogger _log;
    private readonly GameCompiler _compiler;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly List<WeakReference> _loaded = [];
    private GameLoadContext? _running;
    private byte[]? _runningImage;
    private GameFolderWatcher? _watcher;
    private int _generation;
    private int _requestQueued;
    private int _forceQueued;
    private int _leaks;
    private readonly ServerMetrics _metrics;
    private readonly ILogger _audit;
    private readonly MemoryTrim? _trim;

    /// <summary>
    /// Creates the coordinator. Each reload is counted and timed in <paramref name="metrics"/> (<see cref="ServerMetrics.Detached"/>
    /// if omitted) and written to <paramref name="audit"/> (<paramref name="log"/> if omitted) with its reason and outcome.
    /// </summary>
    public ReloadCoordinator(
        GameSources sources, GameLoop core, ReloadSettings settings, ILogger<ReloadCoordinator> log, ServerMetrics? metrics = null, ILogger? audit = null)
    {
        _metrics = metrics ?? ServerMetrics.Detached;
        _audit = audit ?? log;
        _sources = sources;
        _core = core;
        _settings = settings;
        _log = log;
        // The compiler process stays for the next edit of a watched folder; with nothing watched, the next compile is
        // an admin's reload, if ever: it goes as soon as it has answered.
        TimeSpan keepCompiler = sources.Folder is not null && settings.Watch ? settings.CompilerIdleTimeout : TimeSpan.Zero;
        _compiler = new GameCompiler(CompileCache.For(sources), settings.CompileInProcess ? null : new CompilerProcess(keepCompiler, log));
        _trim = settings.TrimMemory ? new MemoryTrim(TimeProvider.System, TrimCompiler) : null;
    }

    /// <summary>The idle trim, if <see cref="ReloadSettings.TrimMemory"/> is on (for tests).</summary>
    internal MemoryTrim? Trim => _trim;

    /// <summary>The compiler (for tests).</summary>
    internal GameCompiler Compiler => _compiler;

    /// <summary>Old generations that stayed loaded after their proof of unload. Should stay 0.</summary>
    public int Leaks => Volatile.Read(ref _leaks);

    /// <summary>Unload proofs completed so far (collected or leaked), for tests.</summary>
    public int UnloadChecks { get; private set; }

    /// <summary>
    /// Compiles and loads the first generation, then starts watching the game folder. Throws
    /// <see cref="GameLoadException"/> listing every error if the game does not compile: with no old code to fall back
    /// on, the server cannot start. <paramref name="allowLoss"/>: the first generation may drop state of the save it
    /// starts from that it cannot read (<see cref="PersistenceSettings.DropUnreadableState"/>).
    /// </summary>
    public async Task<(IGameModule Module, StateSerializer Serializer)> LoadFirstAsync(bool allowLoss = false)
    {
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            Build build = await Task.Run(() => CompileAsync(1, allowLoss)).ConfigureAwait(false);
            if (build.ModuleType is null)
            {
                build.Context?.Unload();
                throw new GameLoadException($"The game in {_sources.Description} did not compile:\n  " + string.Join("\n  ", build.Errors));
            }

            _running = build.Context;
            _runningImage = build.Image;
            _generation = 1;
            SerializerWarmUp.Start();
            if (build.Origin == BuildOrigin.Disk)
            {
                _log.LogInformation("Loaded {Source} from the compile cache in {Milliseconds:F0} ms (unchanged: not compiled)", _sources.Description, build.Elapsed.TotalMilliseconds);
            }
            else
            {
                _log.LogInformation("Compiled {Source} in {Milliseconds:F0} ms{Where}", _sources.Description, build.Elapsed.TotalMilliseconds, _compiler.Process is null ? " (in process)" : " (in the compiler process)");
            }

            ReportWarnings(build.Warnings, "at start");
            if (_sources.Folder is { } folder && _settings.Watch)
            {
                _watcher = new GameFolderWatcher(folder, _settings.Debounce, file => RequestReload($"{file} changed"), TimeProvider.System);
                _log.LogInformation("Watching {Folder} for changes to .cs files", folder);
            }

            return ((IGameModule)Activator.CreateInstance(build.ModuleType)!, build.Serializer!);
        }
        finally
        {
            _oneAtATime.Release();
            _trim?.Schedule();
        }
    }

    /// <summary>
    /// Asks for a reload without waiting for it (file watcher, the in-game command). Any thread. <paramref name="force"/>
    /// lets the new code drop state it does not keep (otherwise such a reload is refused).
    /// </summary>
    public void RequestReload(string reason, bool force = false)
    {
        if (force)
        {
            Volatile.Write(ref _forceQueued, 1);
        }

        if (Interlocked.Exchange(ref _requestQueued, 1) == 1)
        {
            return; // a reload that has not started yet will pick this change up too
        }

        _ = Task.Run(async () =>
        {
            await _oneAtATime.WaitAsync().ConfigureAwait(false);
            Volatile.Write(ref _requestQueued, 0);
            bool forced = Interlocked.Exchange(ref _forceQueued, 0) == 1;
            try
            {
                await ReloadCoreAsync(forced ? reason + ", forced" : reason, forced).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _log.LogError(e, "Reload failed unexpectedly");
            }
            finally
            {
                _oneAtATime.Release();
                _trim?.Schedule();
            }
        });
    }

    /// <summary>
    /// Reloads now and reports the outcome (<c>POST /admin/reload</c>, tests). Any thread but the game thread.
    /// <paramref name="force"/> lets the new code drop state it does not keep.
    /// </summary>
    public async Task<ReloadReport> ReloadAsync(string reason, bool force = false)
    {
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            return await ReloadCoreAsync(reason, force).ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
            _trim?.Schedule();
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _trim?.Dispose();
        _compiler.WaitForDiskWrites(TimeSpan.FromSeconds(5)); // nothing is written into the game folder after a stop
        _compiler.Dispose(); // and no compiler process is left behind
    }

    /// <summary>
    /// The idle trim's first step, on the trim's timer thread: skipped while a reload or an eval runs (it schedules the
    /// trim again when it ends). With no game folder watched, nothing will compile again on its own, so the compiler's
    /// caches go too (an admin's <c>reload</c> or <c>eval</c> then starts a cold compiler); a watched folder keeps its
    /// compiler warm for the next edit.
    /// </summary>
    private bool TrimCompiler()
    {
        if (!_oneAtATime.Wait(0))
        {
            return false;
        }

        try
        {
            if (_watcher is null)
            {
                _compiler.Release();
            }

            return true;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>
    /// Unloads the running generation, once the game thread has stopped for good (shutdown), so that a server leaves no
    /// game code loaded behind it. Its collection is not waited for.
    /// </summary>
    public void UnloadRunning()
    {
        Interlocked.Exchange(ref _running, null)?.Unload();
        ClearSerializerCaches();
    }

    /// <summary>The generations whose code this coordinator loaded and that are still in memory (for tests).</summary>
    public IReadOnlyList<int> LoadedGenerations()
    {
        lock (_loaded)
        {
            return [.. _loaded.Select(weak => weak.Target as GameLoadContext).Where(c => c is not null).Select(c => c!.Generation)];
        }
    }

    private async Task<ReloadReport> ReloadCoreAsync(string reason, bool force)
    {
        int generation = _generation + 1;

        // 1. Read, compile and load, off the game thread. The game keeps running the old code meanwhile.
        Build build = await Task.Run(() => CompileAsync(generation, force)).ConfigureAwait(false);
        TimeSpan compile = build.Elapsed;
        if (build.ModuleType is null)
        {
            build.Context?.Unload();
            return Fail(reason, compile, TimeSpan.Zero, "Compile failed", build.Errors);
        }

        // 2. Swap on the game thread, between two inputs.
        SwapResult swap = await SwapInAsync(build).ConfigureAwait(false);
        TimeSpan pause = swap.Pause;
        if (!swap.Succeeded)
        {
            if (swap.Error is StateLossException loss)
            {
                // The new code would drop data: refused, not failed. Say what, and how to go ahead anyway.
                IReadOnlyList<string> losses = [.. loss.Losses.Select(l => l.ToString()), "'reload force' drops it; or keep the member, or map its old name with [StateAlias(\"...\")]."];
                swap = null!;
                loss = null!;
                WeakReference refused = Unload(build.Context!);
                build = default;
                await ProveUnloadedAsync(refused, generation).ConfigureAwait(false);
                return Fail(reason, compile, pause, "Reload refused: the new code would drop game state", losses);
            }

            _log.LogError(swap.Error, "Reload rolled back: {Stage}", swap.FailedStage);
            string error = $"{swap.FailedStage}: {swap.Error?.GetType().Name}: {swap.Error?.Message}";

            // The exception's stack trace keeps the rejected code loaded; drop it (and the build) before the proof.
            swap = null!;
            WeakReference rejected = Unload(build.Context!);
            build = default;
            await ProveUnloadedAsync(rejected, generation).ConfigureAwait(false);
            return Fail(reason, compile, pause, "Reload rolled back", [error]);
        }

        // 3. Unload the old generation and prove that it goes.
        IReadOnlyList<string> warnings = build.Warnings;
        IReadOnlyList<StateLoss> dropped = build.Serializer!.LastLosses;
        _runningImage = build.Image;
        WeakReference old = Replace(build.Context!);
        build = default;
        if (dropped.Count > 0)
        {
            _log.LogWarning("Reload {Reason} dropped game state:\n  {Losses}", reason, string.Join("\n  ", dropped));
            _core.TellAdmins(["[reload] Forced: this game state was dropped:", .. dropped.Select(d => "  " + d)]);
        }

        _generation = generation;
        _metrics.RecordReload(succeeded: true, compile, pause);
        _audit.LogInformation("Reload to generation {Generation} ({Reason}): live", generation, reason);
        _log.LogInformation(
            "Reloaded {Source} to generation {Generation} ({Reason}): compiled in {CompileMs:F0} ms, game thread paused {PauseMs:F2} ms",
            _sources.Description, generation, reason, compile.TotalMilliseconds, pause.TotalMilliseconds);
        var report = new ReloadReport(true, generation, reason, Math.Round(compile.TotalMilliseconds, 1), Math.Round(pause.TotalMilliseconds, 2), []);
        _core.TellAdmins($"[reload] Generation {generation} is live ({reason}; compiled in {report.CompileMilliseconds:F0} ms, game paused {report.PauseMilliseconds:F1} ms).");
        ReportWarnings(warnings, $"generation {generation}");
        await ProveUnloadedAsync(old, generation - 1).ConfigureAwait(false);
        return report;
    }

    /// <summary>Starts the swap. Not async: the closure over the new module's type must not live in a state machine.</summary>
    private Task<SwapResult> SwapInAsync(Build build)
    {
        Type moduleType = build.ModuleType!;
        return _core.SwapAsync(() => (IGameModule)Activator.CreateInstance(moduleType)!, build.Serializer!);
    }

    /// <summary>
    /// Reads, compiles and loads a generation. Off the game thread; the compile's and the load's CPU work on a thread of
    /// its own (<see cref="CompileThread"/>), not the pool's.
    /// </summary>
    private async Task<Build> CompileAsync(int generation, bool force = false)
    {
        long started = Stopwatch.GetTimestamp();
        IReadOnlyList<SourceFile> files;
        try
        {
            files = _sources.Read();
        }
        catch (IOException e)
        {
            return new Build(null, null, null, [e.Message], Stopwatch.GetElapsedTime(started));
        }

        CompileResult compiled = await _compiler.CompileAsync(files, generation).ConfigureAwait(false);
        if (!compiled.Succeeded)
        {
            return new Build(null, null, null, compiled.Errors, Stopwatch.GetElapsedTime(started));
        }

        if (await CompileThread.Run(() => Load(compiled, generation, force, started)).ConfigureAwait(false) is { } build)
        {
            return build;
        }

        // A damaged cache entry: forget it and compile.
        _compiler.Forget(compiled.Key);
        return await CompileAsync(generation, force).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads a compiled generation into a context of its own and prepares it; <see langword="null"/> if it came from the
    /// disk cache and could not be loaded. Not async, so that no state machine holds the new context.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Build? Load(CompileResult compiled, int generation, bool force, long started)
    {
        var context = new GameLoadContext(generation);
        lock (_loaded)
        {
            _loaded.Add(new WeakReference(context));
        }

        try
        {
            Type moduleType = context.LoadModuleType(compiled.Assembly!, compiled.Symbols);
            StateSerializer serializer = PrepareSerializer(moduleType.Assembly, allowLoss: force);
            PrepareCode(moduleType.Assembly);
            return new Build(context, moduleType, serializer, [], Stopwatch.GetElapsedTime(started)) { Warnings = compiled.Warnings, Origin = compiled.Origin, Image = compiled.Assembly };
        }
        catch (Exception e) when (compiled.Origin == BuildOrigin.Disk && e is BadImageFormatException or FileLoadException)
        {
            // A damaged cache entry: forget it and compile.
            _log.LogWarning("The compile cache's entry for {Source} could not be loaded ({Error}); compiling", _sources.Description, e.Message);
            context.Unload();
            return null;
        }
        catch (Exception e) when (e is GameLoadException or BadImageFormatException or ReflectionTypeLoadException)
        {
            return new Build(context, null, null, [e.Message], Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Compiler warnings go to the log and to the admins, with file:line:column, as errors do.</summary>
    private void ReportWarnings(IReadOnlyList<string> warnings, string when)
    {
        if (warnings.Count == 0)
        {
            return;
        }

        _log.LogWarning("The compiler warns about {Source} ({When}):\n  {Warnings}", _sources.Description, when, string.Join("\n  ", warnings));
        _core.TellAdmins([$"[reload] {warnings.Count} compiler warning(s) ({when}):", .. warnings.Select(w => "  " + w)]);
    }

    /// <summary>
    /// Compiles an admin's <c>eval</c> against the running generation and loads it next to it (see
    /// <see cref="SnippetCompiler"/>). Waits for a reload in progress. Any thread but the game thread.
    /// </summary>
    public async Task<Snippet> CompileSnippetAsync(string code, Type globals)
    {
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_running is not { } context || _runningImage is not { } image)
            {
                return Snippet.Failed("The game is not running.");
            }

            if (globals.Assembly.IsCollectible && System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(globals.Assembly) != context)
            {
                return Snippet.Failed("The game was reloaded meanwhile; run it again.");
            }

            return await CompileThread.Run(() => SnippetCompiler.Compile(code, globals, image, context)).ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
            _trim?.Schedule();
        }
    }

    private ReloadReport Fail(string reason, TimeSpan compile, TimeSpan pause, string what, IReadOnlyList<string> errors)
    {
        string? location = errors.Count > 0 && System.Text.RegularExpressions.Regex.Match(errors[0], @"^(.+?\.cs:\d+):\d+: ") is { Success: true } where ? where.Groups[1].Value : null;
        _core.Failures.Add(new GameFailure(DateTimeOffset.UtcNow, $"{what} ({reason}): {errors.FirstOrDefault()}", location, errors));
        _metrics.RecordReload(succeeded: false, compile, pause);
        _audit.LogWarning("Reload ({Reason}): {What}; still running generation {Generation}", reason, what, _generation);
        _log.LogError("{What} for {Source} ({Reason}); still running generation {Generation}:\n  {Errors}", what, _sources.Description, reason, _generation, string.Join("\n  ", errors));
        _core.TellAdmins([$"[reload] {what} ({reason}); still running generation {_generation}:", .. errors.Select(e => "  " + e)]);
        return new ReloadReport(false, _generation, reason, Math.Round(compile.TotalMilliseconds, 1), Math.Round(pause.TotalMilliseconds, 2), errors);
    }

    /// <summary>
    /// Makes <paramref name="next"/> the running context and unloads the previous one. Kept out of the async method so
    /// that no hoisted local of it keeps the old context alive while its unload is being proved.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private WeakReference Replace(GameLoadContext next)
    {
        GameLoadContext old = _running!;
        _running = next;
        return Unload(old);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Unload(GameLoadContext context)
    {
        context.Unload();
        return new WeakReference(context, trackResurrection: false);
    }

    private async Task ProveUnloadedAsync(WeakReference context, int generation)
    {
        long started = Stopwatch.GetTimestamp();
        ClearSerializerCaches();
        for (int collections = 1; collections <= MaxCollections; collections++)
        {
            // Background (non-blocking) collections: the game thread keeps running through most of them.
            GC.Collect(2, GCCollectionMode.Forced, blocking: false);
            GC.WaitForPendingFinalizers();
            if (!context.IsAlive)
            {
                UnloadChecks++;
                _log.LogInformation(
                    "Generation {Generation} unloaded: collected after {Collections} GC(s), {Milliseconds:F0} ms",
                    generation, collections, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return;
            }

            await Task.Delay(10 * collections).ConfigureAwait(false); // let late continuations of the old code finish
        }

        UnloadChecks++;
        Interlocked.Increment(ref _leaks);
        _log.LogWarning(
            "LEAK: generation {Generation} is still loaded after {Collections} GCs ({Milliseconds:F0} ms); something outside the game keeps a reference to its code",
            generation, MaxCollections, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// Creates the new generation's serializer and makes its formatters for the game's types now, off the game thread
    /// (their member accessors compiled and run once), so that the swap does not pay for reflection and code generation
    /// while the game is paused. <paramref name="allowLoss"/> lets it drop state the new code does not keep
    /// (<c>reload force</c>).
    /// </summary>
    internal static StateSerializer PrepareSerializer(Assembly game, bool allowLoss = false)
    {
        var state = new StateSerializer(allowLoss);
        foreach (Type type in game.GetTypes())
        {
            if (!type.IsAbstract && !type.IsInterface && !type.IsGenericTypeDefinition && !type.IsDefined(typeof(CompilerGeneratedAttribute)) &&
                !typeof(IGameModule).IsAssignableFrom(type) && (type.IsValueType || type.GetConstructor(Type.EmptyTypes) is not null))
            {
                state.Prepare(type); // false: not a state type; it will never be serialized
            }
        }

        return state;
    }

    /// <summary>
    /// Compiles every method of the game now, off the game thread. Code in a collectible context is compiled once, fully
    /// optimized, on its first call; without this, the swap (the new module's constructor and <c>Start</c>) and the first
    /// commands after it would wait for the JIT on the game thread.
    /// </summary>
    internal static void PrepareCode(Assembly game)
    {
        foreach (Type type in game.GetTypes())
        {
            if (type.ContainsGenericParameters)
            {
                continue; // compiled per instantiation, when one is made
            }

            foreach (MethodBase method in type.GetMethods(BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Where(m => !m.IsAbstract && !m.ContainsGenericParameters).Cast<MethodBase>()
                .Concat(type.GetConstructors(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)))
            {
                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException or BadImageFormatException or TypeLoadException or InvalidProgramException)
                {
                    // Left to be compiled on first call, as without this step.
                }
            }
        }
    }

    /// <summary>
    /// System.Text.Json keeps process-wide caches of member accessors. Clear them through its hot-reload hook (the
    /// public MetadataUpdateHandler contract) so that they do not keep unloaded game types alive.
    /// </summary>
    private static void ClearSerializerCaches()
    {
        foreach (MetadataUpdateHandlerAttribute handler in typeof(JsonSerializer).Assembly.GetCustomAttributes<MetadataUpdateHandlerAttribute>())
        {
            handler.HandlerType.GetMethod("ClearCache", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)?.Invoke(null, [null]);
        }
    }

    /// <summary>A compiled generation: its context, module type and prepared serializer, or the errors.</summary>
    private readonly record struct Build(GameLoadContext? Context, Type? ModuleType, StateSerializer? Serializer, IReadOnlyList<string> Errors, TimeSpan Elapsed)
    {
        public IReadOnlyList<string> Warnings { get; init; } = [];

        public BuildOrigin Origin { get; init; }

        /// <summary>The assembly's image, which snippets (<c>eval</c>) are compiled against.</summary>
        public byte[]? Image { get; init; }
    }
}
