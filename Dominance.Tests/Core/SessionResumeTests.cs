using System.Text.Json;
using Dominance.Api;
using Dominance.Core;
using Dominance.Tests.Support;

namespace Dominance.Tests.Core;

/// <summary>
/// A logged-in session outlives its connection for the grace period (Core:ResumeGrace): parked, resumed with its token
/// on a new connection with what it missed, taken over from a connection not yet noticed gone, and ended when the grace
/// is over; forged and expired tokens, and tokens issued for another purpose, are refused. Real WebSockets on loopback, the server's own accounts.
/// </summary>
public sealed class SessionResumeTests
{
    [Test]
    public async Task AParkedSessionResumesWithTheOutputItMissedAndNoConnect()
    {
        await using TestServer server = await TestServer.StartAsync();
        TestModule game = server.TestModule;
        (WebSocketTestClient alice, SessionId id, string token) = await LogInAsync(server, "alice");
        await using WebSocketTestClient bob = await server.WebSocketAsync();
        await bob.Lines.WaitForAsync("Welcome");

        await alice.DisposeAsync(); // the connection drops without a close handshake
        await Poll.UntilAsync(() => server.Log.Contains($"Session {id} (alice) lost its connection"), "the server parks alice's session");
        await bob.SendAsync("say while you were away");
        await bob.Lines.WaitForAsync("You say: while you were away");

        await using WebSocketTestClient back = await server.WebSocketAsync(gmcp: true, resume: token);
        Assert.That(await back.Lines.NextAsync(), Is.EqualTo($"{BobId(bob)} says: while you were away"), "the missed line comes first, with no welcome");
        string renewed = await back.Data.WaitForAsync(SessionResume.TokenPackage + " ");
        Assert.That(TokenOf(renewed), Is.Not.Empty, "a resumed session gets a new token");

        await back.SendAsync("say I am back");
        Assert.That(await bob.Lines.WaitForAsync("I am back"), Is.EqualTo($"{id} says: I am back"), "the same session, as the game knows it");
        Assert.That(await back.Lines.NextAsync(), Is.EqualTo("You say: I am back"));
        Assert.That(back.Lines.Seen.Count(l => l.Contains("while you were away", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(game.Resumed, Is.EqualTo(new[] { id }));
        Assert.That(game.Disconnected, Does.Not.Contain(id), "the game saw no logout");
        Assert.That(game.Connected.Count(s => s != BobSession(bob)), Is.EqualTo(1), "and no second login");
    }

    [Test]
    public async Task AfterTheGraceThePlayerIsLoggedOffAndTheTokenIsRefusedWithAReason()
    {
        await using TestServer server = await TestServer.StartAsync(s => s.Core.ResumeGrace = TimeSpan.FromMilliseconds(300));
        TestModule game = server.TestModule;
        (WebSocketTestClient alice, SessionId id, string token) = await LogInAsync(server, "alice");

        await alice.DisposeAsync();
        await Poll.UntilAsync(() => game.Disconnected.Contains(id), "the grace period ends and the game is told alice left");
        Assert.That(server.Log.Contains($"Session {id} (alice) did not come back within"), Is.True, server.Log.Text);

        await using WebSocketTestClient late = await server.WebSocketAsync(gmcp: true, resume: token);
        string refusal = await late.Lines.NextAsync();
        Assert.That(refusal, Does.Contain("Your session has ended").And.Contain("Please log in again"));
        Assert.That(await late.Data.WaitForAsync(SessionResume.RefusedPackage + " "), Does.Contain("Please log in again"));
        Assert.That(await late.Lines.NextAsync(), Does.StartWith("Welcome #"), "then it is a new connection like any other");
        Assert.That(game.Resumed, Is.Empty);
    }

    [Test]
    public async Task ForgedAndExpiredTokensAreRefusedAndTheParkedSessionStaysForItsOwner()
    {
        await using TestServer server = await TestServer.StartAsync();
        TestModule game = server.TestModule;
        (WebSocketTestClient alice, SessionId id, string token) = await LogInAsync(server, "alice");
        await alice.DisposeAsync();
        await Poll.UntilAsync(() => server.Log.Contains($"Session {id} (alice) lost its connection"), "the server parks alice's session");

        var serverKey = ResumeTokens.LoadOrCreate(Path.Combine(server.Folder, "resume.key"));
        string[] refused =
        [
            ResumeTokens.Ephemeral().Issue(ResumeTokenPurpose.Resume, "alice", id, DateTimeOffset.UtcNow.AddHours(1)), // another key
            token[..^2] + (token[^2] == 'A' ? "BA" : "AA"), // altered
            "not-a-token",
            serverKey.Issue(ResumeTokenPurpose.Resume, "alice", id, DateTimeOffset.UtcNow.AddSeconds(-1)), // this server's, but expired
            serverKey.Issue(ResumeTokenPurpose.Resume, "mallory", id, DateTimeOffset.UtcNow.AddHours(1)), // another account's
            // A restore token (the portal's, for a core restart) for this very session: signed with the same key, but not for a resume.
            serverKey.Issue(ResumeTokenPurpose.Restore, "alice", id, DateTimeOffset.UtcNow.AddHours(1)),
        ];
        foreach (string bad in refused)
        {
            await using WebSocketTestClient intruder = await server.WebSocketAsync(gmcp: true, resume: bad);
            Assert.That(await intruder.Lines.NextAsync(), Does.Contain("Please log in again"), bad);
            Assert.That(await intruder.Lines.NextAsync(), Does.StartWith("Welcome #"), bad);
            await intruder.SendAsync("say hijack");
            Assert.That(await intruder.Lines.NextAsync(), Is.EqualTo("You say: hijack"));
        }

        Assert.That(game.Resumed, Is.Empty);
        await using WebSocketTestClient back = await server.WebSocketAsync(gmcp: true, resume: token);
        await Poll.UntilAsync(() => game.Resumed.Contains(id), "alice's own token still resumes her session");
        Assert.That(game.Disconnected, Does.Not.Contain(id));
    }

    [Test]
    public async Task AConnectionNotYetNoticedGoneIsTakenOverAndClosed()
    {
        await using TestServer server = await TestServer.StartAsync();
        TestModule game = server.TestModule;
        (WebSocketTestClient alice, SessionId id, string token) = await LogInAsync(server, "alice");
        await using (alice)
        {
            // As when a phone's network drops: the server has not noticed, and the client comes back on a new connection.
            await using WebSocketTestClient back = await server.WebSocketAsync(gmcp: true, resume: token);
            Assert.That(await alice.Lines.WaitForAsync("resumed on another connection"), Does.Contain("this one is closing"));
            Assert.That(await alice.Data.NextAsync(), Is.EqualTo(SessionResume.EndedPackage + " {}"), "the old client forgets its token: it will not take the session back");
            await alice.Lines.ClosedAsync();
            await back.SendAsync("say still me");
            Assert.That(await back.Lines.WaitForAsync("You say:"), Is.EqualTo("You say: still me"));
            Assert.That(game.Resumed, Is.EqualTo(new[] { id }));

            // The old connection's disconnect, which came after, ended nothing.
            await back.SendAsync("echo ping");
            Assert.That(await back.Lines.NextAsync(), Is.EqualTo("ping"));
            Assert.That(game.Disconnected, Does.Not.Contain(id));
        }
    }

    [Test]
    public async Task IdleLogoffStillEndsAParkedSession()
    {
        var clock = new ManualClock();
        await using TestServer server = await TestServer.StartAsync(
            s => (s.Core.IdleTimeout, s.Core.ResumeGrace) = (TimeSpan.FromMinutes(10), TimeSpan.FromHours(1)), clock: clock);
        TestModule game = server.TestModule;
        (WebSocketTestClient alice, SessionId id, string token) = await LogInAsync(server, "alice");
        await using WebSocketTestClient bob = await server.WebSocketAsync();
        await bob.Lines.WaitForAsync("Welcome");
        await alice.DisposeAsync();
        await Poll.UntilAsync(() => server.Log.Contains($"Session {id} (alice) lost its connection"), "the server parks alice's session");

        clock.Advance(TimeSpan.FromMinutes(11));
        await bob.SendAsync("echo wake up"); // a turn of the loop, which runs the timers now due
        await Poll.UntilAsync(() => game.Disconnected.Contains(id), "idle logoff ends the parked session within its grace period");
        Assert.That(server.Log.Contains($"Session {id} idle for"), Is.True, server.Log.Text);

        await using WebSocketTestClient late = await server.WebSocketAsync(gmcp: true, resume: token);
        Assert.That(await late.Lines.NextAsync(), Does.Contain("Your session has ended"));
    }

    [Test]
    public async Task ASessionClosedByTheGameIsNotParked()
    {
        await using TestServer server = await TestServer.StartAsync();
        TestModule game = server.TestModule;
        (WebSocketTestClient alice, SessionId id, string token) = await LogInAsync(server, "alice");
        await using (alice)
        {
            await alice.SendAsync("quit");
            Assert.That(await alice.Data.NextAsync(), Is.EqualTo(SessionResume.EndedPackage + " {}"), "the client is told to forget its token");
            await alice.Lines.ClosedAsync();
            await Poll.UntilAsync(() => game.Disconnected.Contains(id), "a quit ends the session at once");
        }

        await using WebSocketTestClient late = await server.WebSocketAsync(gmcp: true, resume: token);
        Assert.That(await late.Lines.NextAsync(), Does.Contain("Your session has ended"));
    }

    [Test]
    public async Task WithoutALoginThereIsNoTokenAndNothingIsParked()
    {
        await using TestServer server = await TestServer.StartAsync();
        TestModule game = server.TestModule;
        WebSocketTestClient visitor = await server.WebSocketAsync(gmcp: true);
        string welcome = await visitor.Lines.WaitForAsync("Welcome");
        var id = new SessionId(long.Parse(welcome["Welcome #".Length..]));
        await visitor.SendAsync("echo hi");
        await visitor.Lines.WaitForAsync("hi");
        await visitor.DisposeAsync();
        await Poll.UntilAsync(() => game.Disconnected.Contains(id), "a visitor's session ends with its connection");
        Assert.That(visitor.Data.Raw.Where(l => l.StartsWith(SessionResume.TokenPackage + " ", StringComparison.Ordinal)), Is.Empty);
    }

    /// <summary>Connects a GMCP WebSocket client, creates an account on it, and returns the client, its session and its token.</summary>
    private static async Task<(WebSocketTestClient Client, SessionId Id, string Token)> LogInAsync(TestServer server, string name)
    {
        WebSocketTestClient client = await server.WebSocketAsync(gmcp: true);
        string welcome = await client.Lines.WaitForAsync("Welcome");
        var id = new SessionId(long.Parse(welcome["Welcome #".Length..]));
        await client.SendAsync($"create {name}");
        Assert.That(await client.Lines.WaitForAsync("logged in"), Is.EqualTo($"logged in {name}"));
        string token = TokenOf(await client.Data.WaitForAsync(SessionResume.TokenPackage + " "));
        return (client, id, token);
    }

    private static string TokenOf(string message)
    {
        using JsonDocument json = JsonDocument.Parse(message[(SessionResume.TokenPackage.Length + 1)..]);
        Assert.That(json.RootElement.GetProperty("grace").GetInt32(), Is.GreaterThanOrEqualTo(0));
        return json.RootElement.GetProperty("token").GetString()!;
    }

    private static string BobId(WebSocketTestClient bob) => bob.Lines.Seen.First(l => l.StartsWith("Welcome ", StringComparison.Ordinal))["Welcome ".Length..];

    private static SessionId BobSession(WebSocketTestClient bob) => new(long.Parse(BobId(bob)[1..]));
}
