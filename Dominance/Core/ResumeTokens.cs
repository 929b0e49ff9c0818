using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// Issues and checks resume tokens: proof that whoever presents one was, shortly before, the client of a session logged
/// in to an account. Thread-safe (it holds only its key).
/// </summary>
/// <remarks>
/// <para>A token is <c>base64url(payload) "." base64url(HMAC-SHA256(key, payload))</c>, where the payload is a version
/// byte (2), the purpose (<see cref="ResumeTokenPurpose"/>, 1 byte), the expiry (Unix seconds, 8 bytes, big-endian), the
/// core's session id (8 bytes, big-endian) and the account name (UTF-8, the rest). Nothing in it is secret, but nothing
/// in it can be changed without the key.</para>
/// <para>The purpose keeps the two kinds apart: both are signed with the same key and name a session id, and a
/// connection that never resumed has the same id as its session, so without it a restore token (a day's life) would
/// pass the web client's resume check. A token is accepted only for the purpose it was issued for. Tokens of version 1
/// (before the purpose byte) are accepted as restore tokens only: the ones a portal still holds when its core is
/// replaced by this version bring their players back, and no web resume outlives the core that parked the session
/// anyway. (Version 1 can go once no core of that version runs: its tokens live a day at most.)</para>
/// <para>The key is 32 random bytes kept in a file (<see cref="LoadOrCreate"/>), so that a core that restarted still
/// recognizes the tokens it gave out. Whoever holds the key file can forge tokens for any account: it is created
/// readable by its owner only, like the database. A core whose portals run in other processes derives the key from the
/// secret it shares with them instead (<see cref="FromSecret"/>), so that a core restarted on any machine recognizes
/// the tokens its portals keep.</para>
/// <para>A valid token says only who it was issued to and until when. Whether it still gets anything back (a session
/// parked within its grace period) is the caller's business.</para>
/// </remarks>
internal sealed class ResumeTokens
{
    /// <summary>The key's length in bytes.</summary>
    public const int KeyLength = 32;

    private const byte Version = 2;
    private const byte VersionWithoutPurpose = 1;
    private const int HeaderLength = 1 + 1 + 8 + 8;
    private const int HeaderLengthWithoutPurpose = 1 + 8 + 8;
    private const int MaxAccountBytes = 256;

    private readonly byte[] _key;

    /// <summary>Creates a token issuer with <paramref name="key"/> (<see cref="KeyLength"/> bytes).</summary>
    public ResumeTokens(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"A resume token key is {KeyLength} bytes, not {key.Length}.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>A token issuer with a new random key that lives as long as the process (tests, benchmarks).</summary>
    public static ResumeTokens Ephemeral() => new(RandomNumberGenerator.GetBytes(KeyLength));

    /// <summary>
    /// A token issuer whose key is derived from <paramref name="secret"/> (HMAC-SHA256 of a fixed label, keyed with the
    /// secret): every core given the same secret (<c>Nats:Secret</c>) verifies the tokens of every other.
    /// </summary>
    public static ResumeTokens FromSecret(string secret) =>
        new(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "dominance resume tokens v1"u8));

    /// <summary>
    /// Reads the key from <paramref name="path"/>, or creates the file with a new random key (mode 0600 where the system
    /// has modes) if it does not exist. Safe when several processes start at once: the first to create the file wins
    /// and the others read its key.
    /// </summary>
    /// <exception cref="InvalidDataException">The file exists but does not hold a key of the right length.</exception>
    public static ResumeTokens LoadOrCreate(string path)
    {
        byte[] key = RandomNumberGenerator.GetBytes(KeyLength);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var file = new FileStream(path, options))
            {
                file.Write(key);
                file.Flush(flushToDisk: true);
            }

