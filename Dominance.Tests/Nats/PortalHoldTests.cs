using System.Globalization;
using System.Text.RegularExpressions;
using Dominance.Nats;
using Dominance.Tests.Support;
using NATS.Client.Core;

namespace Dominance.Tests.Nats;

/// <summary>
/// What a portal process keeps for its core while none is attached, over a real nats-server: bounded by its open
/// sessions, whatever the length of the outage and however often a core comes and goes without acknowledging.
/// </summary>
public sealed partial class PortalHoldTests
{
    private const string Secret = "the-shared-secret-of-this-test";

    /// <summary>
    /// Connections come and go while no core is attached, each typing a line. What the portal kept for them is forgotten
    /// once they have gone (no core will hear of them): it holds no more than its one open session's share. Before, the
    /// connect and input of every session that had left stayed until a core attached, and grew with the outage.
    /// </summary>
    [Test]
    public async Task ConnectionsThatComeAndGoWhileNoCoreIsAttachedLeaveNothingHeldBehind()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using ServerProcess portal = await StartPortalWithoutCoreAsync(nats);
        for (int i = 0; i < 200; i++)
        {
            await using TelnetTestClient passing = await TelnetTestClient.ConnectAsync(portal.Telnet);
            await passing.Lines.WaitForAsync("The world is restarting");
            await passing.SendAsync($"say passing {i}");
        }

        using var http = new HttpClient();
        await Poll.UntilAsync(
            async () => (await http.GetStringAsync($"http://{portal.Http}/metrics")).Contains("dominance_sessions{otel_scope_name=\"Dominance\",transport=\"telnet\"} 0", StringComparison.Ordinal),
            "every passing session has gone (its departure is queued for the relay)");
        // Connected after those departures were queued: told once the relay has taken them all.
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await alice.Lines.WaitForAsync("The world is restarting");

        Assert.That(await HeldEventsAsync(http, portal), Is.LessThanOrEqualTo(10), "a few at most: not the 200 connects and inputs of sessions that have left");
    }

    /// <summary>
    /// A player's held inputs go to a core that attaches, and that core goes silent before acknowledging them: they are
    /// held again, and still count against <c>Nats:HoldCapacity</c>, so her next input is refused. Before, the count
    /// started again from zero at every attach, and a core that kept coming and going without acknowledging let the
    /// held inputs grow by the capacity each time.
    /// </summary>
    [Test]
    public async Task InputsReplayedToACoreThatWentSilentBeforeAcknowledgingStillCountAgainstTheHold()
    {
        await using NatsServer nats = await NatsServer.StartAsync();
        await using ServerProcess portal = await StartPortalWithoutCoreAsync(nats);
        await using TelnetTestClient alice = await TelnetTestClient.ConnectAsync(portal.Telnet);
        await alice.Lines.WaitForAsync("The world is restarting");
        await alice.SendAsync("say one");
        await alice.SendAsync("say two");
        await alice.SendAsync("say three");

        // A core that answers one attach, takes the replay, and then says nothing: no heartbeat, no acknowledgement.
        var settings = new NatsSettings { Url = nats.Url, User = nats.User, Password = nats.Password, Secret = Secret };
        await using var core = new NatsConnection(settings.ClientOptions("test-silent-core"));
        await core.ConnectAsync();
        INatsSub<byte[]> inbound = await core.SubscribeCoreAsync<byte[]>(Wire.AllInbound(settings.Subject));
        await using (INatsSub<byte[]> attach = await core.SubscribeCoreAsync<byte[]>(Wire.Attach(settings.Subject)))
        {
            using var deadline = new CancellationTokenSource(Poll.Deadline);
            NatsMsg<byte[]> request = await attach.Msgs.ReadAsync(deadline.Token);
            var reply = new WireWriter();
            reply.Byte(Wire.Version);
            reply.Byte(1);
            reply.String("silent-core");
            reply.String("");
            reply.Number(1); // the attach's number
            await request.ReplyAsync(reply.Written.ToArray(), cancellationToken: deadline.Token);
            await inbound.Msgs.ReadAsync(deadline.Token); // the replay: her connect and three inputs
        }

        await Poll.UntilAsync(() => portal.Output.Contains("Lost core silent-core", StringComparison.Ordinal), "the portal notices the silent core");
        await alice.SendAsync("say four");
        await alice.SendAsync("say five");
        await alice.SendAsync("say six");
        await alice.SendAsync("say seven");
        string refused = await alice.Lines.WaitForAsync("was not kept");
        Assert.That(refused, Does.Contain("3 of your commands are already waiting").And.Contain("\"say four\""), "the three replayed and not acknowledged count");
        using var http = new HttpClient();
        Assert.That(await HeldEventsAsync(http, portal), Is.EqualTo(4), "her connect and three inputs");
        await inbound.DisposeAsync();
    }

    /// <summary>Starts a portal (with a hold of three inputs, without a command rate limit) that no core answers.</summary>
    private static async Task<ServerProcess> StartPortalWithoutCoreAsync(NatsServer nats)
    {
        ServerProcess portal = ServerProcess.Start(
            ["portal", "--Portal:CommandRateLimit=0", "--Portal:ConnectionRateLimit=0", "--Nats:HoldCapacity=3"], nats.Environment(Secret));
        await portal.WaitUntilRunningAsync();
        return portal;
    }

    private static async Task<int> HeldEventsAsync(HttpClient http, ServerProcess portal)
    {
        string metrics = await http.GetStringAsync($"http://{portal.Http}/metrics");
        Match held = HeldEvents().Match(metrics);
        Assert.That(held.Success, Is.True, metrics);
        return int.Parse(held.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"dominance_core_held_events\{[^}]*\} (\d+)")]
    private static partial Regex HeldEvents();
}
