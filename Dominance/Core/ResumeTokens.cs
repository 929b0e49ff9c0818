using System.Security.Cryptography;
using System.Text;
using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// Resume tokens: proof, handed to a session's portal, that the session played an account. A core that restarted (or a
/// later connection) presents it back, and the core gives the session its account again without a password.
/// </summary>
/// <remarks>
/// <para>A token is <c>account|session|expiry|mac</c>, where the MAC is HMAC-SHA256 over the first three fields with a key
/// only cores hold. It is opaque to whoever carries it: the portal stores and returns it, nothing more. Because the key
/// is not per process, a core that restarted with the same key verifies the tokens its predecessor issued.</para>
/// <para>Invariant: <see cref="TryVerify"/> accepts exactly the tokens <see cref="Issue"/> made with the same key, for
/// the same session, before their expiry.</para>
/// </remarks>
internal sealed class ResumeTokens
{
    private readonly byte[] _key;
    private readonly TimeProvider _clock;

    /// <summary>Creates the issuer. <paramref name="key"/> must be secret and the same in every core that must verify.</summary>
    public ResumeTokens(ReadOnlySpan<byte> key, TimeProvider clock, TimeSpan lifetime)
    {
        if (key.Length < 16)
        {
            throw new ArgumentException("A resume key needs at least 16 bytes.", nameof(key));
        }

        _key = key.ToArray();
        _clock = clock;
        Lifetime = lifetime;
    }

    /// <summary>How long a token stays valid after it was issued.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>Derives a key for resume tokens from a shared secret (HMAC-SHA256 of a fixed label).</summary>
    public static byte[] KeyFromSecret(string secret) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "dominance resume tokens v1"u8);

    /// <summary>Issues a token saying that <paramref name="session"/> plays <paramref name="account"/>.</summary>
    public string Issue(string account, SessionId session)
    {
        long expiry = (_clock.GetUtcNow() + Lifetime).ToUnixTimeSeconds();
        string body = $"{Escape(account)}|{session.Value}|{expiry}";
        return body + "|" + Mac(body);
    }

    /// <summary>
    /// Checks a token presented for <paramref name="session"/>. Returns the account it names, or <see langword="null"/>
    /// if it is malformed, forged, expired or made for another session.
    /// </summary>
    public string? TryVerify(string token, SessionId session)
    {
        int macStart = token.LastIndexOf('|');
        if (macStart <= 0)
        {
            return null;
        }

        string body = token[..macStart];
        byte[] expected = Encoding.ASCII.GetBytes(Mac(body));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(token[(macStart + 1)..])))
        {
            return null;
        }

        string[] fields = body.Split('|');
        if (fields.Length != 3 || !long.TryParse(fields[1], out long id) || id != session.Value ||
            !long.TryParse(fields[2], out long expiry) || expiry < _clock.GetUtcNow().ToUnixTimeSeconds())
        {
            return null;
        }

        return Uri.UnescapeDataString(fields[0]);
    }

    private string Mac(string body) => Convert.ToHexString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(body)));

    private static string Escape(string account) => Uri.EscapeDataString(account);
}
