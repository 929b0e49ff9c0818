using Dominance.Tests.Support;

namespace Dominance.Tests.Game;

/// <summary>
/// A short game between two telnet players, step by step, compared line for line with what each of them should have
/// seen. The seed is fixed, so homes and battles are the same every run.
/// </summary>
public sealed class ScriptedGameTests
{
    [Test]
    public async Task TwoPlayersPlayAShortGame()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.TelnetAsync();
        await using TelnetTestClient bob = await server.TelnetAsync();
        await alice.Lines.WaitForAsync("for everything else.");
        await bob.Lines.WaitForAsync("for everything else.");

        // Each step waits for its last line in every client that sees it, so both transcripts are deterministic.
        await Step(alice, "create Alice secret1", (alice, "Exits:"));
        await Step(bob, "create Bob hunter22", (bob, "Exits:"), (alice, "Bob has entered the realm."));
        await Step(alice, "chat Good morning, Bob!", (alice, "Good morning"), (bob, "Good morning"));
        await Step(bob, "tell Alice Morning. Nice hills you have.", (bob, "You tell"), (alice, "tells you"));
        await Step(alice, "train 10", (alice, "You train"));
        await Step(alice, "attack Ravenspire 15", (alice, "You send"));
        await Step(alice, "tick", (alice, "[war]"), (bob, "[war]"));
        await Step(bob, "score", (bob, "2. Bob"));
        await Step(alice, "north", (alice, "Exits:"));
        await Step(alice, "quit", (alice, "Farewell"), (bob, "Alice has left the realm."));

        Assert.That(Transcript(alice), Is.EqualTo("""
            Your account Alice is ready. It is an admin account.
            Welcome, Alice. You are an admin.
            Goldcrest
            Held by you with 5 soldiers. It yields 12 resources a tick.
            Nobody else is here.
            Exits: north to Ravenspire, south to Sunreach, west to Stonebridge.
            Bob has entered the realm.
            [chat] Alice: Good morning, Bob!
            Bob tells you: Morning. Nice hills you have.
            You train 10 soldiers in Goldcrest for 100 resources. It now holds 15; you have 0 resources left.
            You send 15 soldiers from Goldcrest against Ravenspire. The battle is fought at the next tick.
            Victory! You have taken Ravenspire (15 attacked, 4 defended); 9 of your soldiers hold it.
            [war] Alice has conquered Ravenspire.
            Ravenspire
            Held by you with 9 soldiers. It yields 6 resources a tick.
            Nobody else is here.
            Exits: south to Goldcrest, west to Ironhold.
            Farewell, Alice. Your territories await your return.
            """));
        Assert.That(Transcript(bob), Is.EqualTo("""
            Your account Bob is ready.
            Welcome, Bob.
            Thornwood
            Held by you with 5 soldiers. It yields 7 resources a tick.
            Nobody else is here.
            Exits: north to Stonebridge, south to Emberfall, east to Sunreach, west to Redmarch.
            [chat] Alice: Good morning, Bob!
            You tell Alice: Morning. Nice hills you have.
            [war] Alice has conquered Ravenspire.
            You hold 1 territory: Thornwood.
            Resources: 107. Score: 115.
            Leaderboard
               1. Alice               210
               2. Bob                 115
            Alice has left the realm.
            """));
    }

    private static async Task Step(TelnetTestClient actor, string command, params (TelnetTestClient Client, string Last)[] waits)
    {
        await actor.SendAsync(command);
        foreach ((TelnetTestClient client, string last) in waits)
        {
            await client.Lines.WaitForAsync(last);
        }
    }

    /// <summary>What a client saw after the welcome banner.</summary>
    private static string Transcript(TelnetTestClient client) =>
        string.Join("\n", client.Lines.Seen.SkipWhile(l => !l.StartsWith("Type help", StringComparison.Ordinal)).Skip(1));
}
