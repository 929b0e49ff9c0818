using Dominance.Tests.Support;

// Test fixtures run two at a time (the tests of one fixture one after another). Most of a test is waiting: for a
// server, a child process, a browser, a socket. Run one by one the suite kept about one of this machine's two cores
// busy; two at a time it keeps both. A fixture that takes something every test shares away (the test run's PostgreSQL
// server) is [NonParallelizable]: it runs alone.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]

namespace Dominance.Tests;

/// <summary>Once for the whole test run: what the tests share is stopped at the end.</summary>
[SetUpFixture]
public sealed class TestRun
{
    [OneTimeTearDown]
    public Task StopPostgresAsync() => PostgresServer.StopSharedAsync();
}
