using System.Reflection;

namespace Dominance.Reload;

/// <summary>One C# source file of the game. <see cref="Path"/> is relative to the game folder, as errors show it.</summary>
internal sealed record SourceFile(string Path, string Text);

/// <summary>
/// Where the game's source comes from: a game folder on disk (watched and editable), or the default game embedded in
/// the server binary.
/// </summary>
internal sealed class GameSources
{
    private const string EmbeddedPrefix = "game/";

    private GameSources(string? folder) => Folder = folder;

    /// <summary>The embedded default game.</summary>
    public static GameSources Embedded { get; } = new(null);

    /// <summary>The game folder, or <see langword="null"/> for the embedded default game.</summary>
    public string? Folder { get; }

    /// <summary>A human name for logs: the folder path, or "the built-in game".</summary>
    public string Description => Folder ?? "the built-in game";

    /// <summary>A game folder on disk.</summary>
    public static GameSources FromFolder(string folder) => new(Path.GetFullPath(folder));

    /// <summary>Whether a path inside a game folder is game source (not build output or hidden tooling files).</summary>
    public static bool IsSourcePath(string relativePath)
    {
        if (!relativePath.EndsWith(".cs", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (string part in relativePath.Split(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar))
        {
            if (part.StartsWith('.') || part is "bin" or "obj")
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads every source file, in a stable order. I/O: never call on the game thread.</summary>
    public IReadOnlyList<SourceFile> Read()
    {
        if (Folder is null)
        {
            return ReadEmbedded();
        }

        if (!Directory.Exists(Folder))
        {
            throw new DirectoryNotFoundException($"The game folder '{Folder}' does not exist.");
        }

        var files = new List<SourceFile>();
        foreach (string path in Directory.EnumerateFiles(Folder, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = System.IO.Path.GetRelativePath(Folder, path);
            if (IsSourcePath(relative))
            {
                files.Add(new SourceFile(relative, ReadShared(path)));
            }
        }

        return files;
    }

    /// <summary>Writes the embedded default game's sources into <paramref name="folder"/> (for <c>dominance init</c>).</summary>
    public static IReadOnlyList<string> WriteEmbedded(string folder)
    {
        var written = new List<string>();
        foreach (SourceFile file in ReadEmbedded())
        {
            string path = System.IO.Path.Combine(folder, file.Path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            File.WriteAllText(path, file.Text);
            written.Add(path);
        }

        return written;
    }

    private static IReadOnlyList<SourceFile> ReadEmbedded()
    {
        Assembly host = typeof(GameSources).Assembly;
        var files = new List<SourceFile>();
        foreach (string name in host.GetManifestResourceNames().Where(n => n.StartsWith(EmbeddedPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(host.GetManifestResourceStream(name)!);
            files.Add(new SourceFile(name[EmbeddedPrefix.Length..].Replace('\\', '/'), reader.ReadToEnd()));
        }

        return files;
    }

    private static string ReadShared(string path)
    {
        // Editors may still hold the file open for writing; read without locking it out.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