            return new ResumeTokens(key);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Made by an earlier run or by another process starting now; it may still be being written, so a short
            // file is read again before it is called damaged.
            for (int attempt = 0; ; attempt++)
            {
                byte[] stored = File.ReadAllBytes(path);
                if (stored.Length == KeyLength)
                {
                    return new ResumeTokens(stored);
                }

                if (stored.Length > KeyLength || attempt == 50)
                {
                    throw new InvalidDataException($"{path} should hold a {KeyLength}-byte resume token key, but holds {stored.Length} bytes. Delete it to make a new one (tokens given out before stop working).");
                }

                Thread.Sleep(10); // start-up only: another process is between creating the file and writing its key
            }
        }
    }

    /// <summary>
    /// Issues a token for <paramref name="purpose"/> and <paramref name="account"/>'s session <paramref name="session"/>,
    /// valid until <paramref name="expires"/>.
    /// </summary>
    public string Issue(ResumeTokenPurpose purpose, string account, SessionId session, DateTimeOffset expires)
    {
        int accountBytes = Encoding.UTF8.GetByteCount(account);
        if (accountBytes is 0 or > MaxAccountBytes)
        {
            throw new ArgumentException($"An account name for a resume token is 1 to {MaxAccountBytes} UTF-8 bytes.", nameof(account));
        }

        Span<byte> payload = stackalloc byte[HeaderLength + accountBytes];
        payload[0] = Version;
        payload[1] = (byte)purpose;
        BinaryPrimitives.WriteInt64BigEndian(payload[2..], expires.ToUnixTimeSeconds());
        BinaryPrimitives.WriteInt64BigEndian(payload[10..], session.Value);
        Encoding.UTF8.GetBytes(account, payload[HeaderLength..]);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, payload, mac);
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>
    /// Checks <paramref name="token"/>: its form, its signature, that it was issued for <paramref name="purpose"/>, then its
    /// expiry against <paramref name="now"/>.
    /// </summary>
    public ResumeTokenCheck Check(string? token, ResumeTokenPurpose purpose, DateTimeOffset now)
    {
        int dot = token?.IndexOf('.') ?? -1;
        if (token is null || dot <= 0 || token.Length > 1024)
        {
            return ResumeTokenCheck.Fail(ResumeTokenStatus.Malformed);
        }

        Span<byte> payload = stackalloc byte[768];
        Span<byte> mac = stackalloc byte[64];
        if (Base64Url.DecodeFromChars(token.AsSpan(0, dot), payload, out _, out int payloadLength) != System.Buffers.OperationStatus.Done ||
            Base64Url.DecodeFromChars(token.AsSpan(dot + 1), mac, out _, out int macLength) != System.Buffers.OperationStatus.Done ||
            macLength != HMACSHA256.HashSizeInBytes || payloadLength == 0)
        {
            return ResumeTokenCheck.Fail(ResumeTokenStatus.Malformed);
        }

        int header = payload[0] switch
        {
            Version => HeaderLength,
            VersionWithoutPurpose => HeaderLengthWithoutPurpose,
            _ => -1,
        };
        if (header < 0 || payloadLength <= header || payloadLength > header + MaxAccountBytes)
        {
            return ResumeTokenCheck.Fail(ResumeTokenStatus.Malformed);
        }

        payload = payload[..payloadLength];
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, payload, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, mac[..macLength]))
        {
            return ResumeTokenCheck.Fail(ResumeTokenStatus.Forged);
        }

        var issuedFor = payload[0] == Version ? (ResumeTokenPurpose)payload[1] : ResumeTokenPurpose.Restore;
        if (issuedFor != purpose)
        {
            return ResumeTokenCheck.Fail(ResumeTokenStatus.OtherPurpose);
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(payload[(header - 16)..]));
        var session = new SessionId(BinaryPrimitives.ReadInt64BigEndian(payload[(header - 8)..]));
        string account = Encoding.UTF8.GetString(payload[header..]);
        return new ResumeTokenCheck(now < expires ? ResumeTokenStatus.Valid : ResumeTokenStatus.Expired, account, session, expires);
    }

    /// <summary>
    /// The account <paramref name="token"/> names if it is valid at <paramref name="now"/> and was issued for
    /// <paramref name="purpose"/> and <paramref name="session"/>; otherwise <see langword="null"/> (malformed, forged,
    /// another purpose's, expired, or another session's).
    /// </summary>
    public string? AccountFor(string? token, ResumeTokenPurpose purpose, SessionId session, DateTimeOffset now)
    {
        ResumeTokenCheck check = Check(token, purpose, now);
        return check.Status == ResumeTokenStatus.Valid && check.Session == session ? check.Account : null;
    }
}
