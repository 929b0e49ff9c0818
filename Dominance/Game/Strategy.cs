using System.Text;
using System.Text.Json;

namespace DominanceGame;

/// <summary>
/// The strategy layer: characters and their home territories, training, attacks, the tick (yields and battles), the
/// score, and the map (as text for telnet and as structured data for the browser client).
/// </summary>
public sealed partial class DominanceGame
{
    /// <summary>Resources one soldier costs.</summary>
    private const int SoldierCost = 10;

    /// <summary>Soldiers a new character's home territory starts with.</summary>
    private const int HomeGarrison = 5;

    /// <summary>The chance, in percent, that an attacker wins one round of a battle (defenders have the edge).</summary>
    private const int AttackerRoundChance = 45;

    /// <summary>
    /// The most soldiers a territory holds, and so the largest army (an army is sent from one garrison). With it and
    /// <see cref="MaxResources"/>, every quantity of the game and every sum of them (a score: 16 garrisons and a
    /// treasury) stays far inside an <see cref="int"/>; arithmetic on them is checked all the same.
    /// </summary>
    private const int MaxGarrison = 1_000_000;

    /// <summary>The most resources a player holds; yields past it are lost.</summary>
    private const int MaxResources = 1_000_000_000;

    /// <summary>
    /// Battle rounds rolled one by one, with the dice, in a block of at most this many; a larger block is drawn at once
    /// from the normal approximation of its binomial distribution. See <see cref="Battle"/>.
    /// </summary>
    private const int ExactRounds = 64;

    /// <summary>The character of an account: found in the world, or created (it gets its land when it enters: see <see cref="Enter"/>).</summary>
    private Player CharacterOf(Account account)
    {
        if (!_state.Players.TryGetValue(Key(account.Name), out Player? player))
        {
            player = new Player { Name = account.Name, Resources = _startingResources, Location = Realm.Territories[0].Name };
            _state.Players[Key(player.Name)] = player;
        }

        player.IsAdmin = account.IsAdmin;
        return player;
    }

