using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

namespace Dominance.Reload;

/// <summary>The result of compiling the game: an assembly image (with symbols), or the errors.</summary>
internal sealed record CompileResult(byte[]? Assembly, byte[]? Symbols, IReadOnlyList<string> Errors, TimeSpan Elapsed)
{
    public bool Succeeded => Assembly is not null;
}

/// <summary>
/// Compiles game source with Roslyn, in process, into an in-memory assembly. Not thread-safe: one reload at a time
/// (the <see cref="ReloadCoordinator"/> sees to it). Never call it on the game thread.
/// </summary>
/// <remarks>
/// Syntax trees are cached by path and text, so a reload after editing one file parses only that file; references
/// are created once. Game files get implicit usings like an SDK project (System, System.Linq, Dominance.Api, ...).
/// Successful compilations are also kept process-wide, keyed by the sources and the generation (the assembly's name):
/// a second server in the same process (tests, embedding) that starts the same game does not compile it again.
/// </remarks>
internal sealed class GameCompiler
{
    private const string ImplicitUsings = """
        global using System;
        global using System.Buffers;
        global using System.Collections.Generic;
        global using System.Linq;
        global using System.Threading;
        global using System.Threading.Tasks;
        global using Dominance.Api;
        """;

    private static readonly CSharpParseOptions s_parseOptions = new(LanguageVersion.Latest);
    private static readonly CSharpCompilationOptions s_compilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        optimizationLevel: OptimizationLevel.Release,
        nullableContextOptions: NullableContextOptions.Enable,
        concurrentBuild: false);

    /// <summary>How many compiled games the process-wide cache keeps; the oldest is dropped first.</summary>
    private const int CachedBuilds = 8;

    private static readonly ConcurrentDictionary<string, CompileResult> s_builds = new(StringComparer.Ordinal);
    private static readonly ConcurrentQueue<string> s_buildOrder = new();

    private readonly Dictionary<string, (string Text, SyntaxTree Tree)> _trees = new(StringComparer.Ordinal);
    private readonly SyntaxTree _implicitUsings = CSharpSyntaxTree.ParseText(ImplicitUsings, s_parseOptions, "(implicit usings)", Encoding.UTF8);

    /// <summary>Compiles <paramref name="files"/> into an assembly named after <paramref name="generation"/>.</summary>
    public CompileResult Compile(IReadOnlyList<SourceFile> files, int generation)
    {
        long started = Stopwatch.GetTimestamp();
        string key = BuildKey(files, generation);
        if (s_builds.TryGetValue(key, out CompileResult? built))
        {
            return built with { Elapsed = Stopwatch.GetElapsedTime(started) };
        }

        var trees = new List<SyntaxTree>(files.Count + 1) { _implicitUsings };
        foreach (SourceFile file in files)
        {
            if (!_trees.TryGetValue(file.Path, out (string Text, SyntaxTree Tree) cached) || cached.Text != file.Text)
            {
                SourceText text = SourceText.From(file.Text, Encoding.UTF8);
                cached = (file.Text, CSharpSyntaxTree.ParseText(text, s_parseOptions, file.Path));
                _trees[file.Path] = cached;
            }

            trees.Add(cached.Tree);
        }

        foreach (string stale in _trees.Keys.Except(files.Select(f => f.Path)).ToList())
        {
            _trees.Remove(stale);
        }

        if (files.Count == 0)
        {
            return new CompileResult(null, null, ["The game has no .cs files."], Stopwatch.GetElapsedTime(started));
        }

        CSharpCompilation compilation = CSharpCompilation.Create($"game-{generation}", trees, ReferenceAssemblies.All, s_compilationOptions);
        using var image = new MemoryStream();
        using var symbols = new MemoryStream();
        EmitResult result = compilation.Emit(image, symbols, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb));
        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        if (!result.Success)
        {
            string[] errors = [.. result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(Format)];
            return new CompileResult(null, null, errors, elapsed);
        }

        var compiled = new CompileResult(image.ToArray(), symbols.ToArray(), [], elapsed);
        if (s_builds.TryAdd(key, compiled))
        {
            s_buildOrder.Enqueue(key);
            while (s_buildOrder.Count > CachedBuilds && s_buildOrder.TryDequeue(out string? oldest))
            {
                s_builds.TryRemove(oldest, out _);
            }
        }

        return compiled;
    }

    /// <summary>The cache key of a build: the generation and a SHA-256 over every file's path and text, in order.</summary>
    private static string BuildKey(IReadOnlyList<SourceFile> files, int generation)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (SourceFile file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file.Path));
            hash.AppendData([0]);
            hash.AppendData(Encoding.UTF8.GetBytes(file.Text));
            hash.AppendData([0]);
        }

        return $"{generation}:{Convert.ToHexString(hash.GetHashAndReset())}";
    }

    /// <summary>Formats a diagnostic as <c>file:line:column: error CS0000: message</c>.</summary>
    private static string Format(Diagnostic diagnostic)
    {
        FileLinePositionSpan span = diagnostic.Location.GetLineSpan();
        string where = diagnostic.Location.IsInSource
            ? $"{span.Path}:{span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1}: "
            : "";
        return $"{where}error {diagnostic.Id}: {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }
}
