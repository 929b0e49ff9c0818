using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;

namespace DominanceGame;

/// <summary>The commands. To add one, add a line to <see cref="BuildCommands"/> and a method below; save, and it is live.</summary>
public sealed partial class DominanceGame
{
    /// <summary>The tag before every chat line, coloured once.</summary>
    private static readonly string s_chatTag = Ansi.Green("[chat]");

    /// <summary>Who may use a command.</summary>
    private enum Need
    {
        /// <summary>Anyone, logged in or not.</summary>
        Nothing,

        /// <summary>Someone playing, guests included.</summary>
        Playing,

        /// <summary>A character with an account (not a guest).</summary>
        Account,

        /// <summary>An admin.</summary>
        Admin,
    }

    /// <summary>The length of the longest command name.</summary>
    private int _longestCommand;

    /// <summary>One command: what <c>help</c> shows about it, who may use it, and what it does.</summary>
    private sealed record Command(string Name, string Usage, string Summary, string Topic, Need Need, Func<Caller, string, ValueTask> Run, params string[] Aliases);

    private Dictionary<string, Command> BuildCommands()
    {
        Command[] commands =
        [
            new("help", "help [command]", "List the commands, or explain one.", "Getting started", Need.Nothing, Sync(Help)),
            new("create", "create <name> <password>", "Create a character. The first account created is an admin.", "Getting started", Need.Nothing, Create),
            new("connect", "connect <name> <password>  |  connect guest", "Play your character, or look around as a guest.", "Getting started", Need.Nothing, Connect),
            new("quit", "quit", "Leave. Your territories stay yours while you are away.", "Getting started", Need.Nothing, Sync(Quit)),

            new("look", "look", "Describe the territory you are in.", "The realm", Need.Playing, Sync(Look), "l"),
            new("go", "go <direction or territory>", "Walk to a neighbouring territory. Directions work alone too: north, n, east, ...", "The realm", Need.Playing, Sync(Go)),
            new("map", "map", "Show the whole realm: who holds what, and how strongly.", "The realm", Need.Playing, Sync(Map)),
            new("who", "who", "List who is playing.", "The realm", Need.Nothing, Sync(Who)),
            new("prompt", "prompt [on|off]", "Show or hide the prompt (resources, soldiers, where you are) after each command.", "Getting started", Need.Nothing, Sync(PromptCommand)),

            new("say", "say <text>", "Speak to everyone in your territory. 'text does the same.", "Talk", Need.Playing, Sync(Say)),
            new("chat", "chat <text>", "Speak to everyone in the realm.", "Talk", Need.Playing, Sync(Chat)),
            new("tell", "tell <player> <text>", "Speak to one player.", "Talk", Need.Playing, Sync(TellCommand)),

            new("train", "train <soldiers>", $"Raise soldiers in a territory you hold, for {SoldierCost} resources each.", "War", Need.Account, Sync(Train)),
            new("attack", "attack <territory> <soldiers>", "Send soldiers from here against a neighbouring territory. The battle is fought at the next tick.", "War", Need.Account, Sync(AttackCommand)),
            new("score", "score", "Your holdings, and the leaderboard.", "War", Need.Playing, Sync(Score)),

            new("reload", "reload [force]", "Recompile the game code and swap it in; players stay connected. Refused if it would drop game state, unless forced.", "Admin", Need.Admin, Sync(Reload)),
            new("announce", "announce <text>", "Send a message to everyone.", "Admin", Need.Admin, Sync(Announce)),
            new("kick", "kick <player>", "Disconnect a player.", "Admin", Need.Admin, Sync(Kick)),
            new("tick", "tick", "Advance the realm by one tick now: yields and battles.", "Admin", Need.Admin, Sync((_, _) => Tick())),
            new("save", "save", "Save the world now. It is also saved every minute and on shutdown.", "Admin", Need.Admin, Sync(SaveWorld)),
            new("shutdown", "shutdown", "Shut the server down gracefully.", "Admin", Need.Admin, Sync(Shutdown)),
            new("errors", "errors", "The last ten failures of the game code (exceptions, failed reloads), with file and line.", "Admin", Need.Admin, Sync(Errors)),
            new("eval", "eval <C#>", "Run C# against the live game: game is the running module, e.g. eval game._state.Players.Count. Logged.", "Admin", Need.Admin, Eval),
        ];

        var table = new Dictionary<string, Command>();
        _longestCommand = commands.Max(c => c.Name.Length);
        foreach (Command command in commands)
        {
            table[command.Name] = command;
            foreach (string alias in command.Aliases)
            {
                table[alias] = command;
            }
        }

        return table;
    }

