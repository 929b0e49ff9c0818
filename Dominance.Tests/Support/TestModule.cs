using System.Buffers;
using System.Collections.Concurrent;
using Dominance.Api;

namespace Dominance.Tests.Support;

/// <summary>
/// A game module built to be observed: it records every input and the thread of every callback, and has commands that
/// exercise the API (groups, timers, await, exceptions, echo, floods). The recordings are concurrent collections only
/// so that the test thread can read them; the module itself runs on the game thread like any other.
/// </summary>
internal sealed class TestModule : IGameModule
{
    public const string Everyone = "everyone";

    private readonly ManualResetEventSlim _hold = new(true);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private IGameContext _context = null!;

    /// <summary>Every input, in the order the module received it.</summary>
    public ConcurrentQueue<(SessionId Session, string Line)> Inputs { get; } = new();

    /// <summary>The callback name and managed thread id of every callback and continuation.</summary>
    public ConcurrentQueue<(string Callback, int ThreadId)> Threads { get; } = new();

    /// <summary>Sessions seen connecting, and disconnecting.</summary>
    public ConcurrentQueue<SessionId> Connected { get; } = new();

    public ConcurrentQueue<SessionId> Disconnected { get; } = new();

    /// <summary>Sessions that came back on a new connection (<see cref="IGameModule.OnResume"/>).</summary>
    public ConcurrentQueue<SessionId> Resumed { get; } = new();

    /// <summary>While reset, the <c>hold</c> command blocks the game thread (to fill the inbound channel on purpose).</summary>
    public ManualResetEventSlim Hold => _hold;

    public IGameContext Context => _context;

    /// <summary>Sessions whose <c>block</c> input found them gone after its await.</summary>
    public ConcurrentQueue<SessionId> GoneAfterAwait { get; } = new();

    /// <summary>
    /// The gate that a <c>block name</c> input awaits; the test completes it. Completed off the game thread, its
    /// continuation comes back to the game thread like any await in game code.
    /// </summary>
    public TaskCompletionSource Gate(string name) =>
        _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Start(IGameContext context, ReadOnlyMemory<byte> state)
    {
        _context = context;
        Record("Start");
    }

    public void OnConnect(SessionId session)
    {
        Record("OnConnect");
        Connected.Enqueue(session);
        _context.Join(session, Everyone);
        _context.Send(session, $"Welcome {session}");
    }

