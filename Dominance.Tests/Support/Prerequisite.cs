namespace Dominance.Tests.Support;

/// <summary>
/// Something a test needs from the machine (Chromium, PostgreSQL, the right to mount a small file system). Where it is
/// missing the test is skipped, with the reason; under CI (<c>DOMINANCE_REQUIRE_ALL=1</c>, set by <c>.ci/run</c>, which
/// installs everything) a missing prerequisite fails the test instead.
/// </summary>
internal static class Prerequisite
{
    public static void Missing(string message)
    {
        if (Environment.GetEnvironmentVariable("DOMINANCE_REQUIRE_ALL") == "1")
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
    }
}
