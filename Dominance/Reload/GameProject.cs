using System.Text;

namespace Dominance.Reload;

/// <summary>
/// The files that make a game folder a C# project for editors and <c>dotnet build</c>: <c>&lt;name&gt;.csproj</c>, the game
/// API's reference assembly in <c>lib/</c>, a <c>.gitignore</c> and a README. The server does not read them: it compiles
/// the folder's <c>.cs</c> files itself, with the same implicit usings and language version as the project file names.
/// </summary>
internal static class GameProject
{
    /// <summary>Where the reference assembly goes, relative to the game folder.</summary>
    public const string LibraryFolder = "lib";

    /// <summary>Writes the project files into <paramref name="folder"/>; returns the paths written.</summary>
    public static IReadOnlyList<string> Write(string folder)
    {
        string name = ProjectName(folder);
        var written = new List<string>
        {
            WriteText(folder, name + ".csproj", ProjectFile()),
            WriteText(folder, ".gitignore", GitIgnore),
            WriteText(folder, "README.md", Readme(name)),
        };
        ApiReferenceAssembly.Write(Path.Combine(folder, LibraryFolder));
        written.Add(Path.Combine(folder, LibraryFolder, ApiReferenceAssembly.Name + ".dll"));
        return written;
    }

    /// <summary>The project's name: the folder's, made a valid MSBuild file name.</summary>
    private static string ProjectName(string folder)
    {
        string name = new DirectoryInfo(folder).Name;
        return name.Length == 0 || name.Any(c => !char.IsLetterOrDigit(c) && c is not ('-' or '_' or '.')) ? "game" : name;
    }

    private static string ProjectFile()
    {
        var usings = new StringBuilder();
        foreach (string ns in GameCompiler.ImplicitNamespaces)
        {
            usings.Append($"    <Using Include=\"{ns}\" />\n");
        }

        return $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <!-- For editors and `dotnet build` only: the Dominance server compiles this folder's .cs files itself (it needs
                   no SDK), with the same language version, nullable context and implicit usings as this file sets. -->
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <LangVersion>latest</LangVersion>
                <Nullable>enable</Nullable>
                <ImplicitUsings>disable</ImplicitUsings>
                <OutputType>Library</OutputType>
              </PropertyGroup>

              <ItemGroup>
            {usings}  </ItemGroup>

              <ItemGroup>
                <!-- The game API (IGameModule, IGameContext, ...), written by `dominance init` from the server's own API. -->
                <Reference Include="{ApiReferenceAssembly.Name}" HintPath="{LibraryFolder}/{ApiReferenceAssembly.Name}.dll" Private="false" />
                <!-- ILogger and IConfiguration, which IGameContext hands the game. -->
                <FrameworkReference Include="Microsoft.AspNetCore.App" />
              </ItemGroup>
            </Project>

            """;
    }

    private const string GitIgnore = """
        # dotnet build output (the server does not use it)
        bin/
        obj/
        # the server's compile cache
        .dominance/
        # the SQLite database: accounts (password hashes) and world saves
        *.db
        *.db-wal
        *.db-shm
        *.db.rescued-*

        """;

    private static string Readme(string name) => $"""
        # {name}

        A game for the Dominance server: every `.cs` file in this folder is compiled by the server.

        ```sh
        dominance run .        # serve it: telnet 127.0.0.1 4000, or http://127.0.0.1:4001/
        ```

        Save a `.cs` file while it runs and the next command runs the new code; players stay connected and keep their
        state. Compile errors and warnings go to the server log and to every admin in the game.

        - `{name}.csproj` is for editors (completion, errors) and `dotnet build`; the server does not need it, nor a .NET SDK.
        - `lib/Dominance.Api.dll` is the game API, written by `dominance init` from the server that made this folder.
        - `appsettings.json` holds the settings; the `Game` section is the game's own (`IGameContext.Settings`).

        """;

    private static string WriteText(string folder, string file, string text)
    {
        string path = Path.Combine(folder, file);
        File.WriteAllText(path, text);
        return path;
    }
}
