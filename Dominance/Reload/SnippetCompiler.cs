using System.Reflection;
using System.Text;
using Dominance.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace Dominance.Reload;

/// <summary>
/// Compiles an admin's <c>eval</c>: a C# expression, or statements, against the running generation of the game, with
/// <c>game</c> standing for the globals object the game passed (typed as its own class). Private members of the game
/// are reachable, as in a debugger's watch window. Never call it on the game thread.
/// </summary>
/// <remarks>
/// The snippet is wrapped in a static method and compiled, as a small assembly, against the game's own image; it is
/// loaded into the generation's collectible context, so it unloads with that generation. Access to private members
/// takes two steps: the compiler is told to ignore accessibility (the flag its debugger support uses, set by
/// reflection: it has no public switch), and the snippet's assembly carries <c>IgnoresAccessChecksToAttribute</c> for
/// the game's assembly, which the runtime honours.
/// </remarks>
internal static class SnippetCompiler
{
    private const string TypeName = "DominanceEval";
    private const string MethodName = "Run";

    private static readonly CSharpParseOptions s_parse = new(GameCompiler.Language);
    private static readonly CSharpCompilationOptions s_options = IgnoringAccessibility(
        new CSharpCompilationOptions(Microsoft.CodeAnalysis.OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Debug, concurrentBuild: false)
            .WithMetadataImportOptions(MetadataImportOptions.All));

    private static int s_compiled;

    /// <summary>Compiles <paramref name="code"/> and loads it into <paramref name="context"/>, next to the game it runs against.</summary>
    public static Snippet Compile(string code, Type globals, byte[] gameImage, GameLoadContext context)
    {
        code = code.Trim();
        if (code.Length == 0)
        {
            return Snippet.Failed("Give a C# expression or statements, e.g.: eval game.GetType().Name");
        }

        string assemblyName = $"eval-{context.Generation}-{Interlocked.Increment(ref s_compiled)}";
        MetadataReference game = MetadataReference.CreateFromImage(gameImage);
        string gameName = $"game-{context.Generation}"; // the name GameCompiler gives each generation
        string typeName = "global::" + (globals.FullName ?? "object").Replace('+', '.');

        // An expression's value is the answer; statements answer with what they return, if they do.
        string expression = code.TrimEnd(';');
        IReadOnlyList<string>? errors = null;
        foreach (string body in new[] { $"return (object?)({expression});", code.EndsWith(';') || code.EndsWith('}') ? $"{code}\nreturn null;" : $"{code};\nreturn null;" })
        {
            string source = $$"""
                [assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("{{gameName}}")]
                namespace System.Runtime.CompilerServices
                {
                    [System.AttributeUsage(System.AttributeTargets.Assembly, AllowMultiple = true)]
                    internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : System.Attribute
                    {
                        public string AssemblyName { get; } = assemblyName;
                    }
                }

                public static class {{TypeName}}
                {
                    public static object? {{MethodName}}(object globals)
                    {
                        var game = ({{typeName}})globals;
                #line 1 "eval"
                {{body}}
                #line default
                    }
                }
                """;
            SyntaxTree[] trees =
            [
                CSharpSyntaxTree.ParseText(GameCompiler.ImplicitUsingsSource, s_parse, "(implicit usings)", Encoding.UTF8),
                CSharpSyntaxTree.ParseText(source, s_parse, "eval", Encoding.UTF8),
            ];
            CSharpCompilation compilation = CSharpCompilation.Create(assemblyName, trees, [.. ReferenceAssemblies.All, game], s_options);
            using var image = new MemoryStream();
            EmitResult result = compilation.Emit(image);
            if (result.Success)
            {
                return new Snippet(context.LoadSnippet(image.ToArray(), TypeName, MethodName), []);
            }

            errors ??= [.. result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(Format)];
        }

        return new Snippet(null, errors!);
    }

    private static string Format(Diagnostic diagnostic)
    {
        FileLinePositionSpan span = diagnostic.Location.GetLineSpan();
        string where = diagnostic.Location.IsInSource && span.Path == "eval" ? $"eval:{span.StartLinePosition.Character + 1}: " : "";
        return $"{where}error {diagnostic.Id}: {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    /// <summary>Sets the compiler's internal "ignore accessibility" binder flag, if this compiler version has it.</summary>
    private static CSharpCompilationOptions IgnoringAccessibility(CSharpCompilationOptions options)
    {
        Type? flags = typeof(CSharpCompilation).Assembly.GetType("Microsoft.CodeAnalysis.CSharp.BinderFlags");
        MethodInfo? with = typeof(CSharpCompilationOptions).GetMethod("WithTopLevelBinderFlags", BindingFlags.Instance | BindingFlags.NonPublic);
        if (flags is null || with is null || !Enum.TryParse(flags, "IgnoreAccessibility", out object? ignore))
        {
            return options; // public members only
        }

        return (CSharpCompilationOptions)with.Invoke(options, [ignore])!;
    }
}
