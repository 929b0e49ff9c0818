namespace Dominance.Core;

/// <summary>
/// How many players are in the game now, read-only and from any thread: what the portal tells MUD listing crawlers
/// (MSSP <c>PLAYERS</c>) without reaching into the core's state. The core implements it (<see cref="GameLoop"/>).
/// </summary>
internal interface IPlayerCount
{
    /// <summary>Open sessions the game named as playing (<see cref="Api.IGameContext.MarkPlaying"/>, <see cref="Api.IGameContext.SetAccount"/>): guests too, parked ones included.</summary>
    int PlayersOnline { get; }
}
