using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Dominance.Api;
using Dominance.Core;

namespace Dominance.Tests.Core;

/// <summary>
/// Resume tokens: what one key signs, another key and any change refuse; expiry; a token is accepted only for the purpose it
/// was issued for; the key file; the key from a shared secret.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class ResumeTokenTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 2, 7, 0, 0, TimeSpan.Zero);

    [Test]
    public void AFreshTokenSaysWhoItWasIssuedTo()
    {
        ResumeTokens tokens = ResumeTokens.Ephemeral();
        string token = tokens.Issue(ResumeTokenPurpose.Resume, "Alice", new SessionId(42), s_now.AddMinutes(5));

        ResumeTokenCheck check = tokens.Check(token, ResumeTokenPurpose.Resume, s_now);

        Assert.That(check, Is.EqualTo(new ResumeTokenCheck(ResumeTokenStatus.Valid, "Alice", new SessionId(42), s_now.AddMinutes(5))));
    }

    [Test]
    public void AnExpiredTokenIsRecognizedAsExpired()
    {
        ResumeTokens tokens = ResumeTokens.Ephemeral();
        string token = tokens.Issue(ResumeTokenPurpose.Resume, "Alice", new SessionId(1), s_now);

        Assert.That(tokens.Check(token, ResumeTokenPurpose.Resume, s_now).Status, Is.EqualTo(ResumeTokenStatus.Expired));
        Assert.That(tokens.Check(token, ResumeTokenPurpose.Resume, s_now.AddSeconds(-1)).Status, Is.EqualTo(ResumeTokenStatus.Valid));
    }

    [Test]
    public void AnotherKeyOrAnyChangedCharacterIsForgedOrMalformed()
    {
        ResumeTokens tokens = ResumeTokens.Ephemeral();
        string token = tokens.Issue(ResumeTokenPurpose.Resume, "Alice", new SessionId(7), s_now.AddMinutes(5));

        Assert.That(ResumeTokens.Ephemeral().Check(token, ResumeTokenPurpose.Resume, s_now).Status, Is.EqualTo(ResumeTokenStatus.Forged));
        for (int i = 0; i < token.Length; i++)
        {
            if (token[i] == '.')
            {
                continue;
            }

            char other = token[i] == 'A' ? 'B' : 'A';
            string changed = token[..i] + other + token[(i + 1)..];
            Assert.That(tokens.Check(changed, ResumeTokenPurpose.Resume, s_now).Status, Is.Not.EqualTo(ResumeTokenStatus.Valid), $"character {i} changed");
        }

        foreach (string? nonsense in new[] { null, "", ".", "abc", "abc.", ".abc", "!!!.???", new string('A', 5000) + ".A" })
        {
            Assert.That(tokens.Check(nonsense, ResumeTokenPurpose.Resume, s_now).Status, Is.EqualTo(ResumeTokenStatus.Malformed), nonsense ?? "null");
        }
    }

    [Test]
    public void AnotherCoreGivenTheSameSecretAcceptsTheTokenForItsSessionOnly()
    {
        string token = ResumeTokens.FromSecret("a secret of the test, long enough").Issue(ResumeTokenPurpose.Restore, "Alice|Admin", new SessionId(42), s_now.AddHours(1));

        var restarted = ResumeTokens.FromSecret("a secret of the test, long enough");
        Assert.That(restarted.AccountFor(token, ResumeTokenPurpose.Restore, new SessionId(42), s_now), Is.EqualTo("Alice|Admin"));
        Assert.That(restarted.AccountFor(token, ResumeTokenPurpose.Restore, new SessionId(43), s_now), Is.Null, "another session");
        Assert.That(restarted.AccountFor(token, ResumeTokenPurpose.Restore, new SessionId(42), s_now.AddHours(1)), Is.Null, "expired");
        Assert.That(restarted.AccountFor("garbage", ResumeTokenPurpose.Restore, new SessionId(42), s_now), Is.Null, "malformed");
        Assert.That(ResumeTokens.FromSecret("another secret, long enough too").AccountFor(token, ResumeTokenPurpose.Restore, new SessionId(42), s_now), Is.Null, "another secret");
    }

    [Test]
    public void ATokenIsRefusedForThePurposeItWasNotIssuedFor()
    {
        ResumeTokens tokens = ResumeTokens.Ephemeral();
        string resume = tokens.Issue(ResumeTokenPurpose.Resume, "Alice", new SessionId(42), s_now.AddMinutes(5));
        string restore = tokens.Issue(ResumeTokenPurpose.Restore, "Alice", new SessionId(42), s_now.AddDays(1));

        Assert.That(tokens.Check(resume, ResumeTokenPurpose.Resume, s_now).Status, Is.EqualTo(ResumeTokenStatus.Valid));
        Assert.That(tokens.Check(restore, ResumeTokenPurpose.Restore, s_now).Status, Is.EqualTo(ResumeTokenStatus.Valid));
        Assert.That(tokens.Check(restore, ResumeTokenPurpose.Resume, s_now), Is.EqualTo(ResumeTokenCheck.Fail(ResumeTokenStatus.OtherPurpose)), "a restore token as a web resume");
        Assert.That(tokens.Check(resume, ResumeTokenPurpose.Restore, s_now), Is.EqualTo(ResumeTokenCheck.Fail(ResumeTokenStatus.OtherPurpose)), "a web resume token as a restore");
        Assert.That(tokens.AccountFor(restore, ResumeTokenPurpose.Resume, new SessionId(42), s_now), Is.Null);
        Assert.That(tokens.AccountFor(resume, ResumeTokenPurpose.Restore, new SessionId(42), s_now), Is.Null);
        Assert.That(tokens.Check(restore, ResumeTokenPurpose.Resume, s_now.AddDays(2)).Status, Is.EqualTo(ResumeTokenStatus.OtherPurpose), "the purpose is checked before the expiry");
    }

    [Test]
    public void ATokenOfTheVersionWithoutAPurposeIsAcceptedAsARestoreTokenOnly()
    {
        byte[] key = RandomNumberGenerator.GetBytes(ResumeTokens.KeyLength);
        string old = VersionOneToken(key, "Alice", new SessionId(42), s_now.AddDays(1));
        var tokens = new ResumeTokens(key);

        Assert.That(tokens.AccountFor(old, ResumeTokenPurpose.Restore, new SessionId(42), s_now), Is.EqualTo("Alice"), "a portal's token from before the upgrade still restores");
        Assert.That(tokens.Check(old, ResumeTokenPurpose.Resume, s_now).Status, Is.EqualTo(ResumeTokenStatus.OtherPurpose));
        Assert.That(ResumeTokens.Ephemeral().Check(old, ResumeTokenPurpose.Restore, s_now).Status, Is.EqualTo(ResumeTokenStatus.Forged));
    }

    [Test]
    public void TheKeyFileIsMadeOnceOwnerOnlyAndReadBack()
    {
        string folder = Directory.CreateTempSubdirectory("dominance-key-").FullName;
        try
        {
            string path = Path.Combine(folder, "resume.key");
            string token = ResumeTokens.LoadOrCreate(path).Issue(ResumeTokenPurpose.Resume, "Alice", new SessionId(3), s_now.AddMinutes(5));

            Assert.That(ResumeTokens.LoadOrCreate(path).Check(token, ResumeTokenPurpose.Resume, s_now).Status, Is.EqualTo(ResumeTokenStatus.Valid), "a restarted server reads the same key");
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));

            File.WriteAllBytes(path, new byte[ResumeTokens.KeyLength + 1]);
            Assert.That(() => ResumeTokens.LoadOrCreate(path), Throws.TypeOf<InvalidDataException>().With.Message.Contains(path));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A token as version 1 made them: version byte 1, expiry, session, account; no purpose.</summary>
    private static string VersionOneToken(byte[] key, string account, SessionId session, DateTimeOffset expires)
    {
        byte[] payload = new byte[17 + Encoding.UTF8.GetByteCount(account)];
        payload[0] = 1;
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(1), expires.ToUnixTimeSeconds());
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(9), session.Value);
        Encoding.UTF8.GetBytes(account, payload.AsSpan(17));
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(key, payload));
    }
}
