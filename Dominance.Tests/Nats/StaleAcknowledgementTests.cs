using Dominance.Tests.Support;

namespace Dominance.Tests.Nats;

/// <summary>
/// A real portal process attached to a <see cref="ScriptedCore"/> over a real nats-server: acknowledgements that were
/// sent before the portal attached again, and arrive after it, forget nothing of what the portal sent since.
/// </summary>
public sealed class StaleAcknowledgementTests
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
        // No heartbeat timeout in the test's time: the portal attaches again only when the scripted core makes it.
        await using ServerProcess portal = ServerProcess.Start(["portal", "--Nats:HeartbeatTimeout=00:10:00"], nats.Environment(Secret));
        await portal.WaitUntilRunningAsync();
        await Poll.UntilAsync(() => core.Attaches == 1, "the portal attaches");
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
}