    private static Func<Caller, string, ValueTask> Sync(Action<Caller, string> action) => (caller, args) =>
    {
        action(caller, args);
        return ValueTask.CompletedTask;
    };

    private bool Allowed(Caller caller, Command command)
    {
        string? refusal = command.Need switch
        {
            Need.Playing or Need.Account when caller.Player is null =>
                $"You are not playing yet. Type {Ansi.Cyan("create <name> <password>")}, {Ansi.Cyan("connect <name> <password>")} or {Ansi.Cyan("connect guest")}.",
            Need.Account when caller.Player!.IsGuest =>
                $"Guests can look around and talk, but only a character with an account can rule territories. Type {Ansi.Cyan("create <name> <password>")}.",
            Need.Admin when caller.Player is not { IsAdmin: true } => "Only admins can do that.",
            _ => null,
        };
        if (refusal is not null)
        {
            _game.Send(caller.Session, refusal);
        }

        return refusal is null;
    }

    private void Unknown(SessionId session, string verb)
    {
        // A guess starts with the verb or is at most two edits from it, so a verb more than two characters longer than
        // every command can have none: it is not compared at all. That bounds the cost whatever a player types.
        string? guess = verb.Length > _longestCommand + 2 ? null : _commands.Values.Select(c => c.Name).Distinct()
            .Where(name => name.StartsWith(verb, StringComparison.Ordinal) || Distance(name, verb) <= 2)
            .OrderBy(name => Distance(name, verb)).FirstOrDefault();
        _game.Send(session, $"Unknown command '{Shorten(verb)}'.{(guess is null ? "" : $" Did you mean {Ansi.Cyan(guess)}?")} Type {Ansi.Cyan("help")} for the list.");
    }

    /// <summary>Player text quoted back in a reply, cut to a sensible length.</summary>
    private static string Shorten(string text) => text.Length <= 24 ? text : text[..24] + "...";

    private void Usage(Caller caller, string command, string? problem = null) =>
        _game.Send(caller.Session, $"{(problem is null ? "" : Ansi.Red(problem) + " ")}Usage: {Ansi.Cyan(_commands[command].Usage)}");

    private void Help(Caller caller, string args)
    {
        bool admin = caller.Player is { IsAdmin: true };
        if (args.Length > 0)
        {
            if (!_commands.TryGetValue(args.ToLowerInvariant(), out Command? command) || (command.Need == Need.Admin && !admin))
            {
                _game.Send(caller.Session, $"There is no command '{Shorten(args)}'. Type {Ansi.Cyan("help")} for the list.");
                return;
            }

            string aliases = command.Aliases.Length == 0 ? "" : $"\nAlso: {string.Join(", ", command.Aliases)}";
            _game.Send(caller.Session, $"{Ansi.Cyan(command.Usage)}\n{command.Summary}{aliases}");
            return;
        }

        var text = new StringBuilder("Commands:");
        foreach (IGrouping<string, Command> topic in _commands.Values.Distinct().Where(c => c.Need != Need.Admin || admin).GroupBy(c => c.Topic))
        {
            text.Append($"\n{Ansi.Bold(topic.Key)}");
            foreach (Command command in topic)
            {
                text.Append($"\n  {Ansi.Cyan(command.Usage.PadRight(32))} {command.Summary}");
            }
        }

        text.Append($"\nType {Ansi.Cyan("help <command>")} for one command.");
        _game.Send(caller.Session, text.ToString());
    }

    // --- Getting started -----------------------------------------------------------------------------------------

