using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace DominanceGame;

/// <summary>
/// Dominance, the built-in game: a realm of sixteen territories. Players create a character, walk between territories,
/// talk, raise soldiers from what their territories yield every tick, and send them to conquer their neighbours.
/// </summary>
/// <remarks>
/// This file is the module's lifecycle and the path of one line of input. <c>Commands.cs</c> holds the commands (add
/// yours there), <c>Strategy.cs</c> the tick, the battles and the map, <c>Realm.cs</c> the map itself and
/// <c>GameState.cs</c> everything that is remembered. Every method runs on the game thread, one at a time.
/// Settings (section <c>Game</c>): <c>TickSeconds</c> (10), <c>Seed</c> (random), <c>Guests</c> (true),
/// <c>StartingResources</c> (100), <c>AbandonDays</c> (14: territories of a player away this long, in the realm's
/// time, fall free; 0 never).
/// </remarks>
public sealed partial class DominanceGame : IGameModule
{
    /// <summary>The group of everyone playing: chat, announcements and map updates go to it.</summary>
    private const string Online = "online";

    private IGameContext _game = null!;
    private GameState _state = new();

    /// <summary>The session playing each character, by player key: the reverse of <see cref="Visitor.Player"/>, rebuilt on start.</summary>
    private readonly Dictionary<string, SessionId> _playing = [];

    /// <summary>Sessions whose create or login is being checked (off the game thread, so other input comes meanwhile).</summary>
    private readonly HashSet<SessionId> _loggingIn = [];

    /// <summary>
    /// Lines that arrived for a session while its create or login was being checked, in order. A session listed here
    /// runs nothing else until the check has ended and these lines have run, so it can never act as two identities at
    /// once. (A command that takes its time for another reason, an admin's save, does not hold the session's next lines
    /// up.) This and <see cref="_loggingIn"/> are not part of the state: the work they wait for belongs to this generation.
    /// </summary>
    private readonly Dictionary<SessionId, Queue<string>> _waiting = [];

    /// <summary>The most lines one session may have waiting; past it, lines are refused with a word to the player.</summary>
    private const int MaxWaitingLines = 100;

    private Dictionary<string, Command> _commands = [];
    private TimeSpan _tickInterval;
    private bool _guestsAllowed;
    private int _startingResources;
    private TimeSpan _abandonAfter;
    private long _abandonTicks;

    /// <summary>Set when this generation is replaced or the server stops: work still pending must not touch its state.</summary>
    private bool _stopped;

    public void Start(IGameContext context, ReadOnlyMemory<byte> state)
    {
        _game = context;
        _tickInterval = TimeSpan.FromSeconds(context.Settings.GetValue("TickSeconds", 10.0));
        _guestsAllowed = context.Settings.GetValue("Guests", true);
        _startingResources = Math.Clamp(context.Settings.GetValue("StartingResources", 100), 0, MaxResources);
        _abandonAfter = TimeSpan.FromDays(Math.Max(0, context.Settings.GetValue("AbandonDays", 14.0)));
        _abandonTicks = (long)Math.Ceiling(_abandonAfter / _tickInterval);
        _state = context.State.Read<GameState>(state) ?? NewWorld(context.Settings.GetValue<ulong?>("Seed"));
        foreach (Realm.Territory territory in Realm.Territories)
        {
            _state.Territories.TryAdd(territory.Name, new Holding { Garrison = territory.NeutralGarrison });
        }

        if (Repair() is > 0 and int repaired)
        {
            _game.Log.LogWarning("Brought {Count} quantities of the saved world back within the game's limits", repaired);
        }

        foreach (Player player in _state.Players.Values)
        {
            player.LastSeenTick ??= _state.Tick; // a world from before LastSeenTick: nobody has been away yet
        }

        // After a reload every session is still connected; after a restart (state from a world save) none is. Forget
        // the connections that are gone, and the guests who came with them.
        var connected = new HashSet<SessionId>(context.Sessions);
        foreach ((SessionId session, Visitor visitor) in _state.Sessions.ToList())
        {
            if (!connected.Contains(session))
            {
                _state.Sessions.Remove(session);
            }
            else if (visitor.Player is { } key)
            {
                _playing[key] = session;
            }
        }

        foreach (Player guest in _state.Players.Values.Where(p => p.IsGuest && !_playing.ContainsKey(Key(p.Name))).ToList())
        {
            _state.Players.Remove(Key(guest.Name));
        }

        _commands = BuildCommands();
        context.ScheduleRepeating(_tickInterval, Tick);
    }

