using System.Runtime.Versioning;
using Dominance.Api;
using Dominance.Core;

namespace Dominance.Tests.Core;

/// <summary>Resume tokens: what one key signs, another key and any change refuse; expiry; the key file; the key from a shared secret.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class ResumeTokenTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 2, 7, 0, 0, TimeSpan.Zero);

    [Test]
    public void AFreshTokenSaysWhoItWasIssuedTo()
    {
        ResumeTokens tokens = ResumeTokens.Ephemeral();
        string token = tokens.Issue("Alice", new SessionId(42), s_now.AddMinutes(5));

        ResumeTokenCheck check = tokens.Check(token, s_now);

        Assert.That(check, Is.EqualTo(new ResumeTokenCheck(ResumeTokenStatus.Valid, "Alice", new SessionId(42), s_now.AddMinutes(5))));
    }

    [Test]
    public void AnExpiredTokenIsRecognizedAsExpired()
    {
        ResumeTokens tokens = ResumeTokens.Ephemeral();
        string token = tokens.Issue("Alice", new SessionId(1), s_now);

        Assert.That(tokens.Check(token, s_now).Status, Is.EqualTo(ResumeTokenStatus.Expired));
        Assert.That(tokens.Check(token, s_now.AddSeconds(-1)).Status, Is.EqualTo(ResumeTokenStatus.Valid));
    }

    [Test]
    public void AnotherKeyOrAnyChangedCharacterIsForgedOrMalformed()
    {
        ResumeTokens tokens = ResumeTokens.Ephemeral();
        string token = tokens.Issue("Alice", new SessionId(7), s_now.AddMinutes(5));

        Assert.That(ResumeTokens.Ephemeral().Check(token, s_now).Status, Is.EqualTo(ResumeTokenStatus.Forged));
        for (int i = 0; i < token.Length; i++)
        {
            if (token[i] == '.')
            {
                continue;
            }

            char other = token[i] == 'A' ? 'B' : 'A';
            string changed = token[..i] + other + token[(i + 1)..];
            Assert.That(tokens.Check(changed, s_now).Status, Is.Not.EqualTo(ResumeTokenStatus.Valid), $"character {i} changed");
        }

        foreach (string? nonsense in new[] { null, "", ".", "abc", "abc.", ".abc", "!!!.???", new string('A', 5000) + ".A" })
        {
            Assert.That(tokens.Check(nonsense, s_now).Status, Is.EqualTo(ResumeTokenStatus.Malformed), nonsense ?? "null");
        }
    }

    [Test]
    public void AnotherCoreGivenTheSameSecretAcceptsTheTokenForItsSessionOnly()
    {
        string token = ResumeTokens.FromSecret("a secret of the test, long enough").Issue("Alice|Admin", new SessionId(42), s_now.AddHours(1));

        var restarted = ResumeTokens.FromSecret("a secret of the test, long enough");
        Assert.That(restarted.AccountFor(token, new SessionId(42), s_now), Is.EqualTo("Alice|Admin"));
        Assert.That(restarted.AccountFor(token, new SessionId(43), s_now), Is.Null, "another session");
        Assert.That(restarted.AccountFor(token, new SessionId(42), s_now.AddHours(1)), Is.Null, "expired");
        Assert.That(restarted.AccountFor("garbage", new SessionId(42), s_now), Is.Null, "malformed");
        Assert.That(ResumeTokens.FromSecret("another secret, long enough too").AccountFor(token, new SessionId(42), s_now), Is.Null, "another secret");
    }

    [Test]
    public void TheKeyFileIsMadeOnceOwnerOnlyAndReadBack()
    {
        string folder = Directory.CreateTempSubdirectory("dominance-key-").FullName;
        try
        {
            string path = Path.Combine(folder, "resume.key");
            string token = ResumeTokens.LoadOrCreate(path).Issue("Alice", new SessionId(3), s_now.AddMinutes(5));

            Assert.That(ResumeTokens.LoadOrCreate(path).Check(token, s_now).Status, Is.EqualTo(ResumeTokenStatus.Valid), "a restarted server reads the same key");
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));

            File.WriteAllBytes(path, new byte[ResumeTokens.KeyLength + 1]);
            Assert.That(() => ResumeTokens.LoadOrCreate(path), Throws.TypeOf<InvalidDataException>().With.Message.Contains(path));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
