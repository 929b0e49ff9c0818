using Dominance.Nats;
using Dominance.Tests.Support;
using NATS.Client.Core;

namespace Dominance.Tests.Nats;

/// <summary>Attach requests the core cannot answer.</summary>
public sealed partial class ClusterTests
{
    /// <summary>
    /// An attach message published without a reply subject (a plain publish, not a request) cannot be answered. The core
    /// drops it and goes on answering attach requests: before, the failed reply ended its attach loop, and no portal
    /// could attach again for as long as that core ran.
    /// </summary>
    [Test]
    public async Task ACoreStillAttachesPortalsAfterAnAttachMessageWithoutAReplySubject()
    {
        await using var cluster = await Cluster.StartAsync();
        var settings = new NatsSettings { Url = cluster.Nats.Url, User = cluster.Nats.User, Password = cluster.Nats.Password, Secret = Secret };
        await using (var stray = new NatsConnection(settings.ClientOptions("test-stray-publisher")))
        {
            var w = new WireWriter();
            w.Byte(Wire.Version);
            w.String("stray");
            new AttachProof(Secret, settings.Subject, TimeProvider.System).Write(w, "stray");
            await stray.PublishAsync(Wire.Attach(settings.Subject), w.Written); // no reply subject: nobody to answer
            await stray.PingAsync(); // the NATS server has it, ahead of the portal's request below
        }

        await using ServerProcess portal = ServerProcess.Start(["portal"], cluster.Nats.Environment(Secret));
        await portal.WaitUntilRunningAsync();
        await Poll.UntilAsync(() => portal.Output.Contains("attached to core", StringComparison.Ordinal), "the portal attaches to the core");
        await using TelnetTestClient alice = await CreateOverTelnetAsync(portal, "Alice");
        await Poll.UntilAsync(() => cluster.Core.Output.Contains("without a reply subject", StringComparison.Ordinal), "the core logs the stray message it dropped");
    }
}