    public void ExportState(IBufferWriter<byte> output) => _game.State.Write(output, _state);

    public void Stop() => _stopped = true;

    public void OnConnect(SessionId session)
    {
        _state.Sessions[session] = new Visitor();
        _game.Send(session, $"""

            {Ansi.Bold(Ansi.Yellow("D O M I N A N C E"))}
            Sixteen territories. Soldiers to raise. Neighbours to conquer.

              {Ansi.Cyan("create <name> <password>")}    start a new character
              {Ansi.Cyan("connect <name> <password>")}   return to your character
              {Ansi.Cyan("connect guest")}               look around as a guest

            Type {Ansi.Cyan("help")} for everything else.
            """);
        _game.SendData(session, "Dominance.Map", MapJson()); // the browser client's realm overview before login
    }

    public ValueTask OnInput(SessionId session, string line)
    {
        if (_waiting.TryGetValue(session, out Queue<string>? waiting))
        {
            if (waiting.Count < MaxWaitingLines)
            {
                waiting.Enqueue(line);
            }
            else
            {
                _game.Send(session, Ansi.Red("Still working on your last command; that line was not run. Type it again in a moment."));
            }

            return ValueTask.CompletedTask;
        }

        ValueTask running = Handle(session, line);
        if (running.IsCompleted || !_loggingIn.Contains(session))
        {
            return running; // done, or a command the session's next lines need not wait for
        }

        _waiting[session] = new Queue<string>();
        return RunInOrderAsync(session, running);
    }

    /// <summary>Waits for a session's create or login, then runs the lines that arrived meanwhile, one at a time, in order.</summary>
    private async ValueTask RunInOrderAsync(SessionId session, ValueTask running)
    {
        try
        {
            while (true)
            {
                try
                {
                    await running; // resumes on the game thread
                }
                catch (Exception e)
                {
                    ReportFailure(session, e);
                }

                if (!_waiting.TryGetValue(session, out Queue<string>? waiting) || _game.GetInfo(session) is null)
                {
                    return; // the session has gone
                }

                if (_stopped)
                {
                    if (waiting.Count > 0)
                    {
                        _game.Send(session, Ansi.Red($"The game was updated while your command was running, so the {waiting.Count} line{(waiting.Count == 1 ? "" : "s")} you typed meanwhile did not run. Type {(waiting.Count == 1 ? "it" : "them")} again."));
                    }

                    return;
                }

                if (!waiting.TryDequeue(out string? line))
                {
                    return;
                }

                try
                {
                    running = Handle(session, line);
                }
                catch (Exception e)
                {
                    running = ValueTask.FromException(e); // reported above, like a failure after an await
                }

                if (!running.IsCompleted && !_loggingIn.Contains(session))
                {
                    _ = ObserveAsync(session, running); // not a login: the lines after it need not wait for it
                    running = ValueTask.CompletedTask;
                }
            }
        }
        finally
        {
            _waiting.Remove(session);
        }
    }

    private async Task ObserveAsync(SessionId session, ValueTask running)
    {
        try
        {
            await running;
        }
        catch (Exception e)
        {
            ReportFailure(session, e);
        }
    }

    /// <summary>What the server does for a failed command (see <see cref="IGameModule"/>), for the commands this module runs itself.</summary>
    private void ReportFailure(SessionId session, Exception e)
    {
        _game.Log.LogError(e, "Game code failed while handling input from session {Session}", session);
        _game.Send(session, "Something went wrong while handling that. The error has been logged.");
    }

    /// <summary>Runs one line of input: a password being typed, or a command.</summary>
    private ValueTask Handle(SessionId session, string line)
    {
        if (!_state.Sessions.TryGetValue(session, out Visitor? visitor))
        {
            visitor = _state.Sessions[session] = new Visitor();
        }

        if (visitor.PasswordFor is not null)
        {
            return PasswordEnteredAsync(session, visitor, line);
        }

        string text = line.Trim();
        if (text.Length == 0)
        {
            return ValueTask.CompletedTask;
        }

        if (text[0] == '\'')
        {
            text = "say " + text[1..];
        }

        int space = text.IndexOf(' ');
        string verb = (space < 0 ? text : text[..space]).ToLowerInvariant();
        string rest = space < 0 ? "" : text[(space + 1)..].Trim();
        var caller = new Caller(session, visitor, PlayerOf(visitor));

        if (_commands.TryGetValue(verb, out Command? command))
        {
            return Allowed(caller, command) ? command.Run(caller, rest) : ValueTask.CompletedTask;
        }

        if (caller.Player is not null && Realm.Direction(verb) is not null)
        {
            Go(caller, verb);
            return ValueTask.CompletedTask;
        }

        Unknown(session, verb);
        return ValueTask.CompletedTask;
    }

