using Dominance.Api;
using Dominance.Tests.Support;

namespace Dominance.Tests.Core;

/// <summary>
/// One input at a time per session: an input whose handler awaits holds back that session's next inputs (and only
/// that session's), across a disconnect and across a reload's swap.
/// </summary>
public sealed class InputOrderTests
{
    [Test]
    public async Task ASessionsNextInputWaitsForItsAwaitingInputWhileOtherSessionsAreServed()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient alice = await server.TelnetAsync();
        await using TelnetTestClient bob = await server.TelnetAsync();
        await alice.Lines.WaitForAsync("Welcome");
        await bob.Lines.WaitForAsync("Welcome");

        await alice.SendAsync("block login");
        await alice.SendAsync("echo after the login");
        await bob.SendAsync("echo bob is served");
        Assert.That(await bob.Lines.NextAsync(), Is.EqualTo("bob is served"), "another session is not held");
        await alice.SendAsync("timer 1");
        await bob.SendAsync("echo and again");
        Assert.That(await bob.Lines.NextAsync(), Is.EqualTo("and again"));
        Assert.That(server.TestModule.Inputs.Where(i => i.Line.StartsWith("echo after", StringComparison.Ordinal)), Is.Empty, "alice's next input waits");

        server.TestModule.Gate("login").SetResult();
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("unblocked login"));
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("after the login"), "then her waiting inputs run, in order");
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("timer fired"));
    }

    [Test]
    public async Task ASessionThatLeavesWhileAnInputAwaitsIsGoneAtOnceAndItsWaitingInputsAreDropped()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient bob = await server.TelnetAsync();
        await bob.Lines.WaitForAsync("Welcome");
        TelnetTestClient alice = await server.TelnetAsync();
        await alice.Lines.WaitForAsync("Welcome");
        SessionId aliceId = server.TestModule.Connected.Last();

        await alice.SendAsync("block hash");
        await alice.SendAsync("echo never handled");
        await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "block hash"), "the awaiting input started");
        await alice.DisposeAsync();

        await Poll.UntilAsync(() => server.TestModule.Disconnected.Contains(aliceId), "OnDisconnect ran while her input still awaited");
        server.TestModule.Gate("hash").SetResult();
        await Poll.UntilAsync(() => server.TestModule.GoneAfterAwait.Contains(aliceId), "after its await, the input found the session gone");

        await bob.SendAsync("echo still serving");
        Assert.That(await bob.Lines.NextAsync(), Is.EqualTo("still serving"));
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Does.Not.Contain("echo never handled"), "nobody was left to answer");
    }

    [Test]
    public async Task ASessionsQueueIsBoundedAndTheClientIsToldOnce()
    {
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Core.InboundCapacity = 4;
            s.Portal.CommandRateLimit = 0;
        });
        await using TelnetTestClient alice = await server.TelnetAsync();
        await alice.Lines.WaitForAsync("Welcome");

        await alice.SendAsync("block slow");
        for (int i = 0; i < 10; i++)
        {
            await alice.SendAsync($"echo {i}");
        }

        // Telnet's "are you there" is answered by the portal's read loop once it has relayed every line before it; once
        // the inbound channel is empty, the next turn of the game thread comes after they have all been dispatched.
        await alice.SendRawAsync([255, 246]);
        string[] replies = [await alice.Lines.NextAsync(), await alice.Lines.NextAsync()];
        Assert.That(replies, Has.Member("[Yes]"));
        Assert.That(replies, Has.One.StartsWith("Your earlier command is still running, and 4 more are waiting for it."));
        await Poll.UntilAsync(() => server.Server.Core.Inbound.Count == 0, "the game thread took every input");
        await server.Server.Core.InvokeAsync(() => 0);

        server.TestModule.Gate("slow").SetResult();
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("unblocked slow"));
        for (int i = 0; i < 4; i++)
        {
            Assert.That(await alice.Lines.NextAsync(), Is.EqualTo($"{i}"));
        }

        await alice.SendAsync("echo done");
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("done"), "the six over the bound were dropped, and only one notice was sent");
    }

    [Test]
    public async Task AReloadWaitsForAnAwaitingInputSoThatItsWorkIsHandedOverAndNothingInterleaves()
    {
        // The swap's wait has a deadline on the server's clock; this clock never reaches it.
        await using TestServer server = await TestServer.StartAsync(clock: new ManualClock());
        await using TelnetTestClient alice = await server.TelnetAsync();
        await alice.Lines.WaitForAsync("Welcome");
        await alice.SendAsync("block login");
        await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "block login"), "the awaiting input started");

        var next = new NextGeneration();
        Task<Dominance.Core.SwapResult> swap = server.Server.Core.SwapAsync(() => next, new StateSerializer());
        Assert.That(await server.Server.Core.InvokeAsync(() => server.Server.Core.Generation), Is.EqualTo(1), "the swap waits");
        await alice.SendAsync("echo typed during the wait");
        Assert.That(swap.IsCompleted, Is.False);

        server.TestModule.Gate("login").SetResult();
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("unblocked login"), "the old code finished its input");
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("generation 2: echo typed during the wait"), "and the next input ran in the new code");
        Assert.That((await swap).Succeeded, Is.True);

        string[] calls = [.. server.TestModule.Threads.Select(t => t.Callback)];
        Assert.That(Array.IndexOf(calls, "unblocked"), Is.LessThan(Array.LastIndexOf(calls, "ExportState")), "the state was exported after the input finished");
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Is.EqualTo(new[] { "block login" }), "the old code saw no later input");
    }

    [Test]
    public async Task AReloadDoesNotWaitForeverForAnInputThatNeverFinishes()
    {
        var clock = new ManualClock();
        await using TestServer server = await TestServer.StartAsync(clock: clock);
        await using TelnetTestClient alice = await server.TelnetAsync();
        await alice.Lines.WaitForAsync("Welcome");
        await alice.SendAsync("block forever");
        await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "block forever"), "the awaiting input started");

        Task<Dominance.Core.SwapResult> swap = server.Server.Core.SwapAsync(() => new NextGeneration(), new StateSerializer());
        await alice.SendAsync("echo typed during the wait");
        Assert.That(await server.Server.Core.InvokeAsync(() => server.Server.Core.Generation), Is.EqualTo(1), "the swap waits");

        clock.Advance(TimeSpan.FromSeconds(3));
        await server.Server.Core.InvokeAsync(() => 0); // wakes the loop, which finds the swap's wait over
        Assert.That((await swap).Succeeded, Is.True);
        Assert.That(await alice.Lines.NextAsync(), Is.EqualTo("generation 2: echo typed during the wait"), "the session's queue moved on to the new code");
        Assert.That(server.Log.Contains("input was still running in game generation 1"), Is.True);
    }

    /// <summary>The code a test swaps in: it answers every input with its generation.</summary>
    private sealed class NextGeneration : IGameModule
    {
        private IGameContext _context = null!;

        public void Start(IGameContext context, ReadOnlyMemory<byte> state) => _context = context;

        public void OnConnect(SessionId session)
        {
        }

        public ValueTask OnInput(SessionId session, string line)
        {
            _context.Send(session, $"generation 2: {line}");
            return ValueTask.CompletedTask;
        }

        public void OnDisconnect(SessionId session)
        {
        }
    }
}