    public async ValueTask OnInput(SessionId session, string line)
    {
        Record("OnInput");
        Inputs.Enqueue((session, line));
        string[] words = line.Split(' ', 3);
        string rest = line.Length > words[0].Length ? line[(words[0].Length + 1)..] : "";
        switch (words[0])
        {
            case "say":
                _context.Send(session, $"You say: {rest}");
                _context.SendToGroup(Everyone, $"{session} says: {rest}", except: session);
                break;
            case "echo":
                _context.Send(session, rest);
                break;
            case "tell":
                _context.Send(new SessionId(long.Parse(words[1])), words.Length > 2 ? words[2] : "");
                _context.Send(session, "told");
                break;
            case "join":
                _context.Join(session, rest);
                _context.Send(session, $"joined {rest}");
                break;
            case "leave":
                _context.Leave(session, rest);
                _context.Send(session, $"left {rest}");
                break;
            case "group":
                _context.SendToGroup(words[1], $"[{words[1]}] {words[2]}");
                break;
            case "members":
                _context.Send(session, "members: " + string.Join(",", _context.GroupMembers(rest).Select(s => s.Value).Order()));
                break;
            case "throw":
                throw new InvalidOperationException("boom from game code");
            case "throwlater":
                await Task.Yield();
                throw new InvalidOperationException("boom after await");
            case "await":
                int before = Environment.CurrentManagedThreadId;
                int worker = await Task.Run(() => Environment.CurrentManagedThreadId);
                Record("continuation");
                _context.Send(session, $"awaited: worker={(worker != before ? "other" : "same")} resumed={(Environment.CurrentManagedThreadId == before ? "game" : "elsewhere")}");
                break;
            case "timer":
                _context.Schedule(TimeSpan.FromMilliseconds(int.Parse(words[1])), () =>
                {
                    Record("timer");
                    _context.Send(session, "timer fired");
                });
                break;
            case "repeat":
                int remaining = int.Parse(words[1]);
                GameTimer? timer = null;
                timer = _context.ScheduleRepeating(TimeSpan.FromMilliseconds(10), () =>
                {
                    Record("repeat");
                    _context.Send(session, $"tick {remaining}");
                    if (--remaining == 0)
                    {
                        timer!.Cancel();
                    }
                });
                break;
            case "block":
                await Gate(rest).Task;
                Record("unblocked");
                if (_context.GetInfo(session) is null)
                {
                    GoneAfterAwait.Enqueue(session);
                }

                _context.Send(session, $"unblocked {rest}");
                break;
            case "hold":
                _hold.Wait(); // deliberately blocks the game thread: only tests do this
                break;
            case "flood":
                string chunk = new('x', int.Parse(words[2]));
                for (int i = 0; i < int.Parse(words[1]); i++)
                {
                    _context.SendToAll(chunk);
                }

                _context.Send(session, "flooded");
                break;
            case "echooff":
                _context.SetEcho(session, false);
                break;
            case "echoon":
                _context.SetEcho(session, true);
                break;
            case "size":
                // One word, which no window wraps: size=WIDTHxHEIGHT;terminal=TYPE.
                SessionInfo sized = _context.GetInfo(session)!;
                _context.Send(session, $"size={sized.Width}x{sized.Height};terminal={sized.TerminalType}");
                break;
            case "info":
                SessionInfo info = _context.GetInfo(session)!;
                _context.Send(session, $"info protocol={info.Protocol} width={info.Width} height={info.Height} terminal={info.TerminalType} oob={info.SupportsOutOfBand}");
                break;
            case "client":
                SessionInfo client = _context.GetInfo(session)!;
                _context.Send(session, $"client name={client.ClientName} version={client.ClientVersion} terminal={client.TerminalType} mtts={(int?)client.Mtts} " +
                    $"charset={client.Charset} colors={client.Colors} prompts={client.MarksPrompts} gmcp={string.Join(",", client.GmcpModules.Order(StringComparer.Ordinal))}");
                break;
            case "prompt":
                _context.SendPrompt(session, rest);
                break;
            case "std":
                // A package named by the test, to this session and to everyone: the server decides who wants it.
                _context.SendData(session, words[1], words.Length > 2 ? words[2] : "");
                _context.SendDataToGroup(Everyone, words[1] + ".Group", words.Length > 2 ? words[2] : "");
                _context.Send(session, "std sent");
                break;
            case "wants":
                _context.Send(session, $"wants {words[1]}={_context.GroupWants(Everyone, words[1])}");
                break;
            case "ansi":
                // One line in every SGR form a terminal renders: 256 colours and 24-bit colour, foreground and
                // background, underline and reverse video, and the resets of each.
                _context.Send(session, "\u001b[38;5;196mred256\u001b[0m \u001b[48;5;21mbg256\u001b[49m \u001b[38;2;255;128;0mtrue\u001b[39m " +
                    "\u001b[48;2;0;64;0mtruebg\u001b[0m \u001b[4munder\u001b[24m \u001b[7mreverse\u001b[27m \u001b[1;32mgreen\u001b[39mdefault\u001b[0m end");
                break;
            case "sample":
                // The same text and GMCP message to this session alone ("sample self"), or to everyone as one
                // broadcast ("sample all"): colour, Latin-1 letters, the character that is IAC in Latin-1, and a line
                // that a narrow window wraps.
                const string Sample = "\u001b[1;31mcaf\u00e9\u001b[0m <\u00ff\u00ff> \u20ac " +
                    "and a line long enough to be wrapped by a window of twenty columns, \u001b[32mgreen\u001b[0m at its end";
                if (rest == "all")
                {
                    _context.SendToGroup(Everyone, Sample);
                    _context.SendDataToGroup(Everyone, "Test.Sample", "{\"s\":\"caf\u00e9\"}");
                }
                else
                {
                    _context.Send(session, Sample);
                    _context.SendData(session, "Test.Sample", "{\"s\":\"caf\u00e9\"}");
                }

                break;
            case "data":
                _context.SendData(session, "Test.Data", "{\"n\":1}");
                _context.Send(session, "data sent");
                break;
            case "create" or "login":
                // Started before any await, as a login normally is, so that the server binds the session to the account.
                Task<AccountResult> pending = words[0] == "create"
                    ? _context.Accounts.CreateAsync(words[1], "password1", System.Net.IPAddress.Loopback)
                    : _context.Accounts.LoginAsync(words[1], "password1", System.Net.IPAddress.Loopback);
                AccountResult result = await pending;
                _context.Send(session, result.Succeeded ? $"logged in {result.Account!.Name}" : $"refused: {result.Error}");
                break;
            case "quit":
                // "quit N": a goodbye of N characters more (a large last output).
                _context.Disconnect(session, rest.Length == 0 ? "Goodbye." : "Goodbye. " + new string('g', int.Parse(rest)));
                break;
            case "shutdown":
                _context.RequestShutdown("the test asked");
                _context.Send(session, "shutdown requested");
                break;
            default:
                _context.Send(session, $"unknown: {line}");
                break;
        }
    }

    public void OnData(SessionId session, string package, string json)
    {
        Record("OnData");
        _context.Send(session, $"got data {package} {json}");
    }

    public void OnDisconnect(SessionId session)
    {
        Record("OnDisconnect");
        Disconnected.Enqueue(session);
    }

    public void OnResume(SessionId session)
    {
        Record("OnResume");
        Resumed.Enqueue(session);
    }

    public void ExportState(IBufferWriter<byte> output) => Record("ExportState");

    public void Stop() => Record("Stop");

    private void Record(string callback) => Threads.Enqueue((callback, Environment.CurrentManagedThreadId));
}
