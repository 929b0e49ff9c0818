using Dominance.Api;
using Dominance.Core;
using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>
/// A portal's event lost on the way to the core when nothing follows it (core NATS is at most once: an input published
/// just as the NATS server comes back, say): the core sees no gap, so the portal must notice that it stays
/// unacknowledged and send it again; and the core must take an event sent again after its first copy did arrive once.
/// Scripted peers over a real nats-server deliver what in life is a race.
/// </summary>
public sealed class ResendTests
{
    private const string Secret = "the-shared-secret-of-this-test";

    /// <summary>
    /// A real portal process and a <see cref="ScriptedCore"/> that receives the player's input, and treats it as lost: its
    /// heartbeats go on acknowledging only what came before it. The portal sends it again, from the first event not
    /// acknowledged, under the same attach. Before, nothing did until the player typed again (the core would then see
    /// a gap): the input was lost without a word.
    /// </summary>
    [Test]
    public async Task ThePortalSendsAgainTheLastInputThatHeartbeatsLeaveUnacknowledged()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using ScriptedCore core = await ScriptedCore.StartAsync(nats, Secret);
        await using ServerProcess portal = await core.StartPortalAsync();
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await alice.SendAsync("look");
        await Poll.UntilAsync(() => core.Inbound.Any(b => b.HasInput("look")), "the core receives the input");
        ScriptedCore.Batch first = core.Inbound.First(b => b.HasInput("look"));
        long look = first.First + first.Events.ToList().FindIndex(e => e.Kind == InboundKind.Input && e.Text == "look");

        // The input is lost, as far as the core knows: it acknowledges everything before it, heartbeat after heartbeat.
        await Poll.UntilAsync(
            async () =>
            {
                await core.HeartbeatAsync(attach: 1, acknowledged: look - 1);
                return core.Inbound.Count(b => b.HasInput("look")) == 2;
            },
            "the portal sends the unacknowledged input again");

        ScriptedCore.Batch again = core.Inbound.Last(b => b.HasInput("look"));
        Assert.That(again.Attach, Is.EqualTo(1), "under the same attach: no re-attach");
        Assert.That(again.First, Is.EqualTo(look), "from the first event not acknowledged");
        Assert.That(again.Events[0].Text, Is.EqualTo("look"));
        Assert.That(core.Attaches, Is.EqualTo(1));
    }

    /// <summary>
    /// A real core, and a scripted portal that sends an input again after its first copy arrived (its acknowledgement was
    /// late, or lost), then again with the next input behind it. The core runs each input once, and goes on; before, it
    /// took the repeat for a gap, logged the portal's players off and asked it to attach again.
    /// </summary>
    [Test]
    public async Task AnInputSentAgainAfterItArrivedRunsOnceAndWhatFollowsItRuns()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await TestServer.StartAsync(s => nats.Configure(s, Secret));
        await using ScriptedPortal portal = ScriptedPortal.Start(nats, Secret);
        var alice = new SessionId((1L << 32) + 1);
        (string core, long attach) = await portal.AttachAsync();
        await portal.SendAsync(core, attach, 1, ScriptedPortal.Connect(alice), (InboundEvent.Input(alice, "look"), 2));
        await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "look"), "the core runs the input");

        await portal.SendAsync(core, attach, 2, (InboundEvent.Input(alice, "look"), 2)); // sent again: all of it arrived before
        await portal.SendAsync(core, attach, 2, (InboundEvent.Input(alice, "look"), 2), (InboundEvent.Input(alice, "north"), 3));
        await portal.SendAsync(core, attach, 4, (InboundEvent.Input(alice, "south"), 4));

        await Poll.UntilAsync(() => server.TestModule.Inputs.Any(i => i.Line == "south"), "the core runs what follows");
        Assert.That(server.TestModule.Inputs.Select(i => i.Line), Is.EqualTo(new[] { "look", "north", "south" }), "each input once, in order");
        Assert.That(server.TestModule.Disconnected, Is.Empty, "alice stays on");
        Assert.That(server.Log.Contains("were lost on the way"), Is.False, server.Log.Text);
        Assert.That(server.Log.Contains("arrived after"), Is.False, "no session-level repeat either: " + server.Log.Text);
    }
}
