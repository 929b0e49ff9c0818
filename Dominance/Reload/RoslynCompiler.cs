using System.Diagnostics;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

namespace Dominance.Reload;

/// <summary>
/// The compiler proper: Roslyn, parse and emit. Kept between compiles while it is warm: syntax trees are cached by path
/// and text (a reload after editing one file parses only that file). It runs in the compiler process
/// (<see cref="CompileWorker"/>), or in the server's own with <see cref="ReloadSettings.CompileInProcess"/>. Not
/// thread-safe: one compile at a time.
/// </summary>
internal sealed class RoslynCompiler
{
    private static readonly CSharpParseOptions s_parseOptions = new(GameCompiler.Language);
    private static readonly CSharpCompilationOptions s_compilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        optimizationLevel: OptimizationLevel.Release,
        nullableContextOptions: NullableContextOptions.Enable,
        concurrentBuild: false);

    private readonly Dictionary<string, (string Text, SyntaxTree Tree)> _trees = new(StringComparer.Ordinal);
    private readonly SyntaxTree _implicitUsings = CSharpSyntaxTree.ParseText(GameCompiler.ImplicitUsingsSource, s_parseOptions, "(implicit usings)", Encoding.UTF8);

    /// <summary>
    /// Compiles <paramref name="files"/> into an assembly named <c>game-</c><paramref name="generation"/>; the elapsed
    /// time counts from <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp). Also returns the compilation,
    /// weakly (for tests: nothing keeps it alive afterwards).
    /// </summary>
    public (CompileResult Result, WeakReference Compilation) Compile(IReadOnlyList<SourceFile> files, int generation, long started)
    {
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

        CSharpCompilation compilation = CSharpCompilation.Create($"game-{generation}", trees, ReferenceAssemblies.All, s_compilationOptions);
        using var image = new MemoryStream();
        using var symbols = new MemoryStream();
        EmitResult result = compilation.Emit(image, symbols, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb));
        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        var compiled = new WeakReference(compilation);
        if (!result.Success)
        {
            string[] errors = [.. result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(Format)];
            return (new CompileResult(null, null, errors, elapsed), compiled);
        }

        string[] warnings = [.. result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).Select(Format)];
        return (new CompileResult(image.ToArray(), symbols.ToArray(), [], elapsed) { Warnings = warnings }, compiled);
    }

    /// <summary>Formats a diagnostic as <c>file:line:column: error CS0000: message</c> (or <c>warning</c>).</summary>
    private static string Format(Diagnostic diagnostic)
    {
        FileLinePositionSpan span = diagnostic.Location.GetLineSpan();
        string where = diagnostic.Location.IsInSource
            ? $"{span.Path}:{span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1}: "
            : "";
        string severity = diagnostic.Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return $"{where}{severity} {diagnostic.Id}: {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }
}