    private async ValueTask Create(Caller caller, string args)
    {
        if (caller.Player is not null)
        {
            _game.Send(caller.Session, $"You are already playing as {NameOf(caller.Player)}.");
            return;
        }

        string[] words = args.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 0)
        {
            Usage(caller, "create");
        }
        else if (_game.Accounts.CheckName(words[0]) is { } problem)
        {
            _game.Send(caller.Session, Ansi.Red(problem));
        }
        else if (words.Length == 1)
        {
            AskPassword(caller, words[0], creating: true);
        }
        else
        {
            await CreateAccountAsync(caller.Session, caller.Visitor, words[0], words[1]);
        }
    }

    private async ValueTask Connect(Caller caller, string args)
    {
        if (caller.Player is not null)
        {
            _game.Send(caller.Session, $"You are already playing as {NameOf(caller.Player)}.");
            return;
        }

        string[] words = args.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 0)
        {
            Usage(caller, "connect");
        }
        else if (words[0].Equals("guest", StringComparison.OrdinalIgnoreCase))
        {
            EnterAsGuest(caller);
        }
        else if (words.Length == 1)
        {
            AskPassword(caller, words[0], creating: false);
        }
        else
        {
            await LogInAsync(caller.Session, caller.Visitor, words[0], words[1]);
        }
    }

    /// <summary>Asks for the password on its own line, with the client's echo off.</summary>
    private void AskPassword(Caller caller, string name, bool creating)
    {
        caller.Visitor.PasswordFor = name;
        caller.Visitor.Creating = creating;
        _game.Send(caller.Session, creating ? $"Choose a password for {name} (at least 6 characters):" : $"Password for {name}:");
        _game.SetEcho(caller.Session, false);
    }

    private ValueTask PasswordEnteredAsync(SessionId session, Visitor visitor, string password)
    {
        _game.SetEcho(session, true);
        string name = visitor.PasswordFor!;
        visitor.PasswordFor = null;
        return visitor.Creating ? CreateAccountAsync(session, visitor, name, password) : LogInAsync(session, visitor, name, password);
    }

    private async ValueTask CreateAccountAsync(SessionId session, Visitor visitor, string name, string password)
    {
        IPAddress address = _game.GetInfo(session)?.RemoteAddress ?? IPAddress.None;
        // Hashing runs off the game thread. Meanwhile the server holds this session's next lines (one input at a time
        // per session), so it can never act as two identities at once; other players are served.
        AccountResult result = await _game.Accounts.CreateAsync(name, password, address);
        if (_game.GetInfo(session) is null)
        {
            return; // gone while the password was hashed
        }

        if (!result.Succeeded)
        {
            _game.Send(session, Ansi.Red(result.Error!));
            return;
        }

        Account account = result.Account!;
        if (_stopped)
        {
            // This generation's state is no longer the world's (a reload could wait no longer for this create): the new code
        // runs it, and knows nothing of this create.
            _game.Send(session, $"Your account {Ansi.Blue(account.Name)} is ready, but the game was updated meanwhile. Type {Ansi.Cyan($"connect {account.Name}")} to come in.");
            return;
        }

        _game.Send(session, $"Your account {Ansi.Blue(account.Name)} is ready.{(account.IsAdmin ? " It is an admin account." : "")}");
        Enter(session, visitor, CharacterOf(account));
    }

    private async ValueTask LogInAsync(SessionId session, Visitor visitor, string name, string password)
    {
        IPAddress address = _game.GetInfo(session)?.RemoteAddress ?? IPAddress.None;
        AccountResult result = await _game.Accounts.LoginAsync(name, password, address); // checked off the game thread, as above
        if (_game.GetInfo(session) is null)
        {
            return;
        }

        if (!result.Succeeded)
        {
            _game.Send(session, Ansi.Red(result.Error!));
            return;
        }

        if (_stopped)
        {
            _game.Send(session, Ansi.Red("The game was updated while your password was being checked. Please log in again."));
            return;
        }

        Enter(session, visitor, CharacterOf(result.Account!));
    }

    private void EnterAsGuest(Caller caller)
    {
        if (!_guestsAllowed)
        {
            _game.Send(caller.Session, $"This server does not take guests. Create a character: {Ansi.Cyan("create <name> <password>")}");
            return;
        }

        var guest = new Player
        {
            Name = "Guest" + caller.Session.Value,
            IsGuest = true,
            Location = Realm.Territories[Roll(Realm.Territories.Count)].Name,
        };
        _state.Players[Key(guest.Name)] = guest;
        Enter(caller.Session, caller.Visitor, guest);
    }

    private void Quit(Caller caller, string args) =>
        _game.Disconnect(caller.Session, caller.Player is { IsGuest: false } player
            ? $"Farewell, {player.Name}. Your territories await your return."
            : "Farewell.");

    // --- The realm ---------------------------------------------------------------------------------------------

    private void Look(Caller caller, string args)
    {
        Player player = caller.Player!;
        Realm.Territory here = Realm.Find(player.Location)!;
        Holding holding = _state.Territories[here.Name];
        string owner = holding.Owner is null ? Ansi.Gray("no one") : holding.Owner == player.Name ? Ansi.Green("you") : Ansi.Red(holding.Owner);
        string others = OthersHere(player, here);
        string exits = string.Join(", ", Realm.Exits(here).Select(e => $"{e.Direction} to {Ansi.Yellow(e.To.Name)}"));
        _game.Send(caller.Session, $"""
            {Ansi.Bold(Ansi.Yellow(here.Name))}
            Held by {owner} with {holding.Garrison} soldier{(holding.Garrison == 1 ? "" : "s")}. It yields {here.Yield} resources a tick.
            {(others.Length > 0 ? $"Here: {others}." : "Nobody else is here.")}
            Exits: {exits}.
            """);
        SendRoom(caller.Session, here);
    }

    /// <summary>
    /// The players in <paramref name="here"/> besides <paramref name="player"/>, for <see cref="Look"/>: read from the
    /// territory's group, so that a look costs what the territory holds, not what the realm does (a login storm looks
    /// once per arrival), and at most <see cref="NamesPerSummary"/> names, then how many others.
    /// </summary>
    private string OthersHere(Player player, Realm.Territory here)
    {
        var names = new List<string>();
        int others = 0;
        foreach (SessionId session in _game.GroupMembers(TerritoryGroup(here.Name)))
        {
            if (_state.Sessions.TryGetValue(session, out Visitor? visitor) && PlayerOf(visitor) is { } other && other != player)
            {
                if (names.Count < NamesPerSummary)
                {
                    names.Add(NameOf(other));
                }
                else
                {
                    others++;
                }
            }
        }

        return others > 0 ? $"{string.Join(", ", names)} and {others} others" : string.Join(", ", names);
    }

    private void Go(Caller caller, string args)
    {
        Player player = caller.Player!;
        Realm.Territory here = Realm.Find(player.Location)!;
        if (args.Length == 0)
        {
            Usage(caller, "go");
            return;
        }

        if (Realm.Neighbour(here, args) is not { } there)
        {
            _game.Send(caller.Session, $"You can't go '{args}' from {here.Name}. Exits: {string.Join(", ", Realm.Exits(here).Select(e => $"{e.Direction} ({e.To.Name})"))}.");
            return;
        }

        string direction = Realm.Exits(here).First(e => e.To == there).Direction;
        _game.SendToGroup(TerritoryGroup(here.Name), $"{NameOf(player)} leaves {direction}.", except: caller.Session);
        _game.Leave(caller.Session, TerritoryGroup(here.Name));
        player.Location = there.Name;
        _game.SendToGroup(TerritoryGroup(there.Name), $"{NameOf(player)} arrives from the {Realm.Opposite(direction)}.");
        _game.Join(caller.Session, TerritoryGroup(there.Name));
        Look(caller, "");
        SendPlayer(player);
    }

    private void Map(Caller caller, string args) => _game.Send(caller.Session, MapText(caller.Player!));

    private void Who(Caller caller, string args)
    {
        Player[] online = [.. _playing.Keys.Select(key => _state.Players[key]).OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase)];
        if (online.Length == 0)
        {
            _game.Send(caller.Session, "Nobody is playing yet.");
            return;
        }

        _game.Send(caller.Session, $"Playing now ({online.Length}):\n" + string.Join("\n", online.Select(p =>
            $"  {NameOf(p)}{(p.IsAdmin ? " (admin)" : "")}{(p.IsGuest ? " (guest)" : "")} in {Ansi.Yellow(p.Location)}")));
    }

    // --- Talk ----------------------------------------------------------------------------------------------------

    private void Say(Caller caller, string args)
    {
        if (args.Length == 0)
        {
            Usage(caller, "say", "Say what?");
            return;
        }

        Player player = caller.Player!;
        _game.Send(caller.Session, $"You say: {args}");
        _game.SendToGroup(TerritoryGroup(player.Location), $"{NameOf(player)} says: {args}", except: caller.Session);
        SendChannelText(TerritoryGroup(player.Location), "say", player, args);
    }

    private void Chat(Caller caller, string args)
    {
        if (args.Length == 0)
        {
            Usage(caller, "chat", "Chat what?");
            return;
        }

        _game.SendToGroup(Online, $"{s_chatTag} {NameOf(caller.Player!)}: {args}");
        SendChannelText(Online, "chat", caller.Player!, args);
    }

    private void TellCommand(Caller caller, string args)
    {
        string[] words = args.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length < 2)
        {
            Usage(caller, "tell", words.Length == 0 ? "Tell whom?" : "Tell them what?");
            return;
        }

        if (OnlinePlayer(words[0]) is not { } target)
        {
            _game.Send(caller.Session, $"No player named '{words[0]}' is playing now. Type {Ansi.Cyan("who")} to see who is.");
            return;
        }

        Tell(target, $"{NameOf(caller.Player!)} tells you: {words[1]}");
        if (SessionOf(target) is { } heard)
        {
            _game.SendData(heard, "Comm.Channel.Text", Json(new Dictionary<string, object?>
            {
                ["channel"] = "tell",
                ["talker"] = caller.Player!.Name,
                ["text"] = $"{caller.Player!.Name} tells you: {words[1]}",
            }));
        }
        _game.Send(caller.Session, $"You tell {NameOf(target)}: {words[1]}");
    }

    // --- Admin ---------------------------------------------------------------------------------------------------

    private void Errors(Caller caller, string args)
    {
        IReadOnlyList<GameFailure> failures = _game.RecentFailures;
        if (failures.Count == 0)
        {
            _game.Send(caller.Session, "No failures since the server started.");
            return;
        }

        var text = new StringBuilder($"The last {failures.Count} failure(s), oldest first:");
        foreach (GameFailure failure in failures)
        {
            text.Append($"\n{failure.Time:HH:mm:ss} {Ansi.Red(failure.Summary)}");
        }

        _game.Send(caller.Session, text.ToString());
    }

    private async ValueTask Eval(Caller caller, string args)
    {
        // Compiled off the game thread; it runs here, on the game thread, before the answer comes back.
        string answer = await _game.EvaluateAsync(caller.Session, args, this);
        _game.Send(caller.Session, answer);
    }

    private void Reload(Caller caller, string args)
    {
        bool force = args.Equals("force", StringComparison.OrdinalIgnoreCase);
        _game.Send(caller.Session, force ? "Recompiling the game code; it may drop game state the new code does not keep; the result follows." : "Recompiling the game code; the result follows.");
        _game.RequestReload(force);
    }

    private void Announce(Caller caller, string args)
    {
        if (args.Length == 0)
        {
            Usage(caller, "announce", "Announce what?");
            return;
        }

        _game.SendToAll($"{Ansi.Bold(Ansi.Magenta("[announcement]"))} {args}");
    }

    private void Kick(Caller caller, string args)
    {
        if (args.Length == 0)
        {
            Usage(caller, "kick", "Kick whom?");
            return;
        }

        if (OnlinePlayer(args) is not { } target)
        {
            _game.Send(caller.Session, $"No player named '{args}' is playing now.");
            return;
        }

        _game.Disconnect(SessionOf(target)!.Value, $"You have been kicked by {caller.Player!.Name}.");

        _game.Send(caller.Session, $"Kicked {target.Name}.");
        _game.Log.LogWarning("{Admin} kicked {Player}", caller.Player!.Name, target.Name);
    }

    private void SaveWorld(Caller caller, string args)
    {
        _game.Send(caller.Session, "Saving the world...");
        _ = ReportSaveAsync(caller.Session); // not awaited here: the admin plays on while the database writes
    }

    private async Task ReportSaveAsync(SessionId session)
    {
        SaveResult saved = await _game.SaveAsync(); // the game goes on while the database writes; this resumes here after
        _game.Send(session, saved.Succeeded
            ? $"Saved (save #{saved.SaveId}, {saved.Bytes:N0} bytes): the game paused {saved.Stall.TotalMilliseconds:F1} ms, the database took {saved.Total.TotalMilliseconds:F0} ms."
            : Ansi.Red($"The save failed: {saved.Error}. The server keeps retrying and tells admins when it works again."));
    }

    private void Shutdown(Caller caller, string args)
    {
        _game.SendToAll($"{Ansi.Bold(Ansi.Magenta("[announcement]"))} {caller.Player!.Name} is shutting the server down.");
        _game.RequestShutdown($"the shutdown command from {caller.Player.Name}");
    }

    /// <summary>Levenshtein distance, for "did you mean".</summary>
    private static int Distance(string a, string b)
    {
        int[] previous = [.. Enumerable.Range(0, b.Length + 1)];
        for (int i = 1; i <= a.Length; i++)
        {
            int[] current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }
}
