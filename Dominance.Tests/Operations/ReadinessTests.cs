using System.Net;
using System.Text.Json;
using Dominance.Tests.Support;

namespace Dominance.Tests.Operations;

/// <summary><c>/healthz</c> (liveness) and <c>/readyz</c> (readiness: the game started, the database answers).</summary>
[NonParallelizable] // stops the test run's PostgreSQL server, which other fixtures use
public sealed class ReadinessTests
{
    [Test]
    public async Task ReadyzFailsWhileTheDatabaseIsDownAndPassesWhenItIsBackWhileHealthzStaysOk()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.PostgreSQL);
        await using TestServer server = await GameServer.StartAsync(database.Configure);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.Http}/") };

        (HttpStatusCode ready, string body) = await GetAsync(http, "readyz");
        Assert.That(ready, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(body, Does.Contain("\"store\":{\"status\":\"healthy\""));

        await database.Postgres!.StopAsync();
        try
        {
            await Poll.UntilAsync(async () => (await GetAsync(http, "readyz")).Status == HttpStatusCode.ServiceUnavailable, "/readyz fails with the database down");
            (_, body) = await GetAsync(http, "readyz");
            Assert.That(body, Does.Contain("\"store\":{\"status\":\"unhealthy\",\"description\":\"The database does not answer: "), body);
            Assert.That(body, Does.Contain("\"game\":{\"status\":\"healthy\""), "the game itself goes on");
            (HttpStatusCode live, string health) = await GetAsync(http, "healthz");
            Assert.That(live, Is.EqualTo(HttpStatusCode.OK), "a database outage does not make the server dead: " + health);
        }
        finally
        {
            await database.Postgres.StartAsync();
        }

        await Poll.UntilAsync(async () => (await GetAsync(http, "readyz")).Status == HttpStatusCode.OK, "/readyz passes with the database back");
    }

    [Test]
    public async Task HealthzKeepsItsJsonDocument()
    {
        await using TestServer server = await GameServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.Http}/") };

        (HttpStatusCode status, string body) = await GetAsync(http, "healthz");

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        using JsonDocument health = JsonDocument.Parse(body);
        Assert.That(health.RootElement.GetProperty("status").GetString(), Is.EqualTo("ok"));
        Assert.That(health.RootElement.GetProperty("sessions").GetInt32(), Is.Zero);
        Assert.That(health.RootElement.GetProperty("runtime").GetProperty("allocatedBytes").GetInt64(), Is.Positive);
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string path)
    {
        using HttpResponseMessage response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
