using Dominance.Tests.Support;

// Test fixtures run two at a time (the tests of one fixture one after another). Most of a test is waiting: for a
// server, a child process, a browser, a socket. Run one by one the suite kept about one of this machine's two cores
// busy; two at a time it keeps both. A fixture that takes something every test shares away (the test run's PostgreSQL
// server) is [NonParallelizable]: it runs alone.
// So is a fixture that reads a server's metrics: OpenTelemetry listens to every Meter of the name "Dominance" in the
// process, so two servers in this process would each export the other's counts, and a series disappears from both
// when the other server stops (checked: with two servers in one process, a telnet client on one shows as a telnet
// session in the other's /metrics; and a load-tool test once read /metrics without dominance_deliveries_total).
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
