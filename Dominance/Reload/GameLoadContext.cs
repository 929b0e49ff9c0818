using System.Reflection;
using System.Runtime.Loader;
using Dominance.Api;

namespace Dominance.Reload;

/// <summary>
/// A collectible load context for one generation of the game code. It resolves nothing itself, so every assembly the
/// game references, the game API above all, comes from the host's default context: there is exactly one copy of each
/// contract type, and the game's own types are the only thing unloading frees.
/// </summary>
internal sealed class GameLoadContext(int generation) : AssemblyLoadContext($"game-{generation}", isCollectible: true)
{
    /// <summary>The generation this context holds.</summary>
    public int Generation { get; } = generation;

    /// <summary>
    /// Loads a compiled game and finds its module: the one public, non-abstract class implementing
    /// <see cref="IGameModule"/> with a public parameterless constructor. Throws <see cref="GameLoadException"/> with a
    /// clear message if there is none or more than one.
    /// </summary>
    public Type LoadModuleType(byte[] image, byte[]? symbols)
    {
        using var imageStream = new MemoryStream(image);
        using var symbolStream = symbols is null ? null : new MemoryStream(symbols);
        Assembly assembly = LoadFromStream(imageStream, symbolStream);
        Type[] modules = [.. assembly.GetExportedTypes().Where(t => t.IsClass && !t.IsAbstract && typeof(IGameModule).IsAssignableFrom(t))];
        return modules switch
        {
            [] => throw new GameLoadException("The game has no public class implementing IGameModule."),
            [Type one] when one.GetConstructor(Type.EmptyTypes) is null => throw new GameLoadException($"{one.FullName} needs a public parameterless constructor."),
            [Type one] => one,
            _ => throw new GameLoadException($"The game has more than one IGameModule: {string.Join(", ", modules.Select(m => m.FullName))}. Keep one."),
        };
    }

    /// <summary>
    /// Loads a snippet (<c>eval</c>) compiled against this generation's game, and returns its entry point. It stays
    /// loaded as long as the generation does, and is unloaded with it.
    /// </summary>
    public Func<object, object?> LoadSnippet(byte[] image, string typeName, string methodName)
    {
        using var stream = new MemoryStream(image);
        Assembly snippet = LoadFromStream(stream);
        return snippet.GetType(typeName, throwOnError: true)!.GetMethod(methodName)!.CreateDelegate<Func<object, object?>>();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The game's own assembly, for snippets that reference it (looked up, not kept in a field: nothing here may hold
    /// the context's code beyond what the runtime holds); everything else comes from the host.
    /// </remarks>
    protected override Assembly? Load(AssemblyName assemblyName) =>
        Assemblies.FirstOrDefault(loaded => string.Equals(loaded.GetName().Name, assemblyName.Name, StringComparison.Ordinal));
}

/// <summary>A compiled game that cannot be used (no module class, or several).</summary>
internal sealed class GameLoadException(string message) : Exception(message);
