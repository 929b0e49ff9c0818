using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis.CSharp;

namespace Dominance.Reload;

/// <summary>Where a build came from: compiled now, or found in the process's or the disk's compile cache.</summary>
internal enum BuildOrigin
{
    /// <summary>Compiled by this call.</summary>
    Compiled,

    /// <summary>Compiled earlier in this process.</summary>
    Memory,

    /// <summary>Read from the <see cref="CompileCache"/> on disk: the compiler was not used.</summary>
    Disk,
}

/// <summary>
/// The result of compiling the game: an assembly image (with symbols) and the warnings, or the errors. Each diagnostic
/// reads <c>file:line:column: error|warning CS0000: message</c>.
/// </summary>
internal sealed record CompileResult(byte[]? Assembly, byte[]? Symbols, IReadOnlyList<string> Errors, TimeSpan Elapsed)
{
    public bool Succeeded => Assembly is not null;

    /// <summary>The compiler's warnings about a build that succeeded.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Where the build came from.</summary>
    public BuildOrigin Origin { get; init; }

    /// <summary>The build's key in the caches.</summary>
    public string Key { get; init; } = "";
}

/// <summary>
/// Compiles game source into an in-memory assembly: in a compiler process (<see cref="CompilerProcess"/>) if it is
/// given one, otherwise with Roslyn in this process (<see cref="RoslynCompiler"/>). Not thread-safe: one reload at a
/// time (the <see cref="ReloadCoordinator"/> sees to it). Never call it on the game thread.
/// </summary>
/// <remarks>
/// Either compiler caches syntax trees by path and text, so a reload after editing one file parses only that file;
/// references are created once. Game files get implicit usings like an SDK project (System, System.Linq, Dominance.Api, ...).
/// Successful compilations are kept process-wide (a second server in the same process, as in tests, does not compile
/// the same game again) and on disk in a <see cref="CompileCache"/>, so that a server started on an unchanged game
/// loads it without compiling; both are keyed by the sources, the generation (the assembly's name), the game API and
/// the compiler.
/// </remarks>
internal sealed class GameCompiler : IDisposable
{
    /// <summary>
    /// The namespaces every game file sees without a <c>using</c> (as an SDK project's implicit usings). The project file
    /// that <c>dominance init</c> writes lists the same ones, so editors and <c>dotnet build</c> see what the server sees.
    /// </summary>
    public static readonly IReadOnlyList<string> ImplicitNamespaces =
        ["System", "System.Buffers", "System.Collections.Generic", "System.Linq", "System.Threading", "System.Threading.Tasks", "Dominance.Api"];

    /// <summary>The implicit usings as C# source (<c>global using ...;</c>).</summary>
    public static readonly string ImplicitUsingsSource = string.Concat(ImplicitNamespaces.Select(ns => $"global using {ns};\n"));

    /// <summary>The language version game code is compiled with; the project file written by <c>init</c> names it too.</summary>
    public const LanguageVersion Language = LanguageVersion.Latest;

    /// <summary>How many compiled games the process-wide cache keeps; the oldest is dropped first.</summary>
    private const int CachedBuilds = 8;

    private static readonly ConcurrentDictionary<string, CompileResult> s_builds = new(StringComparer.Ordinal);
    private static readonly ConcurrentQueue<string> s_buildOrder = new();

    private readonly CompileCache? _disk;
    private readonly Lock _diskWritesLock = new();
    private Task _diskWrites = Task.CompletedTask;
    private readonly CompilerProcess? _process;
    private RoslynCompiler? _roslyn;
    private WeakReference? _lastCompilation;

    /// <summary>
    /// A compiler that keeps its builds in <paramref name="disk"/> too, if it is given, and compiles in
    /// <paramref name="process"/> if it is given (it then owns it), otherwise in this process.
    /// </summary>
    public GameCompiler(CompileCache? disk = null, CompilerProcess? process = null)
    {
        _disk = disk;
        _process = process;
    }

    /// <summary>The compiler process compiles run in, or <see langword="null"/> if they run in this process.</summary>
    public CompilerProcess? Process => _process;

