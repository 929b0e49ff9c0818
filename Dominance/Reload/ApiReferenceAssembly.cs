using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace Dominance.Reload;

/// <summary>
/// The game API as a reference assembly (<c>Dominance.Api.dll</c>, with its XML documentation), for the project file of
/// a game folder: editors and <c>dotnet build</c> see the API's public types and their docs, and nothing of the server.
/// </summary>
/// <remarks>
/// It is compiled from the API's own source, embedded in the server, so it always describes the API of the server that
/// wrote it. Metadata only: no method bodies, no private members.
/// </remarks>
internal static class ApiReferenceAssembly
{
    /// <summary>The assembly name, and the file name without its extension.</summary>
    public const string Name = "Dominance.Api";

    private const string EmbeddedPrefix = "api/";

    /// <summary>The usings the API's source is written with (the SDK's implicit usings it relies on).</summary>
    private const string SourceUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>Writes <c>Dominance.Api.dll</c> and <c>Dominance.Api.xml</c> into <paramref name="folder"/>.</summary>
    /// <exception cref="InvalidOperationException">The API's source did not compile (a defect of the server build).</exception>
    public static void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        using var image = new MemoryStream();
        using var documentation = new MemoryStream();
        Emit(image, documentation);
        File.WriteAllBytes(Path.Combine(folder, Name + ".dll"), image.ToArray());
        File.WriteAllBytes(Path.Combine(folder, Name + ".xml"), documentation.ToArray());
    }

    private static void Emit(Stream image, Stream documentation)
    {
        var parse = new CSharpParseOptions(GameCompiler.Language, DocumentationMode.Parse);
        var trees = new List<SyntaxTree> { CSharpSyntaxTree.ParseText(SourceUsings, parse, "(usings)", Encoding.UTF8) };
        Assembly host = typeof(ApiReferenceAssembly).Assembly;
        foreach (string name in host.GetManifestResourceNames().Where(n => n.StartsWith(EmbeddedPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(host.GetManifestResourceStream(name)!);
            trees.Add(CSharpSyntaxTree.ParseText(reader.ReadToEnd(), parse, name[EmbeddedPrefix.Length..], Encoding.UTF8));
        }

        var options = new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true, deterministic: true);
        CSharpCompilation compilation = CSharpCompilation.Create(Name, trees, ReferenceAssemblies.ApiSource, options);
        EmitResult result = compilation.Emit(image, xmlDocumentationStream: documentation, options: new EmitOptions(metadataOnly: true));
        if (!result.Success)
        {
            throw new InvalidOperationException(
                "The game API's reference assembly did not compile:\n  " +
                string.Join("\n  ", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        }
    }
}