    public void OnDisconnect(SessionId session)
    {
        _waiting.Remove(session);
        _loggingIn.Remove(session);
        if (_state.Sessions.Remove(session, out Visitor? visitor) && PlayerOf(visitor) is { } player)
        {
            LeaveWorld(session, visitor, player);
            _game.SendToGroup(Online, $"{NameOf(player)} has left the realm.");
        }
    }

    /// <summary>Takes the character a session plays out of the world: it is no longer online, and a guest is forgotten.</summary>
    private void LeaveWorld(SessionId session, Visitor visitor, Player player)
    {
        visitor.Player = null;
        if (_playing.TryGetValue(Key(player.Name), out SessionId playing) && playing == session)
        {
            _playing.Remove(Key(player.Name));
        }

        player.LastSeenTick = _state.Tick;
        if (player.IsGuest)
        {
            _state.Players.Remove(Key(player.Name));
        }
    }

    private static GameState NewWorld(ulong? seed) =>
        new() { Dice = seed ?? (ulong)Environment.TickCount64 * 0x9E3779B97F4A7C15UL };

    /// <summary>Who sent a command: the connection, its visitor record, and the player it plays (if it is logged in).</summary>
    private readonly record struct Caller(SessionId Session, Visitor Visitor, Player? Player);

    private Player? PlayerOf(Visitor visitor) =>
        visitor.Player is { } key && _state.Players.TryGetValue(key, out Player? player) ? player : null;

    private static string Key(string name) => name.ToLowerInvariant();

    /// <summary>The session playing <paramref name="player"/>, if the player is online (never more than one: see <see cref="Enter"/>).</summary>
    private SessionId? SessionOf(Player player) => _playing.TryGetValue(Key(player.Name), out SessionId session) ? session : null;

    private Player? OnlinePlayer(string name) =>
        _state.Players.TryGetValue(Key(name), out Player? player) && SessionOf(player) is not null ? player : null;

    private void Tell(Player player, string text)
    {
        if (SessionOf(player) is { } session)
        {
            _game.Send(session, text);
        }
    }

    private static string NameOf(Player player) =>
        player.IsGuest ? Ansi.Gray(player.Name) : player.IsAdmin ? Ansi.Magenta(player.Name) : Ansi.Blue(player.Name);

    private static string TerritoryGroup(string territory) => "territory:" + territory;

    /// <summary>Puts a logged-in character into the world on this connection.</summary>
    private void Enter(SessionId session, Visitor visitor, Player player)
    {
        // One identity per session: whatever this session played before leaves the world first. (Commands run one at a
        // time per session, and create and connect refuse a session that plays: this only guards that rule.)
        if (PlayerOf(visitor) is { } before && before != player)
        {
            LeaveWorld(session, visitor, before);
        }

        // The same character logged in twice: the newer connection takes over and the older one is told why.
        string key = Key(player.Name);
        if (_playing.TryGetValue(key, out SessionId other) && other != session)
        {
            _state.Sessions[other].Player = null;
            _game.Disconnect(other, "Your character has just been connected from another session, so this one is closing.");
        }

        visitor.Player = key;
        player.LastSeenTick = _state.Tick;
        _playing[key] = session;
        bool landless = !player.IsGuest && !Holds(player) && GrantLand(player) is null; // a newcomer's home, or a second chance
        _game.Join(session, Online);
        _game.Join(session, TerritoryGroup(player.Location));
        if (player.IsAdmin)
        {
            _game.Join(session, IGameContext.AdminGroup);
        }

        _game.Send(session, $"Welcome, {NameOf(player)}.{(player.IsAdmin ? " You are an admin." : "")}");
        _game.SendToGroup(Online, $"{NameOf(player)} has entered the realm.", except: session);
        if (landless)
        {
            _game.Send(session, LandlessNotice);
        }

        Look(new Caller(session, visitor, player), "");
        SendPlayer(player);
        _game.SendData(session, "Dominance.Map", MapJson());
    }
}
