using System.Buffers;

namespace Dominance.Api;

/// <summary>
/// The game logic. The server creates one instance per loaded generation of the game code and calls it only on the
/// game thread, one call at a time, so a module needs no locks. Continuations of <c>await</c> inside these methods also
/// resume on the game thread.
/// </summary>
/// <remarks>
/// <para>Lifecycle: <see cref="Start"/> once; then any number of connect, input and disconnect calls; then
/// <see cref="ExportState"/> (when the code is reloaded or the world is saved) and finally <see cref="Stop"/> when this
/// generation is replaced or the server stops. A module that throws from a callback only fails that callback: the
/// server logs the exception, tells the session that caused it, and goes on.</para>
/// <para><b>One input at a time per session.</b> If <see cref="OnInput"/> awaits (it returns a task that has not
/// completed), that session's next inputs wait until it completes, in order; other sessions, timers and
/// continuations go on meanwhile. For example, a login that awaits a password hash:</para>
/// <code>
/// public async ValueTask OnInput(SessionId session, string line)
/// {
///     if (line.StartsWith("connect "))
///     {
///         AccountResult result = await _game.Accounts.LoginAsync(...); // the hash runs off the game thread
///         // The same player's next line ("north") has waited; nobody else did. It runs once this returns, so
///         // no flag is needed against a second login racing this one.
///     }
/// }
/// </code>
/// <para>Two things still happen while such an input awaits: the player may leave (<see cref="OnDisconnect"/> runs at
/// once; lines the player sent after this one are dropped; after the await <see cref="IGameContext.GetInfo"/> returns
/// <see langword="null"/>), and other sessions' inputs, timers and out-of-band data run. A reload waits for inputs in
/// flight (up to two seconds) before it swaps the code, so that the state handed over includes what they did.</para>
/// </remarks>
public interface IGameModule
{
    /// <summary>
    /// Starts this generation of the game. <paramref name="state"/> is empty for a fresh world, or holds what a previous
    /// generation wrote in <see cref="ExportState"/> (a reload or a save). Sessions that are already connected are listed
    /// in <see cref="IGameContext.Sessions"/>. Throwing here rejects this generation and keeps the previous one.
    /// </summary>
    void Start(IGameContext context, ReadOnlyMemory<byte> state);

    /// <summary>A client connected. The session can be sent to at once.</summary>
    void OnConnect(SessionId session);

    /// <summary>
    /// One line of input from a session, with the line ending removed. The portal has already applied rate and size
    /// limits; everything else (parsing, commands) is the module's business. The session's next input is not handed
    /// over until the returned task completes (see the remarks on <see cref="IGameModule"/>).
    /// </summary>
    ValueTask OnInput(SessionId session, string line);

    /// <summary>
    /// An out-of-band message from a client that negotiated out-of-band data (for example GMCP <c>Core.Hello</c>).
    /// <paramref name="json"/> is the raw payload after the package name, possibly empty.
    /// </summary>
    void OnData(SessionId session, string package, string json)
    {
    }

    /// <summary>
    /// The session has gone: the client left, was disconnected, or timed out. It can no longer be sent to. For a session
    /// logged in to an account whose connection dropped, this comes only once the grace period for resuming it is over
    /// (see <see cref="OnResume"/>).
    /// </summary>
    void OnDisconnect(SessionId session);

    /// <summary>
    /// A session that had lost its connection is back, on a new one, with the same id: its player's client presented
    /// the session's resume token within the server's grace period (<c>Core:ResumeGrace</c>). Nothing else changed for
    /// the game: there was no <see cref="OnDisconnect"/> and is no <see cref="OnConnect"/>; the output sent meanwhile
    /// has been delivered. A module that draws state on the client (a map over out-of-band data) may send it again here.
    /// </summary>
    void OnResume(SessionId session)
    {
    }

    /// <summary>
    /// The game core restarted, and a session that played <paramref name="account"/> in the core before is connected to
    /// this one: its portal (in another process, over NATS) kept the connection, and the server verified the resume
    /// token it got when the game called <see cref="IGameContext.SetAccount"/>. Unlike <see cref="OnResume"/>, the game
    /// knows nothing of this session yet: <see cref="OnConnect"/> has just run (with <see cref="SessionInfo.Restoring"/>
    /// set, so it can leave out what it says to a newcomer), and the character is not in the world.
    /// Put the player back as a login would, without asking for the password. Handed over like an input: the session's
    /// next inputs wait for it. By default nothing happens, and the player logs in again.
    /// </summary>
    ValueTask OnRestored(SessionId session, string account) => ValueTask.CompletedTask;

    /// <summary>
    /// Writes this generation's whole state, normally with <see cref="IGameContext.State"/>.
    /// The next generation, or the next start after a save, receives it in <see cref="Start"/>.
    /// </summary>
    void ExportState(IBufferWriter<byte> output)
    {
    }

    /// <summary>This generation is being replaced or the server is stopping. Its timers are cancelled afterwards.</summary>
    void Stop()
    {
    }
}
