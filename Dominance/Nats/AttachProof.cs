using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Dominance.Nats;

/// <summary>
/// The proof of the shared secret (<see cref="NatsSettings.Secret"/>) that a portal attaches with, and the core's check
/// of it: the secret itself never goes on the wire. Thread-safe.
/// </summary>
/// <remarks>
/// <para>On the wire, after the portal's id: a random nonce (<see cref="NonceLength"/> bytes), the time the request was
/// made (Unix milliseconds) and an HMAC-SHA256 over the subject prefix, the portal's id, the nonce and the time, keyed
/// with a key derived from the secret (HMAC-SHA256 of a label of its own, keyed with the secret; not the restore tokens'
/// key). Whoever reads the request learns neither the secret nor a key.</para>
/// <para>Replays: the core accepts a request only within <see cref="Window"/> of its own clock (<see
/// cref="NatsSettings.AttachWindow"/>), and only once: it
/// remembers the nonce of every request it accepted until the request's time has left the window. A request sent again
/// is refused by that core; one sent again to the next core (a restart) is refused once it is older than the window.
/// Only requests that carry a valid proof are remembered, so only holders of the secret can make the set grow.</para>
/// </remarks>
internal sealed class AttachProof
{
    /// <summary>The bytes of a request's nonce.</summary>
    public const int NonceLength = 16;

    /// <summary>The default <see cref="Window"/>.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(1);

    private readonly byte[] _key;
    private readonly string _prefix;
    private readonly TimeProvider _clock;
    private readonly Dictionary<UInt128, DateTimeOffset> _seen = []; // nonce → until when it is remembered

    /// <summary>
    /// A proof for portals and cores given <paramref name="secret"/>, on subjects starting with <paramref name="prefix"/>;
    /// a core accepts requests within <paramref name="window"/> (<see cref="DefaultWindow"/> if not given) of its clock.
    /// </summary>
    public AttachProof(string secret, string prefix, TimeProvider clock, TimeSpan? window = null)
    {
        _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "dominance attach proof v1"u8);
        _prefix = prefix;
        _clock = clock;
        Window = window ?? DefaultWindow;
    }

    /// <summary>How far a request's time may be from the core's clock (either way): a replay's lifetime, and the clock skew allowed.</summary>
    public TimeSpan Window { get; }

    /// <summary>Portal: writes the proof for <paramref name="portal"/> (its id already written), with a new nonce and the time now.</summary>
    public void Write(WireWriter w, string portal) => Write(w, portal, RandomNumberGenerator.GetBytes(NonceLength), _clock.GetUtcNow());

    /// <summary>Writes the proof for <paramref name="portal"/> with the given nonce and time (a test makes an old or a repeated one).</summary>
    public void Write(WireWriter w, string portal, ReadOnlySpan<byte> nonce, DateTimeOffset time)
    {
        long milliseconds = Math.Max(0, time.ToUnixTimeMilliseconds());
        w.Bytes(nonce);
        w.Number(milliseconds);
        w.Bytes(Mac(portal, nonce, milliseconds));
    }

    /// <summary>
    /// Core: reads the proof that follows <paramref name="portal"/>'s id, and returns why it is refused, or
    /// <see langword="null"/> if it is accepted (its nonce is then remembered). Constant time in the MAC's bytes.
    /// </summary>
    /// <exception cref="InvalidDataException">The request ends early.</exception>
    public Refusal? Check(string portal, ref WireReader r)
    {
        ReadOnlySpan<byte> nonce = r.Bytes();
        long milliseconds = r.Number();
        ReadOnlySpan<byte> presented = r.Bytes();
        if (nonce.Length != NonceLength || !CryptographicOperations.FixedTimeEquals(presented, Mac(portal, nonce, milliseconds)))
        {
            return new Refusal(RefusalKind.WrongSecret, TimeSpan.Zero);
        }

        DateTimeOffset now = _clock.GetUtcNow();
        DateTimeOffset made = milliseconds > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() ? DateTimeOffset.MaxValue : DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
        TimeSpan off = made - now;
        if (off.Duration() > Window)
        {
            return new Refusal(RefusalKind.OutOfWindow, off);
        }

        UInt128 key = BinaryPrimitives.ReadUInt128LittleEndian(nonce);
        lock (_seen)
        {
            foreach ((UInt128 old, DateTimeOffset until) in _seen)
            {
                if (until < now)
                {
                    _seen.Remove(old); // allowed while enumerating a Dictionary
                }
            }

            if (!_seen.TryAdd(key, made + Window))
            {
                return new Refusal(RefusalKind.Replayed, off);
            }
        }

        return null;
    }

    /// <summary>Nonces remembered now (for tests: the set stays bounded by the window).</summary>
    public int Remembered
    {
        get
        {
            lock (_seen)
            {
                return _seen.Count;
            }
        }
    }

    private byte[] Mac(string portal, ReadOnlySpan<byte> nonce, long milliseconds)
    {
        var data = new WireWriter(128);
        data.String(_prefix);
        data.String(portal);
        data.Bytes(nonce);
        data.Number(milliseconds);
        return HMACSHA256.HashData(_key, data.Written.Span);
    }

    /// <summary>Why a proof was refused; <paramref name="Off"/>: how far the request's time was from the core's clock.</summary>
    public readonly record struct Refusal(RefusalKind Kind, TimeSpan Off);

    /// <summary>The kinds of refusal.</summary>
    public enum RefusalKind
    {
        /// <summary>Not made with this secret (or not for this portal id, or this subject prefix).</summary>
        WrongSecret,

        /// <summary>Made too long before or after the core's clock: a replay, or a clock that is off.</summary>
        OutOfWindow,

        /// <summary>A request this core has accepted before.</summary>
        Replayed,
    }
}
