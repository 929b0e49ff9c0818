using System.Text.Json;

namespace DominanceGame;

/// <summary>
/// What the game does for MUD clients, through what the server tells it in <see cref="SessionInfo"/>: the prompt,
/// 256 colours where the client has them, and the standard GMCP packages
/// (<c>Char.Name</c>, <c>Char.Status</c>, <c>Room.Info</c> in the shape Mudlet's mapper reads, <c>Comm.Channel.Text</c>).
/// The server sends those packages only to clients that asked for their module (<c>Core.Supports.Set</c>).
/// </summary>
public sealed partial class DominanceGame
{
    /// <summary>The area every territory is in, for mappers.</summary>
    private const string Area = "The Realm";

    /// <summary>
    /// Sends the prompt, if this session shows prompts: by default those whose client marks them as prompts (telnet
    /// EOR), or as the player chose with <c>prompt on|off</c>. Not while a password is being typed.
    /// </summary>
    private void Prompt(SessionId session)
    {
        if (!_state.Sessions.TryGetValue(session, out Visitor? visitor) || visitor.PasswordFor is not null ||
            _game.GetInfo(session) is not { } info || !(visitor.Prompt ?? info.MarksPrompts))
        {
            return;
        }

        if (PlayerOf(visitor) is not { } player)
        {
            _game.SendPrompt(session, "> ");
            return;
        }

        string resources = $"{player.Resources} resources";
        if (info.Colors >= ColorSupport.Ansi256)
        {
            resources = Ansi.Color256(214, resources); // gold, where the client has the colour
        }

        long soldiers = _state.Territories.Values.Where(h => h.Owner == player.Name).Sum(h => h.Garrison);
        _game.SendPrompt(session, $"[{resources} | {soldiers} soldiers | {Ansi.Yellow(player.Location)}] > ");
    }

    private void PromptCommand(Caller caller, string args)
    {
        bool? choice = args.ToLowerInvariant() switch
        {
            "on" => true,
            "off" => false,
            "" => !(caller.Visitor.Prompt ?? _game.GetInfo(caller.Session)?.MarksPrompts ?? false),
            _ => null,
        };
        if (choice is not { } on)
        {
            Usage(caller, "prompt");
            return;
        }

        caller.Visitor.Prompt = on;
        _game.Send(caller.Session, on ? "The prompt is on." : "The prompt is off.");
    }

    /// <summary>GMCP <c>Char.Name</c> and <c>Char.Status</c>: who the player is and what they have.</summary>
    private void SendCharacter(SessionId session, Player player, bool name)
    {
        if (name && Wants(session, "Char.Name"))
        {
            _game.SendData(session, "Char.Name", Json(new Dictionary<string, object?> { ["name"] = player.Name, ["fullname"] = player.Name }));
        }

        if (!Wants(session, "Char.Status"))
        {
            return;
        }

        _game.SendData(session, "Char.Status", Json(new Dictionary<string, object?>
        {
            ["name"] = player.Name,
            ["resources"] = player.Resources,
            ["territories"] = _state.Territories.Values.Count(h => h.Owner == player.Name),
            ["soldiers"] = _state.Territories.Values.Where(h => h.Owner == player.Name).Sum(h => h.Garrison),
            ["location"] = player.Location,
            ["admin"] = player.IsAdmin,
            ["guest"] = player.IsGuest,
        }));
    }

    /// <summary>GMCP <c>Room.Info</c>, as Mudlet's mapper reads it: num, name, area, and exits by direction to num.</summary>
    private void SendRoom(SessionId session, Realm.Territory here)
    {
        if (!Wants(session, "Room.Info"))
        {
            return;
        }

        var exits = new Dictionary<string, object?>();
        foreach ((string direction, Realm.Territory to) in Realm.Exits(here))
        {
            exits[direction[..1]] = RoomNumber(to);
        }

        _game.SendData(session, "Room.Info", Json(new Dictionary<string, object?>
        {
            ["num"] = RoomNumber(here),
            ["name"] = here.Name,
            ["area"] = Area,
            ["environment"] = _state.Territories[here.Name].Owner is { } owner ? $"held by {owner}" : "neutral",
            ["coords"] = new[] { here.X, here.Y, 0 },
            ["exits"] = exits,
        }));
    }

    /// <summary>GMCP <c>Comm.Channel.Text</c> to a group: the channel, who spoke, and the line as shown.</summary>
    private void SendChannelText(string group, string channel, Player talker, string said)
    {
        if (_game.GroupWants(group, "Comm.Channel.Text")) // most chat goes to plain clients only: nothing is built for them
        {
            _game.SendDataToGroup(group, "Comm.Channel.Text", Json(new Dictionary<string, object?>
            {
                ["channel"] = channel,
                ["talker"] = talker.Name,
                ["text"] = channel == "say" ? $"{talker.Name} says: {said}" : $"[{channel}] {talker.Name}: {said}",
            }));
        }
    }

    /// <summary>The map (GMCP <c>Dominance.Map</c>) to every player online whose client takes it; built only if one does.</summary>
    private void SendMapToOnline()
    {
        if (_game.GroupWants(Online, "Dominance.Map"))
        {
            _game.SendDataToGroup(Online, "Dominance.Map", MapJson());
        }
    }

    /// <summary>
    /// Whether <paramref name="session"/> takes out-of-band <paramref name="package"/>: asked before its JSON is built, so
    /// that a login costs a plain client (most of a login storm) no serializing.
    /// </summary>
    private bool Wants(SessionId session, string package) => _game.GetInfo(session)?.Wants(package) == true;

    private static int RoomNumber(Realm.Territory territory)
    {
        for (int i = 0; i < Realm.Territories.Count; i++)
        {
            if (Realm.Territories[i] == territory)
            {
                return i + 1;
            }
        }

        return 0;
    }

    private string Json(Dictionary<string, object?> value) => JsonSerializer.Serialize(value, _game.State.Options);
}
