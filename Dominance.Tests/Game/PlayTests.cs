using System.Text.RegularExpressions;
using Dominance.Tests.Support;
using static Dominance.Portal.Telnet.TelnetCodes;

namespace Dominance.Tests.Game;

/// <summary>The built-in game's commands, each on its success path and its error paths.</summary>
public sealed partial class PlayTests
{
    [Test]
    public async Task LookDescribesTheTerritoryAndItsExits()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.SendAsync("look");
        string name = await alice.Lines.WaitForAsync(line => s_territories.Contains(line));
        Assert.That(await alice.Lines.NextAsync(), Does.Match(@"^Held by you with 5 soldiers\. It yields \d+ resources a tick\.$"));
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("Nobody else is here."));
        Assert.That(await alice.Lines.NextAsync(), Does.StartWith("Exits: "));
        await alice.SendAsync("l");
        Assert.That(await alice.Lines.WaitForAsync(line => line == name), Is.EqualTo(name), "l is look");
    }

    [Test]
    public async Task LookNamesTenPlayersHereAndCountsTheRest()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        (string home, _, _) = await FirstExitAsync(alice);

        var guests = new List<TelnetTestClient>();
        try
        {
            for (int i = 0; i < 12; i++)
            {
                TelnetTestClient guest = await server.TelnetAsync();
                guests.Add(guest);
                await guest.DoAsync("connect guest", "Welcome, ");
                await guest.Lines.WaitForAsync("Exits:"); // the look that entering shows, so that GoToAsync reads only its own
                await GoToAsync(guest, home);
            }

            await alice.SendAsync("look");
            string here = await alice.Lines.WaitForAsync("Here: ");
            for (string next = await alice.Lines.NextAsync(); !next.StartsWith("Exits: ", StringComparison.Ordinal); next = await alice.Lines.NextAsync())
            {
                here += " " + next.Trim(); // the line is wrapped to the client's window
            }

            here = GameColours().Replace(here, "");
            Match listed = Regex.Match(here, @"^Here: (.+) and (\d+) others\.$");
            Assert.That(listed.Success, Is.True, here);
            Assert.That(listed.Groups[1].Value.Split(", "), Has.Length.EqualTo(10), "ten names");
            Assert.That(listed.Groups[2].Value, Is.EqualTo("2"), "then how many others");
            Assert.That(here, Does.Not.Contain("Alice"), "not the one who looks");
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
    public async Task MovingByDirectionOrNameTellsTheNeighbours()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        (string home, string direction, string neighbour) = await FirstExitAsync(alice);

        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await GoToAsync(bob, home);
        await alice.Lines.WaitForAsync("Bob arrives from the");
        await alice.SendAsync(direction);
        Assert.That(await alice.Lines.WaitForAsync(line => line == neighbour), Is.EqualTo(neighbour));
        Assert.That(await bob.Lines.WaitForAsync("Alice leaves"), Is.EqualTo($"Alice leaves {direction}."));
        await alice.SendAsync("go " + home);
        Assert.That(await alice.Lines.WaitForAsync(line => line == home), Is.EqualTo(home), "by the destination's name");

        Assert.That(await alice.DoAsync("go nowhere", "can't go"), Does.StartWith($"You can't go 'nowhere' from {home}. Exits: "));
        Assert.That(await alice.DoAsync("go", "Usage"), Is.EqualTo("Usage: go <direction or territory>"));
    }

    [Test]
    public async Task TheMapShowsEveryTerritoryAndWhoHoldsIt()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.SendAsync("map");
        Assert.That(await alice.Lines.NextAsync(), Does.StartWith("The realm at tick 0. You are in "));
        string[] rows = [await alice.Lines.NextAsync(), await alice.Lines.NextAsync(), await alice.Lines.NextAsync(), await alice.Lines.NextAsync()];
        Assert.That(string.Join(" ", rows), Does.Contain("Frostpeak").And.Contain("Wolfden").And.Contain("*"));
        Assert.That(await alice.Lines.NextAsync(), Does.Match(@"^ Alice: \w+$"));
    }

    [Test]
    public async Task SayReachesTheTerritoryChatTheRealmAndTellOnePlayer()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await using TelnetTestClient carol = await server.CreateAsync("Carol");
        (string home, _, _) = await FirstExitAsync(alice);
        await GoToAsync(bob, home);

        await alice.SendAsync("say hello neighbour");
        Assert.That(await alice.Lines.WaitForAsync("You say"), Is.EqualTo("You say: hello neighbour"));
        Assert.That(await bob.Lines.WaitForAsync("says:"), Is.EqualTo("Alice says: hello neighbour"));
        await alice.SendAsync("'quoted");
        Assert.That(await bob.Lines.WaitForAsync("says:"), Is.EqualTo("Alice says: quoted"));

        await alice.SendAsync("chat hello realm");
        Assert.That(await carol.Lines.WaitForAsync("[chat]"), Is.EqualTo("[chat] Alice: hello realm"));
        Assert.That(carol.Lines.Seen.Any(l => l.Contains("hello neighbour", StringComparison.Ordinal)), Is.False, "say stays in its territory");

        await alice.SendAsync("tell carol psst");
        Assert.That(await carol.Lines.WaitForAsync("tells you"), Is.EqualTo("Alice tells you: psst"));
        Assert.That(await alice.Lines.WaitForAsync("You tell"), Is.EqualTo("You tell Carol: psst"));

        Assert.That(await alice.DoAsync("say", "Usage"), Is.EqualTo("Say what? Usage: say <text>"));
        Assert.That(await alice.DoAsync("chat", "Usage"), Is.EqualTo("Chat what? Usage: chat <text>"));
        Assert.That(await alice.DoAsync("tell", "Usage"), Is.EqualTo("Tell whom? Usage: tell <player> <text>"));
        Assert.That(await alice.DoAsync("tell carol", "Usage"), Is.EqualTo("Tell them what? Usage: tell <player> <text>"));
        Assert.That(await alice.DoAsync("tell Zed hi", "No player"), Is.EqualTo("No player named 'Zed' is playing now. Type who to see who is."));
    }

    [Test]
    public async Task WhoListsThePlayers()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient nobody = await server.TelnetAsync();
        Assert.That(await nobody.DoAsync("who", "Nobody"), Is.EqualTo("Nobody is playing yet."));
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        Assert.That(await nobody.DoAsync("who", "Playing now"), Is.EqualTo("Playing now (2):"));
        Assert.That(await nobody.Lines.NextAsync(), Does.StartWith("  Alice (admin) in "));
        Assert.That(await nobody.Lines.NextAsync(), Does.StartWith("  Bob in "));
    }

    [Test]
    public async Task TrainingTurnsResourcesIntoSoldiersWhereYouRule()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        Assert.That(await alice.DoAsync("train 3", "You train"), Does.Match(@"^You train 3 soldiers in \w+ for 30 resources\. It now holds 8; you have 70 resources left\.$"));
        Assert.That(await alice.DoAsync("train 8", "cost"), Is.EqualTo("8 soldiers cost 80 resources; you have 70. You can afford 7."));
        Assert.That(await alice.DoAsync("train lots", "Usage"), Is.EqualTo("'lots' is not a number of soldiers. Usage: train <soldiers>"));
        Assert.That(await alice.DoAsync("train -2", "Usage"), Is.EqualTo("'-2' is not a number of soldiers. Usage: train <soldiers>"));
        Assert.That(await alice.DoAsync("train", "Usage"), Is.EqualTo("Train how many? Usage: train <soldiers>"));
        (_, string direction, string neighbour) = await FirstExitAsync(alice);
        await alice.SendAsync(direction);
        await alice.Lines.WaitForAsync("Exits:");
        Assert.That(await alice.DoAsync("train 1", "only train"), Is.EqualTo($"You can only train soldiers in a territory you hold, and {neighbour} is not yours."));
    }

    [Test]
    public async Task AttackOrdersAreCheckedThenQueuedForTheTick()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        (string home, _, string neighbour) = await FirstExitAsync(alice);
        Assert.That(await alice.DoAsync("attack", "Usage"), Is.EqualTo("Attack what? Usage: attack <territory> <soldiers>"));
        Assert.That(await alice.DoAsync($"attack {neighbour}", "Usage"), Is.EqualTo("With how many soldiers? Usage: attack <territory> <soldiers>"));
        Assert.That(await alice.DoAsync($"attack {neighbour} many", "Usage"), Is.EqualTo("'many' is not a number of soldiers. Usage: attack <territory> <soldiers>"));
        Assert.That(await alice.DoAsync("attack Atlantis 1", "not a neighbour"), Does.StartWith($"Atlantis is not a neighbour of {home}. You can attack "));
        Assert.That(await alice.DoAsync($"attack {home} 1", "already hold"), Is.EqualTo($"You already hold {home}."));
        Assert.That(await alice.DoAsync($"attack {neighbour} 6", "only"), Is.EqualTo($"{home} has only 5 soldiers."));
        Assert.That(await alice.DoAsync($"attack {neighbour} 2", "You send"), Is.EqualTo($"You send 2 soldiers from {home} against {neighbour}. The battle is fought at the next tick."));
        await alice.SendAsync("go " + neighbour);
        await alice.Lines.WaitForAsync("Exits:");
        Assert.That(await alice.DoAsync($"attack {home} 1", "only attack"), Is.EqualTo($"You can only attack from a territory you hold, and {neighbour} is not yours."));
    }

    [Test]
    public async Task ABattleIsResolvedOnTheTickAndTheSameSeedFightsItTheSameWay()
    {
        string first = await FightAsync();
        string second = await FightAsync();
        Assert.That(second, Is.EqualTo(first), "same seed, same battle");
        Assert.That(first, Does.Contain("Victory! You have taken"));
    }

    [Test]
    public async Task TheTickPaysEveryTerritoryItsYield()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.SendAsync("look");
        int yield = int.Parse(YieldOf().Match(await alice.Lines.WaitForAsync("It yields")).Groups[1].Value);
        await alice.SendAsync("tick");
        string score = await alice.DoAsync("score", "Resources:");
        Assert.That(score, Does.StartWith($"Resources: {100 + yield}."));
    }

    [Test]
    public async Task ScoreShowsHoldingsAndALeaderboard()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await bob.DoAsync("train 5", "You train");
        await alice.SendAsync("score");
        Assert.That(await alice.Lines.WaitForAsync("You hold"), Does.Match(@"^You hold 1 territory: \w+\.$"));
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("Resources: 100. Score: 115."));
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("Leaderboard"));
        Assert.That(await alice.Lines.NextAsync(), Does.Match(@"^\s+1\. Alice\s+115$"));
        Assert.That(await alice.Lines.NextAsync(), Does.Match(@"^\s+2\. Bob\s+115$"), "ties go alphabetically");
    }

    [Test]
    public async Task HelpIsGeneratedFromTheCommandsAndUnknownCommandsGetAHint()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await bob.SendAsync("help");
        Assert.That(await bob.Lines.NextAsync(), Is.EqualTo("Commands:"));
        string help = string.Join("\n", await TakeUntilAsync(bob, "help <command>"));
        Assert.That(help, Does.Contain("attack <territory> <soldiers>").And.Contain("tell <player> <text>").And.Not.Contain("announce"), "admin commands are for admins");
        await alice.SendAsync("help");
        Assert.That(string.Join("\n", await TakeUntilAsync(alice, "help <command>")), Does.Contain("announce <text>"));

        await bob.SendAsync("help look");
        Assert.That(await bob.Lines.NextAsync(), Is.EqualTo("look"));
        Assert.That(await bob.Lines.NextAsync(), Is.EqualTo("Describe the territory you are in."));
        Assert.That(await bob.Lines.NextAsync(), Is.EqualTo("Also: l"));
        Assert.That(await bob.DoAsync("help flying", "There is no"), Is.EqualTo("There is no command 'flying'. Type help for the list."));
        Assert.That(await bob.DoAsync("help kick", "There is no"), Is.EqualTo("There is no command 'kick'. Type help for the list."));
        Assert.That(await bob.DoAsync("atack", "Unknown"), Is.EqualTo("Unknown command 'atack'. Did you mean attack? Type help for the list."));
        Assert.That(await bob.DoAsync("xyzzy", "Unknown"), Is.EqualTo("Unknown command 'xyzzy'. Type help for the list."));
    }

    [Test]
    public async Task CommandsNeedTheRightStanding()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient stranger = await server.TelnetAsync();
        Assert.That(await stranger.DoAsync("look", "not playing"), Is.EqualTo("You are not playing yet. Type create <name> <password>, connect <name> <password> or connect guest."));
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        foreach (string admin in new[] { "announce hi", "kick Alice", "reload", "tick", "shutdown" })
        {
            Assert.That(await bob.DoAsync(admin, "Only"), Is.EqualTo("Only admins can do that."), admin);
        }
    }

    [Test]
    public async Task AdminsAnnounceKickAndTick()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using TelnetTestClient bob = await server.CreateAsync("Bob");
        await using TelnetTestClient stranger = await server.TelnetAsync();
        await stranger.Lines.WaitForAsync("for everything else."); // the game has it: its connect went in before Alice's announce
        await alice.SendAsync("announce the realm rejoices");
        Assert.That(await bob.Lines.WaitForAsync("[announcement]"), Is.EqualTo("[announcement] the realm rejoices"));
        Assert.That(await stranger.Lines.WaitForAsync("[announcement]"), Is.EqualTo("[announcement] the realm rejoices"), "to everyone connected");

        Assert.That(await alice.DoAsync("kick", "Usage"), Is.EqualTo("Kick whom? Usage: kick <player>"));
        Assert.That(await alice.DoAsync("kick Zed", "No player"), Is.EqualTo("No player named 'Zed' is playing now."));
        Assert.That(await alice.DoAsync("kick bob", "Kicked"), Is.EqualTo("Kicked Bob."));
        Assert.That(await bob.Lines.WaitForAsync("kicked"), Is.EqualTo("You have been kicked by Alice."));
        await bob.Lines.ClosedAsync();
        Assert.That(await alice.DoAsync("announce", "Usage"), Is.EqualTo("Announce what? Usage: announce <text>"));
    }

    [Test]
    public async Task AdminsReloadTheGameWhilePlayersKeepTheirState()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await alice.DoAsync("train 2", "You train");
        Assert.That(await alice.DoAsync("reload", "Recompiling"), Is.EqualTo("Recompiling the game code; the result follows."));
        Assert.That(await alice.Lines.WaitForAsync("[reload]"), Does.StartWith("[reload] Generation 2 is live (the reload command"));
        Assert.That(await alice.DoAsync("score", "Resources"), Is.EqualTo("Resources: 80. Score: 115."), "state carried over");
    }

    [Test]
    public async Task AdminsShutTheServerDownGracefully()
    {
        TestServer server = await GameServer.StartAsync();
        try
        {
            await using TelnetTestClient alice = await server.CreateAsync("Alice");
            await using TelnetTestClient bob = await server.CreateAsync("Bob");
            await alice.SendAsync("shutdown");
            Assert.That(await bob.Lines.WaitForAsync("[announcement]"), Is.EqualTo("[announcement] Alice is shutting the server down."));
            Assert.That(await bob.Lines.WaitForAsync("shutting down"), Is.EqualTo(Dominance.Hosting.ServerLifetime.ShutdownMessage));
            await bob.Lines.ClosedAsync();
            await Poll.UntilAsync(() => server.Server.Stopping.IsCancellationRequested, "the server is stopping");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Test]
    public async Task MapDataGoesOnlyToClientsThatAskedForGmcp()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient plain = await server.TelnetAsync();
        await using TelnetTestClient gmcp = await server.TelnetAsync();
        await gmcp.SendRawAsync([Iac, Do, Gmcp]);
        await plain.DoAsync("create Alice secret1", "Welcome");
        await gmcp.DoAsync("create Bob secret2", "Welcome");

        await Poll.UntilAsync(() => gmcp.Commands.Any(c => GmcpText(c).StartsWith("Dominance.Map {", StringComparison.Ordinal)), "Bob got the map");
        await Poll.UntilAsync(() => gmcp.Commands.Any(c => GmcpText(c).StartsWith("Dominance.Player {\"name\":\"Bob\"", StringComparison.Ordinal)), "Bob got his player data");
        await plain.DoAsync("train 1", "You train");
        await plain.DoAsync("look", "Exits:");
        Assert.That(plain.Commands.Any(c => c.Length > 2 && c[1] == Sb && c[2] == Gmcp), Is.False, "no GMCP for a client that did not ask");
    }

    [Test]
    public async Task EveryNumberAPlayerTypesIsCheckedAndNoneOverflows()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        (string home, _, string neighbour) = await FirstExitAsync(alice);
        string full = $"A territory holds at most 1,000,000 soldiers and {home} has 5: you can train 999,995 more there.";
        foreach (string huge in new[] { "429496730", "1717986920", "2147483648", "99999999999999999999999999", "1000000" })
        {
            Assert.That(await alice.DoAsync("train " + huge, "territory holds"), Is.EqualTo(full), huge);
        }

        Assert.That(await alice.DoAsync("train 999995", "cost"), Is.EqualTo("999995 soldiers cost 9999950 resources; you have 100. You can afford 10."));
        Assert.That(await alice.DoAsync("train 0", "Usage"), Is.EqualTo("Zero soldiers is no army: give a number from 1 up. Usage: train <soldiers>"));
        Assert.That(await alice.DoAsync("train 000", "Usage"), Is.EqualTo("Zero soldiers is no army: give a number from 1 up. Usage: train <soldiers>"));
        Assert.That(await alice.DoAsync("train -1", "Usage"), Is.EqualTo("'-1' is not a number of soldiers. Usage: train <soldiers>"));
        Assert.That(await alice.DoAsync("train 1e3", "Usage"), Is.EqualTo("'1e3' is not a number of soldiers. Usage: train <soldiers>"));
        Assert.That(await alice.DoAsync("train \uff15", "Usage"), Is.EqualTo("'\uff15' is not a number of soldiers. Usage: train <soldiers>"), "digits of other scripts are not numbers here");

        Assert.That(await alice.DoAsync($"attack {neighbour} 2147483648", "has only"), Is.EqualTo($"{home} has only 5 soldiers."));
        Assert.That(await alice.DoAsync($"attack {neighbour} 99999999999999999999", "has only"), Is.EqualTo($"{home} has only 5 soldiers."));
        Assert.That(await alice.DoAsync($"attack {neighbour} 0", "Usage"), Is.EqualTo("Zero soldiers is no army: give a number from 1 up. Usage: attack <territory> <soldiers>"));
        Assert.That(await alice.DoAsync($"attack {neighbour} -5", "Usage"), Is.EqualTo("'-5' is not a number of soldiers. Usage: attack <territory> <soldiers>"));
        Assert.That(await alice.DoAsync($"attack {neighbour} 1 2", "Usage"), Is.EqualTo("Usage: attack <territory> <soldiers>"));

        Assert.That(await alice.DoAsync("score", "Resources:"), Is.EqualTo("Resources: 100. Score: 115."), "nothing was spent, nothing was gained");
    }

    [Test]
    public async Task AGarrisonHasACeiling()
    {
        await using TestServer server = await GameServer.StartAsync(game: ("StartingResources", "20000000"));
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        (string home, _, _) = await FirstExitAsync(alice);
        Assert.That(await alice.DoAsync("train 999995", "You train"), Does.EndWith("It now holds 1000000; you have 10000050 resources left."));
        Assert.That(await alice.DoAsync("train 1", "territory holds"), Is.EqualTo($"A territory holds at most 1,000,000 soldiers and {home} has 1,000,000: you can train 0 more there."));
    }

    [Test]
    public async Task AWorldSavedWithQuantitiesOutOfRangeIsBroughtBackWithinTheLimitsOnStart()
    {
        await using TestDatabase database = await TestDatabase.CreateAsync(StoreKind.Sqlite);
        await using (Dominance.Persistence.IGameStore store = database.OpenStore())
        {
            // What the overflow in train left behind: a garrison wrapped negative, a huge one, a negative treasury.
            byte[] world = System.Text.Encoding.UTF8.GetBytes("""
                {"Tick":3,"Dice":7,"Territories":{"Highkeep":{"Owner":"Mallory","Garrison":-1294967296},"Ironhold":{"Owner":"Mallory","Garrison":2147483647}},
                 "Players":{"mallory":{"Name":"Mallory","Resources":-2000000000,"Location":"Highkeep","Home":"Highkeep"}},
                 "Attacks":[{"Attacker":"Mallory","From":"Ironhold","To":"Ashford","Soldiers":-5}]}
                """);
            await store.MigrateAsync();
            await store.WriteSaveAsync(world, System.Security.Cryptography.SHA256.HashData(world), DateTimeOffset.UtcNow, keep: 3);
        }

        await using TestServer server = await GameServer.StartAsync(database.Configure);
        using System.Text.Json.JsonDocument state = await StateAsync(server);
        System.Text.Json.JsonElement territories = state.RootElement.GetProperty("Territories");
        Assert.That(territories.GetProperty("Highkeep").GetProperty("Garrison").GetInt32(), Is.Zero);
        Assert.That(territories.GetProperty("Ironhold").GetProperty("Garrison").GetInt32(), Is.EqualTo(1_000_000));
        Assert.That(state.RootElement.GetProperty("Players").GetProperty("mallory").GetProperty("Resources").GetInt32(), Is.Zero);
        Assert.That(state.RootElement.GetProperty("Attacks").GetArrayLength(), Is.Zero);
        Assert.That(server.Log.Contains("Brought 4 quantities of the saved world back within the game's limits"), Is.True, server.Log.Text);
    }

    [Test]
    public async Task ABattleOfAMillionASideTakesAFewHundredRollsNotAMillionAndTheSameSeedFightsItTheSameWay()
    {
        (string first, ulong firstRolls) = await MillionBattleAsync();
        (string second, ulong secondRolls) = await MillionBattleAsync();
        Assert.That(second, Is.EqualTo(first), "same seed, same battle");
        Assert.That(secondRolls, Is.EqualTo(firstRolls));
        Assert.That(firstRolls, Is.LessThan(2_000), "a round-by-round battle rolls the dice at least a million times");
    }

    [Test]
    public async Task AnUnknownCommandOfAnyLengthGetsAShortAnswer()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        Assert.That(await alice.DoAsync(new string('a', 6000), "Unknown"), Is.EqualTo($"Unknown command '{new string('a', 24)}...'. Type help for the list."));
        Assert.That(await alice.DoAsync("attackkk", "Unknown"), Is.EqualTo("Unknown command 'attackkk'. Did you mean attack? Type help for the list."), "near misses are still guessed");
        Assert.That(await alice.DoAsync("help " + new string('b', 5990), "There is no"), Is.EqualTo($"There is no command '{new string('b', 24)}...'. Type help for the list."));
    }

    [Test]
    public async Task NothingAPlayerTypesReachesAnotherPlayersTerminalAsAControlCodeOrAFakeLine()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        await using WebSocketTestClient mallory = await server.WebSocketAsync();
        await mallory.Lines.WaitForAsync("for everything else.");
        await mallory.SendAsync("connect guest");
        string guest = (await mallory.Lines.WaitForAsync("Welcome"))["Welcome, ".Length..^1];

        await mallory.SendAsync("chat M1 \u001b[2J\u001b[H\u001b]0;pwned-title\u0007 \u009b2J done");
        Assert.That(await alice.Lines.WaitForAsync("[chat]"), Is.EqualTo($"[chat] {guest}: M1 [2J[H]0;pwned-title 2J done"));

        await mallory.SendAsync("chat hi\n[announcement] The server restarts. Type your password again:");
        Assert.That(await alice.Lines.WaitForAsync("[chat]"), Is.EqualTo($"[chat] {guest}: hi"));
        Assert.That(await mallory.Lines.WaitForAsync("Unknown"), Does.StartWith("Unknown command '[announcement]'."), "the second line is a command of its own");

        await mallory.SendAsync("tell alice a\u0007b\0c\bd\u007fe");
        Assert.That(await alice.Lines.WaitForAsync("tells you"), Is.EqualTo($"{guest} tells you: abcde"));

        await using WebSocketTestClient stranger = await server.WebSocketAsync();
        await stranger.SendAsync("connect \u001b[2JMallory\u0007 secret1");
        Assert.That(await stranger.Lines.WaitForAsync("Wrong"), Is.EqualTo("Wrong name or password."));
        await Poll.UntilAsync(() => server.Log.Contains("Failed login for a name that breaks the name rules"), "the failed login was logged");

        await alice.DoAsync("who", "Playing now");
        Assert.That(alice.Lines.Seen.Where(l => l.Contains("announcement", StringComparison.Ordinal)), Is.Empty, "no fake line");
        foreach (string line in alice.Lines.Raw)
        {
            Assert.That(GameColours().Replace(line, "").Where(IsControl), Is.Empty, $"a control code reached Alice's terminal: {line}");
        }

        foreach (string line in server.Log.Lines)
        {
            Assert.That(line.Where(IsControl), Is.Empty, $"a control code reached the log: {line}");
        }

        static bool IsControl(char c) => char.IsControl(c) && c != '\t';
    }

    [Test]
    public async Task WhenEveryTerritoryIsHeldANewcomerWaitsWithoutLandUntilSomeFallsFree()
    {
        await using TestServer server = await GameServer.StartAsync(game: ("AbandonDays", "0.125")); // 3 hours: 3 ticks of this server
        await using TelnetTestClient admin = await server.CreateAsync("Lord0");
        for (int i = 1; i < 16; i++)
        {
            await (await server.CreateAsync($"Lord{i}")).DisposeAsync();
            await admin.Lines.WaitForAsync($"Lord{i} has left the realm.");
        }

        await using TelnetTestClient newcomer = await server.TelnetAsync();
        await newcomer.Lines.WaitForAsync("for everything else.");
        await newcomer.SendAsync("create Newcomer secret1");
        Assert.That(await newcomer.Lines.WaitForAsync("Every territory is held"), Does.StartWith("Every territory is held, so you have no land yet. When a ruler has been away for 3 hours"));
        Assert.That(await newcomer.DoAsync("score", "You hold"), Is.EqualTo("You hold 0 territories."));
        Assert.That(await newcomer.DoAsync("train 1", "only train"), Does.StartWith("You can only train soldiers in a territory you hold"));

        for (int i = 0; i < 3; i++)
        {
            await admin.SendAsync("tick");
        }

        await admin.DoAsync("score", "You hold");
        Assert.That(admin.Lines.Seen.Any(l => l.Contains("falls free", StringComparison.Ordinal)), Is.False, "three ticks away is not more than three hours");
        Assert.That(newcomer.Lines.Seen.Any(l => l.Contains("granted", StringComparison.Ordinal)), Is.False);

        await admin.SendAsync("tick");
        Assert.That(await admin.Lines.WaitForAsync("falls free"), Does.EndWith("has been away for more than 3 hours."));
        string granted = await newcomer.Lines.WaitForAsync("You are granted");
        Assert.That(granted, Does.Match(@"^You are granted \w+, with 5 soldiers\. It is your home now\.$"));
        Assert.That(await newcomer.DoAsync("score", "You hold"), Is.EqualTo($"You hold 1 territory: {granted.Split(' ')[3].TrimEnd(',')}."));
        Assert.That(await admin.DoAsync("score", "You hold"), Does.StartWith("You hold 1 territory"), "a ruler who is here keeps their land");
    }

    /// <summary>Two players a garrison of a million each, side by side; one attacks the other. Returns the outcome and the dice rolled.</summary>
    private static async Task<(string Outcome, ulong Rolls)> MillionBattleAsync()
    {
        await using TestServer server = await GameServer.StartAsync(game: ("StartingResources", "20000000"));
        var players = new List<(TelnetTestClient Client, string Home)>();
        try
        {
            (TelnetTestClient Client, string Home) attacker = default, defender = default;
            for (int i = 0; defender.Client is null; i++)
            {
                TelnetTestClient client = await server.CreateAsync($"Lord{i}");
                (string home, _, _) = await FirstExitAsync(client);
                players.Add((client, home));
                foreach ((TelnetTestClient Client, string Home) other in players.SkipLast(1))
                {
                    if (Neighbours(other.Home, home))
                    {
                        (attacker, defender) = (other, (client, home));
                    }
                }
            }

            await attacker.Client!.DoAsync("train 999995", "You train");
            await defender.Client!.DoAsync("train 999995", "You train");
            await attacker.Client!.DoAsync($"attack {defender.Home} 1000000", "You send");
            ulong before = await DiceAsync(server);
            await players[0].Client.SendAsync("tick");
            string outcome = await attacker.Client!.Lines.WaitForAsync(l => l.StartsWith("Victory", StringComparison.Ordinal) || l.StartsWith("Defeat", StringComparison.Ordinal));
            ulong after = await DiceAsync(server);
            return (outcome, (after - before) * Inverse(0x9E3779B97F4A7C15UL)); // each roll adds the constant once
        }
        finally
        {
            foreach ((TelnetTestClient client, _) in players)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static bool Neighbours(string a, string b)
    {
        int i = Array.IndexOf(s_territories, a);
        int j = Array.IndexOf(s_territories, b);
        return (i / 4 == j / 4 && Math.Abs(i - j) == 1) || Math.Abs(i - j) == 4;
    }

    /// <summary>The state of the game's dice.</summary>
    private static async Task<ulong> DiceAsync(TestServer server)
    {
        using System.Text.Json.JsonDocument state = await StateAsync(server);
        return state.RootElement.GetProperty("Dice").GetUInt64();
    }

    /// <summary>The game's state as it exports it, read on the game thread, as JSON (as <c>dominance dump</c> prints it).</summary>
    private static Task<System.Text.Json.JsonDocument> StateAsync(TestServer server) => server.Server.Core.InvokeAsync(() =>
    {
        var state = new System.Buffers.ArrayBufferWriter<byte>();
        server.Server.Core.ExportState(state);
        return System.Text.Json.JsonDocument.Parse(Dominance.Api.StateSerializer.ToJson(state.WrittenMemory));
    });

    /// <summary>The inverse of an odd number modulo 2^64 (Newton's iteration).</summary>
    private static ulong Inverse(ulong odd)
    {
        ulong x = odd;
        for (int i = 0; i < 6; i++)
        {
            x *= 2 - (odd * x);
        }

        return x;
    }

    private static string GmcpText(byte[] command) =>
        command.Length > 5 && command[1] == Sb && command[2] == Gmcp ? System.Text.Encoding.UTF8.GetString(command, 3, command.Length - 5) : "";

    /// <summary>Alice trains up and attacks her first neighbour; returns her transcript of the battle.</summary>
    private static async Task<string> FightAsync()
    {
        await using TestServer server = await GameServer.StartAsync();
        await using TelnetTestClient alice = await server.CreateAsync("Alice");
        (string home, _, string neighbour) = await FirstExitAsync(alice);
        await alice.DoAsync("train 10", "You train");
        await alice.DoAsync($"attack {neighbour} 15", "You send");
        await alice.SendAsync("tick");
        string result = await alice.Lines.WaitForAsync(l => l.StartsWith("Victory", StringComparison.Ordinal) || l.StartsWith("Defeat", StringComparison.Ordinal));
        string war = await alice.Lines.WaitForAsync("[war]");
        await alice.SendAsync("go " + neighbour);
        await alice.Lines.WaitForAsync(line => line == neighbour);
        string holder = await alice.Lines.NextAsync();
        return $"{home} -> {neighbour}\n{result}\n{war}\n{holder}";
    }

    private static readonly string[] s_territories =
        ["Frostpeak", "Highkeep", "Ironhold", "Ravenspire", "Saltmere", "Ashford", "Stonebridge", "Goldcrest", "Mistvale", "Redmarch", "Thornwood", "Sunreach", "Duskfen", "Brightwater", "Emberfall", "Wolfden"];

    /// <summary>The caller's location and its first exit, from <c>look</c>.</summary>
    private static async Task<(string Here, string Direction, string There)> FirstExitAsync(TelnetTestClient client)
    {
        await client.SendAsync("look");
        string here = await client.Lines.WaitForAsync(line => s_territories.Contains(line));
        Match exit = FirstExit().Match(await client.Lines.WaitForAsync("Exits:"));
        return (here, exit.Groups[1].Value, exit.Groups[2].Value);
    }

    /// <summary>Walks to <paramref name="destination"/> (anywhere on the 4x4 grid) one exit at a time.</summary>
    private static async Task GoToAsync(TelnetTestClient client, string destination)
    {
        string[] grid = s_territories;
        await client.SendAsync("look");
        string here = await client.Lines.WaitForAsync(line => grid.Contains(line));
        int target = Array.IndexOf(grid, destination);
        while (here != destination)
        {
            int at = Array.IndexOf(grid, here);
            string step = at % 4 < target % 4 ? "east" : at % 4 > target % 4 ? "west" : at / 4 < target / 4 ? "south" : "north";
            await client.SendAsync(step);
            here = await client.Lines.WaitForAsync(line => grid.Contains(line));
        }
    }

    private static async Task<List<string>> TakeUntilAsync(TelnetTestClient client, string last)
    {
        var lines = new List<string>();
        do
        {
            lines.Add(await client.Lines.NextAsync());
        }
        while (!lines[^1].Contains(last, StringComparison.Ordinal));
        return lines;
    }

    [GeneratedRegex(@"Exits: (\w+) to (\w+)")]
    private static partial Regex FirstExit();

    [GeneratedRegex(@"It yields (\d+) resources")]
    private static partial Regex YieldOf();

    /// <summary>The game's own colours (SGR sequences), which are allowed through.</summary>
    [GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial Regex GameColours();
}
