using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dominance.Tests.Support;

namespace Dominance.Tests.Operations;

/// <summary>The server's meter as any listener sees it (as <c>dotnet-counters</c> does): the login outcomes, with their tags.</summary>
public sealed class ServerMetricsTests
{
    [Test]
    public async Task LoginsAreCountedBySucceededFailedAndThrottled()
    {
        await using TestServer server = await GameServer.StartAsync(s => s.Accounts.LoginFailureLimit = 2);
        var logins = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        Meter meter = server.Server.Metrics.Meter;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter && instrument.Name == "dominance.logins")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                logins.AddOrUpdate((string)tag.Value!, value, (_, total) => total + value);
            }
        });
        listener.Start();

        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient other = await server.TelnetAsync();
        await other.Lines.WaitForAsync("for everything else.");
        await other.DoAsync("connect Alice wrong-one", "Wrong name or password.");
        await other.DoAsync("connect Alice wrong-two", "Wrong name or password.");
        await other.DoAsync("connect Alice wrong-three", "Too many failed logins");

        Assert.That(logins.GetValueOrDefault("failed"), Is.EqualTo(2));
        Assert.That(logins.GetValueOrDefault("throttled"), Is.EqualTo(1));
        Assert.That(logins.GetValueOrDefault("succeeded"), Is.Zero);
        Assert.That(server.Server.Metrics.Meter.Name, Is.EqualTo("Dominance"), "dotnet-counters --counters Dominance reads it");
    }
}
