using System.Net;
using Dominance.Api;
using Dominance.Core;

namespace Dominance.Tests.Core;

/// <summary>
/// A fan-out hands each member's frame to its portal's broadcast (<see cref="IBroadcastSink"/>) when the portal has
/// one and takes it, else to the member's link; each portal's broadcast is ended before another's begins and before
/// the fan-out returns, so a session's frames cannot overtake each other.
/// </summary>
public sealed class BroadcastHandOffTests
{
    [Test]
    public void EachMemberGoesToItsPortalsBroadcastOrItsLinkAndEveryBroadcastIsEndedBeforeTheNextAndTheReturn()
    {
        var log = new List<string>();
        var first = new Sink("first", log, refuse: "b");
        var second = new Sink("second", log, refuse: null);
        var table = new SessionTable();
        Link[] links = [new("a", first, log), new("b", first, log), new("c", null, log), new("d", second, log), new("e", first, log)];
        long id = 0;
        foreach (Link link in links)
        {
            table.Join(table.Add(link, Info(++id), now: 0), "all");
        }

        OutputPayload payload = OutputPayload.ForLine("hello");
        table.SendToGroup("all", OutputKind.Text, payload, except: null, outOfBandOnly: false);
        log.Add("returned");

        Assert.That(log, Is.EqualTo(new[]
        {
            "first takes a", "b's link", "c's link", "first ends", "second takes d", "second ends", "first takes e", "first ends", "returned",
        }));

        // The links that took the frame hold the only references left: the broadcasts copied and took none.
        Assert.That(links.Where(l => l.Held is not null).Select(l => l.Name), Is.EqualTo(new[] { "b", "c" }));
        Assert.That(links.Single(l => l.Name == "b").Held!.Span.ToArray(), Is.EqualTo("hello\r\n"u8.ToArray()));
    }

    private static SessionInfo Info(long id) => new()
    {
        Id = new SessionId(id),
        Protocol = ClientProtocol.WebSocket,
        RemoteAddress = IPAddress.Loopback,
        ConnectedAt = DateTimeOffset.UnixEpoch,
    };

    private sealed class Sink(string name, List<string> log, string? refuse) : IBroadcastSink
    {
        public bool TryAdd(ISessionLink link, OutputKind kind, OutputPayload payload)
        {
            string who = ((Link)link).Name;
            if (who == refuse)
            {
                return false;
            }

            log.Add($"{name} takes {who}");
            return true;
        }

        public void End() => log.Add($"{name} ends");
    }

    private sealed class Link(string name, IBroadcastSink? sink, List<string> log) : ISessionLink
    {
        public string Name => name;

        public OutputPayload? Held { get; private set; }

        public IBroadcastSink? Broadcasts => sink;

        public bool TrySend(OutputKind kind, OutputPayload payload)
        {
            log.Add($"{name}'s link");
            Held = payload;
            return true;
        }

        public void Close(OutputPayload? goodbye) => goodbye?.Release();

        public void SetEcho(bool enabled)
        {
        }

        public void SetRestoreToken(string token)
        {
        }
    }
}