    /// <summary>A span of realm time in words: "14 days", "3 hours".</summary>
    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{span.TotalDays:0.#} day{(span.TotalDays == 1 ? "" : "s")}" : $"{span.TotalHours:0.#} hour{(span.TotalHours == 1 ? "" : "s")}";

    /// <summary>Whether <paramref name="player"/> holds any territory.</summary>
    private bool Holds(Player player) => _state.Territories.Values.Any(h => h.Owner == player.Name);

    /// <summary>What a player who enters without land is told.</summary>
    private string LandlessNotice => Ansi.Yellow(
        $"Every territory is held, so you have no land yet. When a ruler has been away for {Describe(_abandonAfter)} their territories fall free, and a landless player who is here gets one at the next tick (or on entering, if one is free then).");

    /// <summary>
    /// Gives a player who holds nothing a free territory, at random, with <see cref="HomeGarrison"/> soldiers, and moves
    /// them there. Returns it, or <see langword="null"/> if no territory is free.
    /// </summary>
    /// <remarks>
    /// Land is free when nobody holds it: at the start, or when its ruler has been away longer than <c>AbandonDays</c>
    /// (see <see cref="FreeAbandonedLand"/>). A player gets land only from free land, never from someone else's:
    /// creating an account must not be a way to take a territory from its ruler. So when the realm is full a newcomer
    /// waits, landless but able to look around and talk, until land falls free. Creation is limited per address, so one
    /// person cannot fill the realm quickly, and what they grabbed falls free when they stop playing it.
    /// </remarks>
    private string? GrantLand(Player player)
    {
        string[] free = [.. Realm.Territories.Select(t => t.Name).Where(name => _state.Territories[name].Owner is null)];
        if (free.Length == 0)
        {
            return null;
        }

        string home = free[Roll(free.Length)];
        _state.Territories[home] = new Holding { Owner = player.Name, Garrison = HomeGarrison };
        if (SessionOf(player) is { } session && player.Location != home)
        {
            _game.Leave(session, TerritoryGroup(player.Location));
            _game.Join(session, TerritoryGroup(home));
        }

        player.Home = home;
        player.Location = home;
        SendMapToOnline();
        return home;
    }

    /// <summary>
    /// Brings every quantity in the state within the game's limits (a world saved by older code, or by the overflow
    /// that once let <c>train</c> wrap around). Returns how many it changed.
    /// </summary>
    private int Repair()
    {
        int repaired = _state.Attacks.RemoveAll(a => a.Soldiers is <= 0 or > MaxGarrison);
        foreach (Holding holding in _state.Territories.Values)
        {
            int garrison = Math.Clamp(holding.Garrison, 0, MaxGarrison);
            repaired += garrison == holding.Garrison ? 0 : 1;
            holding.Garrison = garrison;
        }

        foreach (Player player in _state.Players.Values)
        {
            int resources = Math.Clamp(player.Resources, 0, MaxResources);
            repaired += resources == player.Resources ? 0 : 1;
            player.Resources = resources;
        }

        return repaired;
    }

    /// <summary>The next 64 bits from the game's seeded dice (SplitMix64).</summary>
    private ulong NextDice()
    {
        ulong z = _state.Dice += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A number from 0 to <paramref name="count"/> - 1 from the game's seeded dice.</summary>
    private int Roll(int count) => (int)(NextDice() % (ulong)count);

    /// <summary>A number from 0 (inclusive) to 1 (exclusive) from the game's seeded dice.</summary>
    private double Uniform() => (NextDice() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// Reads a number of soldiers a player typed: digits only, at least 1. A number larger than any garrison can be
    /// (however many digits it has) comes back as <see cref="MaxGarrison"/> + 1, for the caller's own limit to answer.
    /// Otherwise tells the player what is wrong, with the command's usage, and returns <see langword="false"/>.
    /// </summary>
    private bool TryReadSoldiers(Caller caller, string command, string text, string missing, out int soldiers)
    {
        soldiers = 0;
        string digits = text.TrimStart('0');
        if (text.Length == 0 || !text.All(char.IsAsciiDigit))
        {
            Usage(caller, command, text.Length == 0 ? missing : $"'{Shorten(text)}' is not a number of soldiers.");
            return false;
        }

        if (digits.Length == 0)
        {
            Usage(caller, command, "Zero soldiers is no army: give a number from 1 up.");
            return false;
        }

        soldiers = digits.Length > 7 ? MaxGarrison + 1 : Math.Min(int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture), MaxGarrison + 1);
        return true;
    }

    private void Train(Caller caller, string args)
    {
        Player player = caller.Player!;
        if (!TryReadSoldiers(caller, "train", args, "Train how many?", out int soldiers))
        {
            return;
        }

        Holding here = _state.Territories[player.Location];
        if (here.Owner != player.Name)
        {
            _game.Send(caller.Session, $"You can only train soldiers in a territory you hold, and {player.Location} is not yours.");
            return;
        }

        int room = MaxGarrison - here.Garrison;
        if (soldiers > room)
        {
            _game.Send(caller.Session, $"A territory holds at most {MaxGarrison:N0} soldiers and {player.Location} has {here.Garrison:N0}: you can train {room:N0} more there.");
            return;
        }

        int cost = checked(soldiers * SoldierCost); // at most MaxGarrison * SoldierCost: far inside an int
        if (cost > player.Resources)
        {
            _game.Send(caller.Session, $"{soldiers} soldiers cost {cost} resources; you have {player.Resources}. You can afford {player.Resources / SoldierCost}.");
            return;
        }

        player.Resources = checked(player.Resources - cost);
        here.Garrison = checked(here.Garrison + soldiers);
        _game.Send(caller.Session, $"You train {soldiers} soldier{(soldiers == 1 ? "" : "s")} in {Ansi.Yellow(player.Location)} for {cost} resources. It now holds {here.Garrison}; you have {player.Resources} resources left.");
        SendPlayer(player);
        SendMapToOnline();
    }

    private void AttackCommand(Caller caller, string args)
    {
        Player player = caller.Player!;
        string[] words = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length is 0 or > 2)
        {
            Usage(caller, "attack", words.Length == 0 ? "Attack what?" : null);
            return;
        }

        if (!TryReadSoldiers(caller, "attack", words.Length == 2 ? words[1] : "", "With how many soldiers?", out int soldiers))
        {
            return;
        }

        Realm.Territory from = Realm.Find(player.Location)!;
        Holding source = _state.Territories[from.Name];
        if (source.Owner != player.Name)
        {
            _game.Send(caller.Session, $"You can only attack from a territory you hold, and {from.Name} is not yours.");
            return;
        }

        Realm.Territory? target = Realm.Neighbour(from, words[0]) ?? Realm.Find(words[0]);
        if (target is not null && _state.Territories[target.Name].Owner == player.Name)
        {
            _game.Send(caller.Session, $"You already hold {target.Name}.");
            return;
        }

        if (target is null || Realm.Neighbour(from, target.Name) is null)
        {
            _game.Send(caller.Session, $"{target?.Name ?? Shorten(words[0])} is not a neighbour of {from.Name}. You can attack {string.Join(", ", Realm.Exits(from).Select(e => e.To.Name))}.");
            return;
        }

        if (soldiers > source.Garrison)
        {
            _game.Send(caller.Session, $"{from.Name} has only {source.Garrison} soldier{(source.Garrison == 1 ? "" : "s")}.");
            return;
        }

        source.Garrison = checked(source.Garrison - soldiers);
        _state.Attacks.Add(new Attack { Attacker = player.Name, From = from.Name, To = target.Name, Soldiers = soldiers });
        _game.Send(caller.Session, $"You send {soldiers} soldier{(soldiers == 1 ? "" : "s")} from {Ansi.Yellow(from.Name)} against {Ansi.Yellow(target.Name)}. The battle is fought at the next tick.");
        if (_state.Territories[target.Name].Owner is { } defender && OnlinePlayer(defender) is { } defending)
        {
            Tell(defending, Ansi.Red($"{player.Name} is marching {soldiers} soldiers on {target.Name}!"));
        }

        SendMapToOnline();
    }

    /// <summary>One tick of the realm: battles are fought, then every held territory yields to its owner.</summary>
    private void Tick()
    {
        _state.Tick++;
        List<Attack> attacks = _state.Attacks;
        _state.Attacks = [];
        foreach (Attack attack in attacks)
        {
            Fight(attack);
        }

        foreach (Realm.Territory territory in Realm.Territories)
        {
            if (_state.Territories[territory.Name].Owner is { } owner && _state.Players.TryGetValue(Key(owner), out Player? player))
            {
                player.Resources = Math.Min(MaxResources, checked(player.Resources + territory.Yield));
            }
        }

        FreeAbandonedLand();

        foreach (string key in _playing.Keys)
        {
            SendPlayer(_state.Players[key]);
        }

        SendMapToOnline();
    }

    /// <summary>
    /// Territories whose ruler has been away longer than <c>AbandonDays</c> fall free (back to their neutral
    /// garrison), and landless players who are here get free land, one territory each.
    /// </summary>
    private void FreeAbandonedLand()
    {
        if (_abandonTicks > 0)
        {
            foreach (Realm.Territory territory in Realm.Territories)
            {
                Holding holding = _state.Territories[territory.Name];
                if (holding.Owner is { } owner && _state.Players.TryGetValue(Key(owner), out Player? ruler) &&
                    SessionOf(ruler) is null && _state.Tick - ruler.LastSeenTick > _abandonTicks)
                {
                    _state.Territories[territory.Name] = new Holding { Garrison = territory.NeutralGarrison };
                    _game.SendToGroup(Online, $"{Ansi.Yellow("[war]")} {territory.Name} falls free: {owner} has been away for more than {Describe(_abandonAfter)}.");
                }
            }
        }

        foreach (Player landless in _playing.Keys.Select(key => _state.Players[key]).Where(p => !p.IsGuest && !Holds(p)).OrderBy(p => p.Name).ToList())
        {
            if (GrantLand(landless) is not { } home)
            {
                break;
            }

            Tell(landless, Ansi.Green($"You are granted {home}, with {HomeGarrison} soldiers. It is your home now."));
            SendPlayer(landless);
        }
    }

    private void Fight(Attack attack)
    {
        Holding target = _state.Territories[attack.To];
        Player? attacker = _state.Players.GetValueOrDefault(Key(attack.Attacker));
        if (target.Owner == attack.Attacker)
        {
            // Someone else's attack already took it for them. A garrison has a ceiling; soldiers past it go home to rest.
            int joining = Math.Min(attack.Soldiers, MaxGarrison - target.Garrison);
            target.Garrison = checked(target.Garrison + joining);
            if (attacker is not null)
            {
                Tell(attacker, $"Your {attack.Soldiers} soldiers reach {attack.To}, which you already hold, and {(joining == attack.Soldiers ? "join its garrison" : $"{joining} of them join its garrison, which is full; the rest disband")}.");
            }

            return;
        }

        (int attackers, int defenders) = Battle(attack.Soldiers, target.Garrison);

        string? defender = target.Owner;
        Player? defending = defender is null ? null : _state.Players.GetValueOrDefault(Key(defender));
        string odds = $"{attack.Soldiers} attacked, {target.Garrison} defended";
        if (attackers > 0)
        {
            target.Owner = attack.Attacker;
            target.Garrison = attackers;
            if (attacker is not null)
            {
                Tell(attacker, Ansi.Green($"Victory! You have taken {attack.To} ({odds}); {attackers} of your soldiers hold it."));
            }

            if (defending is not null)
            {
                Tell(defending, Ansi.Red($"{attack.To} has fallen to {attack.Attacker} ({odds})."));
            }

            _game.SendToGroup(Online, $"{Ansi.Yellow("[war]")} {attack.Attacker} has conquered {attack.To}{(defender is null ? "" : $" from {defender}")}.");
        }
        else
        {
            target.Garrison = defenders;
            if (attacker is not null)
            {
                Tell(attacker, Ansi.Red($"Defeat at {attack.To} ({odds}); none of your soldiers came back."));
            }

            if (defending is not null)
            {
                Tell(defending, Ansi.Green($"{attack.To} held against {attack.Attacker} ({odds}); {defenders} defenders remain."));
            }
        }
    }

    /// <summary>
    /// Fights a battle and returns what is left of each side. Each round, the attackers win with
    /// <see cref="AttackerRoundChance"/> percent; the loser of a round loses one soldier; the battle ends when a side has
    /// none left. The work is O(log n) in the armies' sizes, not O(n): a battle of a million a side takes about as long
    /// as one of ten.
    /// </summary>
    /// <remarks>
    /// Rounds are rolled in blocks. While both sides have at least k = min(attackers, defenders) soldiers, neither can
    /// be wiped out in fewer than k rounds, so the next k rounds can be rolled together: how many of them the attackers
    /// win is one binomial draw, B(k, 45%). Each block leaves the smaller side with about 45% or 55% of what it had, so a
    /// battle takes O(log n) blocks. A block of up to <see cref="ExactRounds"/> rounds is rolled round by round, the very
    /// rolls a round-by-round battle makes (a battle of small armies comes out as it always did); a larger block is one
    /// draw from the normal approximation of its binomial. The normal draw is the sum of twelve uniform draws less six:
    /// plain IEEE arithmetic, so the same seed fights the same battle on every machine.
    /// </remarks>
    private (int Attackers, int Defenders) Battle(int attackers, int defenders)
    {
        while (attackers > 0 && defenders > 0)
        {
            int rounds = Math.Min(attackers, defenders);
            int won = AttackerWins(rounds);
            defenders -= won;
            attackers -= rounds - won;
        }

        return (attackers, defenders);
    }

    /// <summary>How many of <paramref name="rounds"/> rounds the attackers win.</summary>
    private int AttackerWins(int rounds)
    {
        if (rounds <= ExactRounds)
        {
            int won = 0;
            for (int i = 0; i < rounds; i++)
            {
                won += Roll(100) < AttackerRoundChance ? 1 : 0;
            }

            return won;
        }

        const double p = AttackerRoundChance / 100.0;
        double normal = -6;
        for (int i = 0; i < 12; i++)
        {
            normal += Uniform();
        }

        double draw = Math.Round((rounds * p) + (normal * Math.Sqrt(rounds * p * (1 - p))));
        return (int)Math.Clamp(draw, 0, rounds);
    }

    private int ScoreOf(Player player)
    {
        int territories = 0;
        int soldiers = 0;
        foreach (Holding holding in _state.Territories.Values)
        {
            if (holding.Owner == player.Name)
            {
                territories++;
                soldiers = checked(soldiers + holding.Garrison);
            }
        }

        return checked((territories * 100) + soldiers + (player.Resources / 10)); // at most 16 * 1,000,100 + 100,000,000
    }

    private void Score(Caller caller, string args)
    {
        Player player = caller.Player!;
        string[] held = [.. _state.Territories.Where(t => t.Value.Owner == player.Name).Select(t => t.Key).Order()];
        var text = new StringBuilder();
        if (!player.IsGuest)
        {
            text.Append($"You hold {held.Length} territor{(held.Length == 1 ? "y" : "ies")}{(held.Length > 0 ? ": " + string.Join(", ", held) : "")}.\n");
            text.Append($"Resources: {player.Resources}. Score: {Ansi.Bold(ScoreOf(player).ToString())}.\n");
        }

        text.Append(Ansi.Bold("Leaderboard"));
        int rank = 0;
        foreach (Player leader in _state.Players.Values.Where(p => !p.IsGuest).OrderByDescending(ScoreOf).ThenBy(p => p.Name).Take(10))
        {
            text.Append($"\n  {++rank,2}. {leader.Name,-16} {ScoreOf(leader),6}");
        }

        if (rank == 0)
        {
            text.Append("\n  Nobody rules anything yet.");
        }

        _game.Send(caller.Session, text.ToString());
    }

    /// <summary>The realm as a grid of territories with their garrisons, coloured for the reader, and who holds what.</summary>
    private string MapText(Player reader)
    {
        var text = new StringBuilder($"The realm at tick {_state.Tick}. You are in {Ansi.Yellow(reader.Location)}. {Ansi.Green("yours")}, {Ansi.Red("others'")}, {Ansi.Gray("neutral")}.");
        foreach (IGrouping<int, Realm.Territory> row in Realm.Territories.GroupBy(t => t.Y).OrderBy(r => r.Key))
        {
            text.Append("\n ");
            foreach (Realm.Territory territory in row.OrderBy(t => t.X))
            {
                Holding holding = _state.Territories[territory.Name];
                string marker = territory.Name == reader.Location ? "*" : " ";
                string cell = $"{marker}{territory.Name,-11}{holding.Garrison,3}";
                text.Append(' ').Append(holding.Owner is null ? Ansi.Gray(cell) : holding.Owner == reader.Name ? Ansi.Green(cell) : Ansi.Red(cell));
            }
        }

        foreach (IGrouping<string, string> owner in _state.Territories.Where(t => t.Value.Owner is not null).GroupBy(t => t.Value.Owner!, t => t.Key).OrderBy(o => o.Key))
        {
            text.Append($"\n {owner.Key}: {string.Join(", ", owner.Order())}");
        }

        return text.ToString();
    }

    /// <summary>The realm as GMCP <c>Dominance.Map</c> data, for the browser client's map panel.</summary>
    /// <summary>The realm's map (<c>Dominance.Map</c>) to one session, built only if the session takes it.</summary>
    private void SendMap(SessionId session)
    {
        if (Wants(session, "Dominance.Map"))
        {
            _game.SendData(session, "Dominance.Map", MapJson());
        }
    }

    private string MapJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("tick", _state.Tick);
            json.WriteStartArray("territories");
            foreach (Realm.Territory territory in Realm.Territories)
            {
                Holding holding = _state.Territories[territory.Name];
                json.WriteStartObject();
                json.WriteString("name", territory.Name);
                json.WriteNumber("x", territory.X);
                json.WriteNumber("y", territory.Y);
                json.WriteString("owner", holding.Owner);
                json.WriteNumber("garrison", holding.Garrison);
                json.WriteNumber("yield", territory.Yield);
                json.WriteStartArray("exits");
                foreach ((_, Realm.Territory to) in Realm.Exits(territory))
                {
                    json.WriteStringValue(to.Name);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Tells the player's browser client who it is and what it has (GMCP <c>Dominance.Player</c>).</summary>
    private void SendPlayer(Player player)
    {
        if (SessionOf(player) is not { } session || _game.GetInfo(session) is not { SupportsOutOfBand: true })
        {
            return; // only clients that asked for out-of-band data get it
        }

        string json = JsonSerializer.Serialize(
            new Dictionary<string, object?>
            {
                ["name"] = player.Name,
                ["resources"] = player.Resources,
                ["location"] = player.Location,
                ["admin"] = player.IsAdmin,
                ["guest"] = player.IsGuest,
            },
            _game.State.Options);
        _game.SendData(session, "Dominance.Player", json);
        SendCharacter(session, player, name: false);
    }
}
