namespace DominanceGame;

public sealed partial class DominanceGame
{
    /// <summary>Arrivals (or departures) told to the whole realm one by one in each second; later ones wait for the summary.</summary>
    private const int ComingsPerSecond = 5;

    /// <summary>Names a summary lists before it says "and N others".</summary>
    private const int NamesPerSummary = 10;

    /// <summary>
    /// Tells everyone online who enters (or leaves) the realm, at a cost that grows with the number of players, not its
    /// square. Each message to the realm goes to everyone online, so a message per arrival would make a reconnect storm
    /// (a server restart: everybody logs in again at once) cost n² deliveries. The first
    /// <see cref="ComingsPerSecond"/> in a second are told one by one, as they happen; the rest of that second are
    /// gathered into one summary, sent when the second is over (<c>Guest4, Guest5 and 40 others have entered the
    /// realm.</c>). A storm of n arrivals over s seconds then costs at most (<see cref="ComingsPerSecond"/> + 1) × s
    /// messages to each of the n players.
    /// </summary>
    /// <remarks>A generation that is replaced sends its summary at once (<see cref="Flush"/>), so a reload loses none.</remarks>
    private sealed class Comings(IGameContext game, string verbOne, string verbMany)
    {
        private readonly List<string> _waiting = [];
        private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
        private int _toldInWindow;
        private int _others;
        private GameTimer? _summary;

        /// <summary>Tells the realm about one player, except the player's own session (which may be gone already).</summary>
        public void Tell(string name, SessionId? except)
        {
            DateTimeOffset now = game.Now;
            if (now - _windowStart >= TimeSpan.FromSeconds(1))
            {
                _windowStart = now;
                _toldInWindow = 0;
            }

            if (_toldInWindow < ComingsPerSecond && _summary is null)
            {
                _toldInWindow++;
                game.SendToGroup(Online, $"{name} {verbOne}.", except);
                return;
            }

            // Over the rate: the summary at the end of this second names it. (A player who arrives now and is in the
            // realm when the summary goes sees their own name in it: that is fine.)
            if (_waiting.Count < NamesPerSummary)
            {
                _waiting.Add(name);
            }
            else
            {
                _others++;
            }

            _summary ??= game.Schedule(_windowStart + TimeSpan.FromSeconds(1) - now, Flush);
        }

        /// <summary>Sends the summary of those not yet told about, if there are any.</summary>
        public void Flush()
        {
            _summary?.Cancel();
            _summary = null;
            if (_waiting.Count == 0)
            {
                return;
            }

            // The second the summary used starts when it is decided: the clock is read before the summary goes out. Read
            // after, a clock moved by another thread (a test's) between the two could start that second after an
            // arrival that the summary's recipient then causes, and hold the arrival for a summary that never comes.
            DateTimeOffset now = game.Now;

            string names = _others > 0 ? $"{string.Join(", ", _waiting)} and {_others} others"
                : _waiting.Count == 1 ? _waiting[0]
                : $"{string.Join(", ", _waiting.Take(_waiting.Count - 1))} and {_waiting[^1]}";
            game.SendToGroup(Online, $"{names} {(_waiting.Count + _others == 1 ? verbOne : verbMany)}.");
            _waiting.Clear();
            _others = 0;

            // The summary used this second's share: the next arrival starts a new second.
            _windowStart = now;
            _toldInWindow = ComingsPerSecond;
        }
    }
}
