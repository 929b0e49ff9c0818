using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Dominance.Reload;

/// <summary>
/// Compiled games on disk, so that a server started on an unchanged game loads it instead of compiling it (and does not
/// even load the compiler). An entry is keyed by the game's sources, the generation (the assembly's name), the server's
/// game API and the compiler: any change to one of them is a different key.
/// </summary>
/// <remarks>
/// A game folder keeps its cache in <c>.dominance/cache</c> inside it (the watcher and the compiler skip hidden folders);
/// the built-in game keeps it in <c>$XDG_CACHE_HOME/dominance</c> (or <c>~/.cache/dominance</c>). Entries are written to a
/// temporary file and renamed into place, so a reader never sees half of one; the newest <see cref="Kept"/> are kept.
/// The cache is an optimisation: any failure to read or write it is ignored, and the game is compiled.
/// </remarks>
internal sealed class CompileCache
{
    /// <summary>How many entries (compiled games) a cache folder keeps; the least recently written go first.</summary>
    public const int Kept = 8;

    /// <summary>
    /// What else a build depends on: the server's own build (its game API and reference assemblies) and the compiler's.
    /// A module version id changes with every different build of an assembly. The compiler is named by the package version
    /// the server was built with (an assembly attribute), not read from Roslyn itself: a start that finds its build here
    /// does not load the compiler at all.
    /// </summary>
    private static readonly string s_toolchain =
        $"{typeof(CompileCache).Module.ModuleVersionId}/Roslyn {typeof(CompileCache).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RoslynVersion").Value}";

    private CompileCache(string folder) => Folder = folder;

    /// <summary>Where the entries are.</summary>
    public string Folder { get; }

    /// <summary>The cache for a game's sources, or <see langword="null"/> if there is nowhere to keep one.</summary>
    public static CompileCache? For(GameSources sources)
    {
        if (sources.Folder is { } folder)
        {
            return new CompileCache(Path.Combine(folder, ".dominance", "cache"));
        }

        string? root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? Path.Combine(home, ".cache")
            : null;
        return root is null ? null : new CompileCache(Path.Combine(root, "dominance"));
    }

    /// <summary>The key of a build: a SHA-256 over the toolchain, the generation and every file's path and text, in order.</summary>
    public static string KeyOf(IReadOnlyList<SourceFile> files, int generation)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, s_toolchain);
        Append(hash, generation.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (SourceFile file in files)
        {
            Append(hash, file.Path);
            Append(hash, file.Text);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The assembly, symbols and compiler warnings stored under <paramref name="key"/>, if there are.</summary>
    public bool TryRead(string key, out byte[] assembly, out byte[]? symbols, out IReadOnlyList<string> warnings)
    {
        warnings = [];
        symbols = null;
        try
        {
            assembly = File.ReadAllBytes(PathOf(key, ".dll"));
            string pdb = PathOf(key, ".pdb");
            symbols = File.Exists(pdb) ? File.ReadAllBytes(pdb) : null;
            string notes = PathOf(key, ".warnings");
            warnings = File.Exists(notes) ? File.ReadAllLines(notes) : [];
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            assembly = [];
            return false;
        }
    }

    /// <summary>Stores a build under <paramref name="key"/>; failures are ignored (the cache only saves time).</summary>
    public void Write(string key, byte[] assembly, byte[]? symbols, IReadOnlyList<string> warnings)
    {
        try
        {
            Directory.CreateDirectory(Folder);
            if (symbols is not null)
            {
                WriteAtomically(PathOf(key, ".pdb"), symbols);
            }

            if (warnings.Count > 0)
            {
                WriteAtomically(PathOf(key, ".warnings"), Encoding.UTF8.GetBytes(string.Join('\n', warnings)));
            }

            WriteAtomically(PathOf(key, ".dll"), assembly); // last: an entry exists once its assembly does
            Prune();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only folder or a full disk: the next start compiles.
        }
    }

    /// <summary>Removes an entry that could not be loaded.</summary>
    public void Remove(string key)
    {
        try
        {
            File.Delete(PathOf(key, ".dll"));
            File.Delete(PathOf(key, ".pdb"));
            File.Delete(PathOf(key, ".warnings"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private string PathOf(string key, string extension) => Path.Combine(Folder, key + extension);

    private void Prune()
    {
        foreach (FileInfo old in new DirectoryInfo(Folder).EnumerateFiles("*.dll").OrderByDescending(f => f.LastWriteTimeUtc).Skip(Kept))
        {
            Remove(Path.GetFileNameWithoutExtension(old.Name));
        }
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        string temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    private static void Append(IncrementalHash hash, string text)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(text));
        hash.AppendData([0]);
    }
}
