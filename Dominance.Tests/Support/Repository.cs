namespace Dominance.Tests.Support;

/// <summary>The checkout the tests run from.</summary>
internal static class Repository
{
    /// <summary>The folder holding <c>Dominance.sln</c>, above the test binaries.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dominance.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The tests do not run from inside the repository.");
    }
}
