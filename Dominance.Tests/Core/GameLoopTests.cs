using System.Text;
using Dominance.Hosting;
using Dominance.Tests.Support;

namespace Dominance.Tests.Core;

/// <summary>The game thread: affinity, failures, idle logoff, backpressure and shutdown, over real sockets.</summary>
public sealed class GameLoopTests
{
    [Test]
    public async Task EveryGameCallbackRunsOnTheGameThread()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using (TelnetTestClient client = await server.TelnetAsync())
        {
            await client.Lines.WaitForAsync("Welcome");
            await client.SendAsync("await");
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("awaited: worker=other resumed=game"));
            await client.SendAsync("timer 1");
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("timer fired"));
            await client.SendAsync("repeat 3");
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("tick 3"));
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("tick 2"));
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("tick 1"));
            await client.SendAsync("quit");
            await client.Lines.ClosedAsync();
        }

        await Poll.UntilAsync(() => server.TestModule.Disconnected.Count == 1, "the disconnect reached the module");
        int gameThread = server.Server.Core.GameThreadId;
        (string Callback, int ThreadId)[] calls = [.. server.TestModule.Threads];
        Assert.That(calls.Select(c => c.Callback).Distinct(), Is.SupersetOf(new[] { "Start", "OnConnect", "OnInput", "continuation", "timer", "repeat", "OnDisconnect" }));
        Assert.That(calls.Where(c => c.ThreadId != gameThread), Is.Empty, $"every callback on the game thread ({gameThread})");
        Assert.That(gameThread, Is.Not.EqualTo(Environment.CurrentManagedThreadId));
    }

    [Test]
    public async Task AnExceptionInGameCodeIsLoggedTheSessionToldAndTheLoopGoesOn()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient culprit = await server.TelnetAsync();
        await using TelnetTestClient bystander = await server.TelnetAsync();
        await culprit.Lines.WaitForAsync("Welcome");
        await bystander.Lines.WaitForAsync("Welcome");

        await culprit.SendAsync("throw");
        Assert.That(await culprit.Lines.NextAsync(), Is.EqualTo("Something went wrong while handling that. The error has been logged."));
        await culprit.SendAsync("throwlater");
        Assert.That(await culprit.Lines.NextAsync(), Is.EqualTo("Something went wrong while handling that. The error has been logged."));
        await culprit.SendAsync("echo still connected");
        Assert.That(await culprit.Lines.NextAsync(), Is.EqualTo("still connected"));
        await bystander.SendAsync("echo unaffected");
        Assert.That(await bystander.Lines.NextAsync(), Is.EqualTo("unaffected"));

        Assert.That(server.Log.Contains("boom from game code"), Is.True);
        Assert.That(server.Log.Contains("boom after await"), Is.True);
        Assert.That(server.Log.Lines.Count(l => l.StartsWith("Error Dominance.Core: Game code failed while handling throw from session", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task IdleSessionsAreToldAndDisconnectedWhileActiveOnesStay()
    {
        // The server's clock moves only when the test moves it, so no real delay decides who is idle.
        var clock = new ManualClock();
        await using TestServer server = await TestServer.StartAsync(s => s.Core.IdleTimeout = TimeSpan.FromMinutes(10), clock: clock);
        await using TelnetTestClient idle = await server.TelnetAsync();
        await using TelnetTestClient active = await server.TelnetAsync();
        await idle.Lines.WaitForAsync("Welcome");
        await active.Lines.WaitForAsync("Welcome");

        // The active client types every 6 minutes, for longer than the timeout; the other never does.
        clock.Advance(TimeSpan.FromMinutes(6));
        await active.SendAsync("echo one");
        await active.Lines.WaitForAsync("one");
        // The game thread runs due timers right after the inputs of the same turn; this runs on its next turn.
        Assert.That(await server.Server.Core.InvokeAsync(() => server.Server.Core.OpenSessions), Is.EqualTo(2), "nobody has been idle for 10 minutes yet");

        clock.Advance(TimeSpan.FromMinutes(6));
        await active.SendAsync("echo two"); // wakes the game thread, which finds the idle check due
        await active.Lines.WaitForAsync("two");

        Assert.That(await idle.Lines.NextAsync(), Is.EqualTo("You have been idle for 10 minutes. Goodbye."));
        await idle.Lines.ClosedAsync();
        await Poll.UntilAsync(() => server.TestModule.Disconnected.Count == 1, "the game is told the idle session left");

        clock.Advance(TimeSpan.FromMinutes(6));
        await active.SendAsync("echo still here");
        Assert.That(await active.Lines.WaitForAsync("still here"), Is.EqualTo("still here"), "18 minutes connected, never 10 idle");
        Assert.That(await server.Server.Core.InvokeAsync(() => server.Server.Core.OpenSessions), Is.EqualTo(1), "only the idle session left");
    }

    [Test]
    public async Task AnIdleTimeoutOfZeroSchedulesNoIdleChecks()
    {
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Core.IdleTimeout = TimeSpan.Zero;
            s.Persistence.SaveInterval = TimeSpan.Zero; // the periodic save is a timer too
        });
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");
        int timers = await server.Server.Core.InvokeAsync(() => server.Server.Core.Timers.Count);
        Assert.That(timers, Is.Zero);
    }

    [Test]
    public async Task WhenTheInboundChannelIsFullSessionsWaitAndNothingIsLost()
    {
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Core.InboundCapacity = 4;
            s.Portal.CommandRateLimit = 0;
        });
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        server.TestModule.Hold.Reset();
        await client.SendAsync("hold"); // the game thread now blocks (test module only)
        await Poll.UntilAsync(() => server.TestModule.Inputs.Count == 1, "the game thread is holding");
        await client.SendRawAsync(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 500).Select(i => $"echo {i}\r\n"))));
        await Poll.UntilAsync(() => server.Server.Core.Inbound.Count == 4, "the inbound channel filled up");

        server.TestModule.Hold.Set();
        for (int i = 0; i < 500; i++)
        {
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo($"{i}"));
        }

        Assert.That(server.TestModule.Inputs.Skip(1).Select(i => i.Line), Is.EqualTo(Enumerable.Range(0, 500).Select(i => $"echo {i}")));
    }

    [Test]
    public async Task AShutdownRequestedByGameCodeNeverHoldsTheGameThread()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient client = await server.TelnetAsync();
        await client.Lines.WaitForAsync("Welcome");

        // Stopping the host runs every ApplicationStopping handler before StopApplication returns. Hold one: if the game
        // thread made that call itself, it would be stuck here with it, and answer nothing more.
        var handlerRuns = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        using CancellationTokenRegistration holding = server.Server.Stopping.Register(() =>
        {
            handlerRuns.Set();
            release.Wait();
        });

        try
        {
            await client.SendAsync("shutdown");
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("shutdown requested"));
            await Poll.UntilAsync(() => handlerRuns.IsSet, "the stopping handlers run");
            await client.SendAsync("echo still serving");
            Assert.That(await client.Lines.NextAsync(), Is.EqualTo("still serving"), "the game thread went on while the host was stopping");
        }
        finally
        {
            release.Set(); // whatever happened, let the shutdown finish
        }

        await client.Lines.WaitForAsync(ServerLifetime.ShutdownMessage);
    }

    [Test]
    public async Task AShutdownWhileGameCodeIsStuckEndsWithinItsDeadlinesAndReportsTheFailure()
    {
        TestServer server = await TestServer.StartAsync(s =>
        {
            s.Portal.ShutdownGrace = TimeSpan.FromSeconds(1);
            s.Persistence.ShutdownSaveTimeout = TimeSpan.FromSeconds(1);
        });
        try
        {
            await using TelnetTestClient client = await server.TelnetAsync();
            await client.Lines.WaitForAsync("Welcome");
            server.TestModule.Hold.Reset();
            await client.SendAsync("hold"); // game code that never returns, as an endless loop would
            await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "hold"), "the game thread is stuck");

            await server.DisposeAsync(); // a graceful stop; it must end on its own deadlines

            Assert.That(server.Server.ShutdownFailure, Does.StartWith("the game thread did not answer"), "a shutdown that could not save is not a success");
            Assert.That(server.Log.Contains("Shutdown failed: the game thread did not answer within 00:00:01"), Is.True);
            await client.Lines.ClosedAsync();
        }
        finally
        {
            server.TestModule.Hold.Set();
        }
    }

    [Test]
    public async Task GracefulShutdownTellsEveryoneFlushesQueuedOutputAndCloses()
    {
        TestServer server = await TestServer.StartAsync();
        await using TelnetTestClient telnet = await TelnetTestClient.ConnectAsync(server.Telnet, receiveBufferSize: 4096);
        await using WebSocketTestClient web = await server.WebSocketAsync();
        await telnet.Lines.WaitForAsync("Welcome");
        await web.Lines.WaitForAsync("Welcome");

        // Stop reading, and have the game queue far more output than the socket buffers hold.
        telnet.PauseReading();
        await telnet.SendAsync("flood 400 1000");
        await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line.StartsWith("flood", StringComparison.Ordinal)), "the flood was queued");

        Task stopping = server.DisposeAsync().AsTask();
        telnet.ResumeReading();

        Assert.That(await telnet.Lines.WaitForAsync(ServerLifetime.ShutdownMessage), Is.EqualTo(ServerLifetime.ShutdownMessage));
        Assert.That(telnet.Lines.Seen.Count(l => l.Length == 1000), Is.EqualTo(400), "all queued output arrived before the goodbye");
        await telnet.Lines.ClosedAsync();
        Assert.That(await web.Lines.WaitForAsync(ServerLifetime.ShutdownMessage), Is.EqualTo(ServerLifetime.ShutdownMessage));
        await web.Lines.ClosedAsync();
        await stopping;
        Assert.That(server.TestModule.Threads.Select(t => t.Callback), Does.Contain("Stop"));
    }
}