    /// <summary>
    /// Compiles <paramref name="files"/> into an assembly named after <paramref name="generation"/>: in the compiler
    /// process, or in this one on a thread of its own (<see cref="CompileThread"/>).
    /// </summary>
    public async Task<CompileResult> CompileAsync(IReadOnlyList<SourceFile> files, int generation)
    {
        long started = Stopwatch.GetTimestamp();
        string key = CompileCache.KeyOf(files, generation);
        if (s_builds.TryGetValue(key, out CompileResult? built))
        {
            return built with { Elapsed = Stopwatch.GetElapsedTime(started), Origin = BuildOrigin.Memory };
        }

        if (files.Count > 0 && _disk is not null && _disk.TryRead(key, out byte[] cachedImage, out byte[]? cachedSymbols, out IReadOnlyList<string> cachedWarnings))
        {
            var loaded = new CompileResult(cachedImage, cachedSymbols, [], Stopwatch.GetElapsedTime(started)) { Warnings = cachedWarnings, Origin = BuildOrigin.Disk, Key = key };
            Remember(key, loaded);
            return loaded;
        }

        if (files.Count == 0)
        {
            return new CompileResult(null, null, ["The game has no .cs files."], Stopwatch.GetElapsedTime(started));
        }

        CompileResult compiled = _process is { } process
            ? await process.CompileAsync(files, generation).ConfigureAwait(false)
            : await CompileThread.Run(() => CompileWithRoslyn(files, generation, started)).ConfigureAwait(false);
        compiled = compiled with { Key = key, Elapsed = Stopwatch.GetElapsedTime(started) };
        if (compiled.Succeeded)
        {
            Remember(key, compiled);
            if (_disk is { } disk)
            {
                // Off the reload's path: the new code goes live without waiting for the disk. One write after another,
                // and remembered, so that a server that stops waits for them (WaitForDiskWrites) instead of leaving a
                // write into the game folder behind it.
                lock (_diskWritesLock)
                {
                    _diskWrites = _diskWrites.ContinueWith(
                        _ => disk.Write(key, compiled.Assembly!, compiled.Symbols, compiled.Warnings), TaskScheduler.Default);
                }
            }
        }

        return compiled;
    }

    /// <summary>Waits, at most <paramref name="timeout"/>, for the builds still being written to the disk cache.</summary>
    public void WaitForDiskWrites(TimeSpan timeout)
    {
        Task writes;
        lock (_diskWritesLock)
        {
            writes = _diskWrites;
        }

        try
        {
            writes.Wait(timeout);
        }
        catch (AggregateException)
        {
            // CompileCache.Write catches the failures it expects; any other only costs the next start a compile.
        }
    }

    /// <summary>
    /// Stops the compiler process, or drops the in-process compiler's caches (parsed files, the references' metadata,
    /// also used by <c>eval</c>) so that the garbage collector can take them; the next compile starts cold. In process,
    /// Roslyn's own assemblies stay loaded: they live in the default context.
    /// </summary>
    public void Release()
    {
        _process?.Stop("the server is idle");
        _roslyn = null;
        if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "Microsoft.CodeAnalysis"))
        {
            ReleaseReferences(); // only if Roslyn was loaded (here, or by eval): touching the references would load it
        }
    }

    /// <summary>Stops the compiler process, if there is one.</summary>
    public void Dispose() => _process?.Dispose();

    /// <summary>The last compilation this compiler made (for tests: nothing keeps it alive after the compile).</summary>
    internal WeakReference? LastCompilation => _lastCompilation;

    /// <summary>
    /// Parses and compiles in this process. A method of its own, never inlined, so that Roslyn's assemblies are loaded
    /// only when the compiler is really used here: a start that finds its build in a cache, or that compiles in the
    /// compiler process, does not load them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private CompileResult CompileWithRoslyn(IReadOnlyList<SourceFile> files, int generation, long started)
    {
        RoslynCompiler roslyn = _roslyn ??= new RoslynCompiler();
        (CompileResult result, _lastCompilation) = roslyn.Compile(files, generation, started);
        return result;
    }

    /// <summary>Forgets a build that could not be loaded, here and on disk, so that the next attempt compiles.</summary>
    public void Forget(string key)
    {
        s_builds.TryRemove(key, out _);
        _disk?.Remove(key);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ReleaseReferences() => ReferenceAssemblies.Release();

    private static void Remember(string key, CompileResult build)
    {
        if (s_builds.TryAdd(key, build))
        {
            s_buildOrder.Enqueue(key);
            while (s_buildOrder.Count > CachedBuilds && s_buildOrder.TryDequeue(out string? oldest))
            {
                s_builds.TryRemove(oldest, out _);
            }
        }
    }
}
