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
    /// A real core, and a scripted portal that sends an input again after its first copy arrived (its acknowledgement was
    /// late, or lost), then again with the next input behind it. The core runs each input once, and goes on; before, it
    /// took the repeat for a gap, logged the portal's players off and asked it to attach again.
    /// </summary>
    [Test]
    public async Task AnInputSentAgainAfterItArrivedRunsOnceAndWhatFollowsItRuns()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using TestServer server = await TestServer.StartAsync(s =>
        {
            s.Nats.Url = nats.Url;
            s.Nats.User = nats.User;
            s.Nats.Password = nats.Password;
            s.Nats.Secret = Secret;
        });
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
