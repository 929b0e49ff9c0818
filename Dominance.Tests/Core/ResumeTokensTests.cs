using Dominance.Api;
using Dominance.Core;
using Dominance.Tests.Support;

namespace Dominance.Tests.Core;

/// <summary>A resume token proves an account for one session, until it expires, to any core that holds the same key.</summary>
public sealed class ResumeTokensTests
{
    private static readonly byte[] s_key = ResumeTokens.KeyFromSecret("a secret of the test, long enough");

    [Test]
    public void AnotherCoreWithTheSameKeyVerifiesIt()
    {
        var clock = new ManualClock();
        string token = new ResumeTokens(s_key, clock, TimeSpan.FromHours(1)).Issue("Alice|Admin", new SessionId(42));

        var restarted = new ResumeTokens(ResumeTokens.KeyFromSecret("a secret of the test, long enough"), clock, TimeSpan.FromHours(1));
        Assert.That(restarted.TryVerify(token, new SessionId(42)), Is.EqualTo("Alice|Admin"));
    }

    [Test]
    public void AForgedExpiredOrMovedTokenIsRefused()
    {
        var clock = new ManualClock();
        var tokens = new ResumeTokens(s_key, clock, TimeSpan.FromHours(1));
        string token = tokens.Issue("Alice", new SessionId(42));

        Assert.That(tokens.TryVerify(token, new SessionId(43)), Is.Null, "another session");
        Assert.That(tokens.TryVerify(token.Replace("Alice", "Admin", StringComparison.Ordinal), new SessionId(42)), Is.Null, "another account");
        Assert.That(tokens.TryVerify(token[..^1] + (token[^1] == '0' ? '1' : '0'), new SessionId(42)), Is.Null, "a changed MAC");
        Assert.That(tokens.TryVerify("garbage", new SessionId(42)), Is.Null);
        Assert.That(new ResumeTokens(ResumeTokens.KeyFromSecret("another secret, long enough too"), clock, TimeSpan.FromHours(1)).TryVerify(token, new SessionId(42)), Is.Null, "another key");

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(2));
        Assert.That(tokens.TryVerify(token, new SessionId(42)), Is.Null, "expired");
    }
}
