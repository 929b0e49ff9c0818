using Dominance.Api;
using Dominance.Core;
using Dominance.Nats;
using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>
/// Messages sent under one attach of a portal that arrive after it attached again (in life a race between NATS
/// subjects and reader threads), delivered in that order by a scripted peer over a real nats-server: a real portal
/// process with a <see cref="ScriptedCore"/>, or a real core with a portal scripted in the test.
/// </summary>
public sealed class EarlierAttachTests
{
    private const string Secret = "the-shared-secret-of-this-test";

    /// <summary>
    /// The core asks the portal to attach again (as after a gap), and the portal replays its unacknowledged events,
    /// numbered from 1 again. A heartbeat or output batch the core sent before, acknowledging what it had received
    /// under the attach before, then arrives. Before, the portal took it for an acknowledgement of the replay, and forgot the player's
    /// input although the core had not received it under this attach: the next replay left it out, and the input was
    /// lost without a word.
    /// </summary>
    [TestCase(false, TestName = "AHeartbeatFromBeforeAReattachAcknowledgesNothingOfTheReplay")]
    [TestCase(true, TestName = "AnOutputBatchFromBeforeAReattachAcknowledgesNothingOfTheReplay")]
    public async Task AStaleAcknowledgementForgetsNothing(bool inOutput)
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using ScriptedCore core = await ScriptedCore.StartAsync(nats, Secret);
        await using ServerProcess portal = await core.StartPortalAsync();
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await alice.SendAsync("look");
        await Poll.UntilAsync(() => core.Inbound.Any(b => b.Attach == 1 && b.HasInput("look")), "the core receives the input");
        long received = core.Inbound.Where(b => b.Attach == 1).Max(b => b.First + b.Events.Count - 1);

        await core.AskToReattachAsync(attach: 1);
        await Poll.UntilAsync(() => core.Inbound.Any(b => b.Attach == 2 && b.HasInput("look")), "the portal attaches again and replays the input");

        // Sent before the re-attach: everything received under attach 1 (the connect, the client's facts, the input),
        // as many events as the replay has.
        if (inOutput)
        {
            await core.OutputAsync(attach: 1, acknowledged: received);
        }
        else
        {
            await core.HeartbeatAsync(attach: 1, acknowledged: received);
        }

        // The replay is lost too, and the core forgets the portal: the portal attaches a third time, and replays again.
        await Poll.UntilAsync(
            async () =>
            {
                await core.HeartbeatAsync(attach: null);
                return core.Inbound.Any(b => b.Attach == 3);
            },
            "the portal attaches a third time");
        ScriptedCore.Batch replay = core.Inbound.First(b => b.Attach == 3);
        Assert.That(replay.HasInput("look"), Is.True, "the input is replayed: nothing acknowledged it under attach 2");
    }

    /// <summary>
    /// An inbound batch sent under the portal's first attach arrives after the portal attached again, numbered from 1
    /// as the new attach's first batch is. The core drops it. Before, the core took it for the new attach's first
    /// batch (a session the portal had not connected again came in), and the real first batch for a gap: it dropped
    /// the portal's sessions and asked it to attach once more.
    /// </summary>
    [Test]
    public async Task AnInboundBatchFromBeforeAReattachIsDroppedAndTheNewAttachGoesOn()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await TestServer.StartAsync(s => nats.Configure(s, Secret));
        await using ScriptedPortal portal = ScriptedPortal.Start(nats, Secret);
        var alice = new SessionId((1L << 32) + 1);
        var bob = new SessionId((1L << 32) + 2);

        (string core, long first) = await portal.AttachAsync();
        await portal.SendAsync(core, first, 1, ScriptedPortal.Connect(alice));
        await Poll.UntilAsync(() => server.TestModule.Connected.Count == 1, "the core connects alice");
        (_, long second) = await portal.AttachAsync();
        await Poll.UntilAsync(() => server.TestModule.Disconnected.Count == 1, "the core drops the first attach's session");

        await portal.SendAsync(core, first, 1, ScriptedPortal.Connect(bob)); // sent before the second attach, arriving after it
        await portal.SendAsync(core, second, 1, ScriptedPortal.Connect(alice));
        await portal.SendAsync(core, second, 2, (InboundEvent.Input(alice, "after"), 2));

        await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "after"), "the core runs the second attach's input");
        Assert.That(server.TestModule.Connected, Is.EqualTo(new[] { alice, alice }), "bob, of the first attach's batch, never connects");
        Assert.That(server.Log.Contains("were lost on the way"), Is.False, server.Log.Text);
    }
}
