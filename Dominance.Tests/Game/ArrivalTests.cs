using System.Text.RegularExpressions;
using Dominance.Tests.Support;

namespace Dominance.Tests.Game;

/// <summary>
/// Who enters and leaves the realm is told to everyone online, but a storm of arrivals (everybody reconnecting after a
/// restart) must cost each player a few messages a second, not one per arrival: n arrivals, n players, O(n) messages.
/// The server's clock stands still in these tests, so "one second" is whatever the test says it is.
/// </summary>
public sealed partial class ArrivalTests
{
    [Test]
    public async Task ArrivalsPastFiveInASecondAreToldInOneSummaryAtTheEndOfThatSecond()
    {
        var clock = new ManualClock();
        await using TestServer server = await GameServer.StartAsync(clock: clock);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        clock.Advance(TimeSpan.FromSeconds(1)); // Alice's own arrival is in a second of its own

        var guests = new List<TelnetTestClient>();
        var names = new List<string>();
        try
        {
            for (int i = 0; i < 17; i++)
            {
                TelnetTestClient guest = await server.TelnetAsync();
                guests.Add(guest);
                await guest.SendAsync("connect guest");
                names.Add(WelcomedName(await guest.Lines.WaitForAsync("Welcome, ")));
            }

            // The first five, one by one, and nothing else about arrivals until the second is over.
            List<string> arrivals = await ArrivalLinesUntilAsync(alice, "score", "You hold");
            Assert.That(arrivals, Is.EqualTo(names.Take(5).Select(n => $"{n} has entered the realm.")));

            clock.Advance(TimeSpan.FromSeconds(1));
            await alice.SendAsync("score"); // wakes the game thread, which finds the summary due
            Assert.That(
                await alice.Lines.WaitForAsync("entered the realm"),
                Is.EqualTo($"{string.Join(", ", names.Skip(5).Take(10))} and 2 others have entered the realm."));

            // A new second: arrivals are told one by one again.
            clock.Advance(TimeSpan.FromSeconds(1));
            TelnetTestClient late = await server.TelnetAsync();
            guests.Add(late);
            await late.SendAsync("connect guest");
            string lateName = WelcomedName(await late.Lines.WaitForAsync("Welcome, "));
            Assert.That(await alice.Lines.WaitForAsync("entered the realm"), Is.EqualTo($"{lateName} has entered the realm."));
        }
        finally
        {
            foreach (TelnetTestClient guest in guests)
            {
                await guest.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task DeparturesPastFiveInASecondAreToldInOneSummary()
    {
        var clock = new ManualClock();
        await using TestServer server = await GameServer.StartAsync(clock: clock);
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        var names = new List<string>();
        for (int i = 0; i < 7; i++)
        {
            await using TelnetTestClient guest = await server.TelnetAsync();
            await guest.SendAsync("connect guest");
            names.Add(WelcomedName(await guest.Lines.WaitForAsync("Welcome, ")));
            await guest.SendAsync("quit");
            await guest.Lines.ClosedAsync();
        }

        // Each guest left before the next came, so the order is known: five told at once, two in the summary.
        List<string> departures = [];
        while (departures.Count < 5)
        {
            departures.Add(await alice.Lines.WaitForAsync("left the realm"));
        }

        Assert.That(departures, Is.EqualTo(names.Take(5).Select(n => $"{n} has left the realm.")));
        Assert.That(await ArrivalLinesUntilAsync(alice, "score", "You hold", "left the realm"), Is.Empty);

        clock.Advance(TimeSpan.FromSeconds(1));
        await alice.SendAsync("score");
        Assert.That(await alice.Lines.WaitForAsync("left the realm"), Is.EqualTo($"{names[5]} and {names[6]} have left the realm."));
    }

    /// <summary>Sends a command and returns the lines about arrivals (or <paramref name="about"/>) taken before its answer.</summary>
    private static async Task<List<string>> ArrivalLinesUntilAsync(TelnetTestClient client, string command, string answer, string about = "entered the realm")
    {
        await client.SendAsync(command);
        List<string> lines = [];
        while (await client.Lines.NextAsync() is { } line && !line.Contains(answer, StringComparison.Ordinal))
        {
            if (line.Contains(about, StringComparison.Ordinal))
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    private static string WelcomedName(string welcome) => WelcomeLine().Match(welcome).Groups[1].Value;

    [GeneratedRegex(@"Welcome, (Guest\d+)\.")]
    private static partial Regex WelcomeLine();
}
