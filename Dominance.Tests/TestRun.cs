using Dominance.Tests.Support;

namespace Dominance.Tests;

/// <summary>Once for the whole test run: what the tests share is stopped at the end.</summary>
[SetUpFixture]
public sealed class TestRun
{
    [OneTimeTearDown]
    public Task StopPostgresAsync() => PostgresServer.StopSharedAsync();
}
