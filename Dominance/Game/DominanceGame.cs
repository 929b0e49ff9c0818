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

    private Dictionary<string, Command> _commands = [];
    private Comings _arrivals = null!;
    private Comings _departures = null!;
    private TimeSpan _tickInterval;
    private bool _guestsAllowed;
    private int _startingResources;
    private TimeSpan _abandonAfter;
    private long _abandonTicks;

    /// <summary>
    /// Set when this generation is replaced or the server stops: work still pending must not touch its state. (A reload
    /// waits for a create or login in progress, but only so long: one that takes longer finishes here.)
    /// </summary>
    private bool _stopped;

    public void Start(IGameContext context, ReadOnlyMemory<byte> state)
    {
        _game = context;
        _arrivals = new Comings(context, "has entered the realm", "have entered the realm");
        _departures = new Comings(context, "has left the realm", "have left the realm");
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

    public void Stop()
    {
        _stopped = true;
        _arrivals.Flush(); // the next generation starts with no summary pending
        _departures.Flush();
    }

    /// <summary>What a new connection is shown first: the same for everyone, so it is built once.</summary>
    private static readonly string s_banner = $"""

        {Ansi.Bold(Ansi.Yellow("D O M I N A N C E"))}
        Sixteen territories. Soldiers to raise. Neighbours to conquer.

          {Ansi.Cyan("create <name> <password>")}    start a new character
          {Ansi.Cyan("connect <name> <password>")}   return to your character
          {Ansi.Cyan("connect guest")}               look around as a guest

        Type {Ansi.Cyan("help")} for everything else.
        """;

    public void OnConnect(SessionId session)
    {
        _state.Sessions[session] = new Visitor();
        if (_game.GetInfo(session) is { Restoring: true })
        {
            return; // back from before a core restart: OnRestored puts the character back, with no banner first
        }

        _game.Send(session, s_banner);
        SendMap(session); // the browser client's realm overview before login
    }

    /// <summary>
    /// One line of input: a password being typed, or a command. The server hands a session's lines over one at a time:
    /// while a create or login awaits its password check, that player's next lines wait (and other players' do not).
    /// </summary>
    public ValueTask OnInput(SessionId session, string line)
    {
        ValueTask handled = Handle(session, line);
        if (handled.IsCompletedSuccessfully)
        {
            Prompt(session);
            return handled;
        }

        return PromptAfterAsync(session, handled);
    }

    private async ValueTask PromptAfterAsync(SessionId session, ValueTask handled)
    {
        await handled;
        if (!_stopped)
        {
            Prompt(session);
        }
    }

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
            if (command.Need == Need.Admin)
            {
                // Admin commands are audited, allowed or not. Their arguments name players or carry announcements, never a password.
                _game.Audit.LogInformation(
                    "Admin command '{Command}' by {Player} (session {Session}){Refused}",
                    rest.Length == 0 ? command.Name : $"{command.Name} {rest}", caller.Player?.Name ?? "a visitor", session,
                    caller.Player is { IsAdmin: true } ? "" : ": refused, not an admin");
            }

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

    /// <summary>
    /// The game core restarted while this player's portal kept the connection: the server vouches that the session
    /// played <paramref name="account"/>, so the character comes back without a password.
    /// </summary>
    public async ValueTask OnRestored(SessionId session, string account)
    {
        Account? found = await _game.Accounts.FindAsync(account);
        if (_game.GetInfo(session) is null || _stopped)
        {
            return;
        }

        if (found is null)
        {
            _game.Send(session, Ansi.Red($"The account {account} is no longer here. Create a character or log in again."));
            return;
        }

        if (!_state.Sessions.TryGetValue(session, out Visitor? visitor))
        {
            visitor = _state.Sessions[session] = new Visitor();
        }

        if (PlayerOf(visitor) is null)
        {
            _game.Send(session, "The world is back, and so are you.");
            Enter(session, visitor, CharacterOf(found));
        }
    }

    public void OnDisconnect(SessionId session)
    {
        if (_state.Sessions.Remove(session, out Visitor? visitor) && PlayerOf(visitor) is { } player)
        {
            LeaveWorld(session, visitor, player);
            _departures.Tell(NameOf(player), except: null);
        }
    }

    /// <summary>
    /// The player's client lost its connection and came back within the server's grace period: the character never
    /// left. The text it missed has been delivered; the browser client cleared its map when the connection dropped, so
    /// it gets the realm and the player again.
    /// </summary>
    public void OnResume(SessionId session)
    {
        if (_state.Sessions.TryGetValue(session, out Visitor? visitor) && PlayerOf(visitor) is { } player)
        {
            SendPlayer(player);
        }

        SendMap(session);
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
        if (player.IsGuest)
        {
            _game.MarkPlaying(session); // a player online (MSSP), with no account to give back after a core restart
        }
        else
        {
            _game.SetAccount(session, player.Name); // lets a restarted core give this session its character back
        }

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
        _arrivals.Tell(NameOf(player), except: session);
        if (landless)
        {
            _game.Send(session, LandlessNotice);
        }

        Look(new Caller(session, visitor, player), "");
        SendCharacter(session, player, name: true);
        SendPlayer(player);
        SendMap(session);
    }
}
