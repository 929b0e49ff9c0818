using System.Reflection;
using System.Reflection.Metadata;
using Microsoft.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Dominance.Reload;

/// <summary>
/// What game code is compiled against: the framework's reference assemblies (embedded in the server at build time, so
/// a single-file server with no SDK can compile) and the host's own game API, read from the loaded assemblies' metadata
/// (which also works when they live inside a single-file bundle and have no path).
/// </summary>
internal static class ReferenceAssemblies
{
    private static Lazy<IReadOnlyList<MetadataReference>> s_framework = new(LoadFramework);
    private static Lazy<IReadOnlyList<MetadataReference>> s_all = NewAll();

    /// <summary>Every reference, created once and shared by all compilations (until <see cref="Release"/>).</summary>
    public static IReadOnlyList<MetadataReference> All => Volatile.Read(ref s_all).Value;

    /// <summary>
    /// Everything but the host itself: the framework and the abstractions the game API's signatures use. The game API's
    /// own source is compiled against these into the reference assembly that <c>dominance init</c> writes.
    /// </summary>
    public static IReadOnlyList<MetadataReference> Framework => Volatile.Read(ref s_framework).Value;

    /// <summary>
    /// What the game API's own source compiles against: <see cref="Framework"/>, and MessagePack, which the state
    /// serializer's internals use (no public signature of the API names it, so games do not need it).
    /// </summary>
    public static IReadOnlyList<MetadataReference> ApiSource => s_apiSource.Value;

    private static readonly Lazy<IReadOnlyList<MetadataReference>> s_apiSource = new(() =>
        [.. Framework, FromLoadedAssembly(typeof(MessagePack.MessagePackSerializer).Assembly), FromLoadedAssembly(typeof(MessagePack.KeyAttribute).Assembly)]);

    /// <summary>
    /// Lets the garbage collector take the references (the framework's reference assemblies read into memory, and the
    /// symbols Roslyn built from them); the next compile reads them again. Compilations under way keep theirs.
    /// </summary>
    public static void Release()
    {
        Volatile.Write(ref s_framework, new Lazy<IReadOnlyList<MetadataReference>>(LoadFramework));
        Volatile.Write(ref s_all, NewAll());
    }

    private static Lazy<IReadOnlyList<MetadataReference>> NewAll() =>
        new(() => [.. Framework, FromLoadedAssembly(typeof(ReferenceAssemblies).Assembly)]);

    private static IReadOnlyList<MetadataReference> LoadFramework()
    {
        var references = new List<MetadataReference>();
        Assembly host = typeof(ReferenceAssemblies).Assembly;
        foreach (string name in host.GetManifestResourceNames().Where(n => n.StartsWith("ref/", StringComparison.Ordinal)))
        {
            using Stream stream = host.GetManifestResourceStream(name)!;
            references.Add(MetadataReference.CreateFromStream(stream, filePath: name));
        }

        if (references.Count == 0)
        {
            throw new InvalidOperationException("This server binary carries no reference assemblies, so it cannot compile game code.");
        }

        // The abstractions the game API's signatures use (the host itself is added in All). The game's types see
        // exactly these, and at run time they resolve to the very same loaded assemblies: one copy of every contract type.
        foreach (Assembly assembly in new[] { typeof(ILogger).Assembly, typeof(IConfiguration).Assembly, typeof(ConfigurationBinder).Assembly, typeof(IChangeToken).Assembly })
        {
            references.Add(FromLoadedAssembly(assembly));
        }

        return references;
    }

    private static unsafe MetadataReference FromLoadedAssembly(Assembly assembly)
    {
        if (!assembly.TryGetRawMetadata(out byte* blob, out int length))
        {
            throw new InvalidOperationException($"Cannot read the metadata of {assembly.GetName().Name}.");
        }

        // The blob belongs to an assembly that is never unloaded, so it stays valid for the life of the process.
        ModuleMetadata module = ModuleMetadata.CreateFromMetadata((nint)blob, length);
        return AssemblyMetadata.Create(module).GetReference(display: assembly.GetName().Name);
    }
}
