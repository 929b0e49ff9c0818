using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Dominance.Api;
using Dominance.Core;

namespace Dominance.Nats;

/// <summary>
/// The messages between a core and its remote portals, and the subjects they travel on (<c>S</c> is
/// <see cref="NatsSettings.Subject"/>, <c>P</c> a portal's id).
/// </summary>
/// <remarks>
/// <para><b>Messages.</b></para>
/// <list type="bullet">
/// <item><c>S.attach</c>, request and reply: a portal asks to attach with its id and a proof that it holds the shared
/// secret (<see cref="AttachProof"/>: a nonce, the time, and an HMAC over them and the id; never the secret); the core
/// answers with its instance id (new at every start) and the attach's number (new at every attach), or a refusal.</item>
/// <item><c>S.in.P</c>, portal to core: a batch of a portal's session events (connect with the session's facts, its
/// restore token and the web client's resume token, input, out-of-band data, changed facts, disconnect). The batch carries the portal-wide sequence number
/// of its first event and the core instance and attach it is for; each event carries its session's own sequence number. A batch
/// is cut into as many messages as the NATS server's max payload takes.</item>
/// <item><c>S.out.P</c>, core to portal: a batch of output, with the core's instance id, the attach, and the acknowledgement (as in
/// the heartbeat, so that an answered input is acknowledged with its answer): each distinct payload once, then (session, what, payload)
/// entries that name it, so a chat to 1,000 players of one portal is one message with one copy of the line. Also a
/// session's close, echo switch and resume token, and "attach again". Cut, between entries, into as many messages as
/// the NATS server's max payload takes.</item>
/// <item><c>S.core</c>, core to every portal: the heartbeat, with the core's instance id, per attached portal its attach
/// and the last portal-wide sequence number it received in it (the acknowledgement), and the players online in the whole game
/// (<see cref="IPlayerCount"/>), which a portal tells MUD listing crawlers (MSSP <c>PLAYERS</c>).</item>
/// <item><c>S.portal</c>, portal to core: a portal's heartbeat.</item>
/// </list>
/// <para><b>Encoding.</b> A small binary format of our own (<see cref="WireWriter"/>): a kind byte, LEB128 integers and
/// length-prefixed UTF-8. The messages are few and flat, and output payloads are bytes the core has encoded already,
/// copied as they are; a serializer library (MessagePack, MemoryPack) would add a dependency and a schema layer for
/// five message shapes. Every message starts with <see cref="Version"/>; a receiver drops (and logs) any other.</para>
/// <para><b>Delivery.</b> Core NATS is at-most-once: a message published while nobody listens, or while a connection is
/// down, is gone, and the NATS server disconnects a subscriber that does not keep up (a slow consumer). Order is kept
/// between one publisher and one subscriber on one subject. So: a portal keeps every event until the core's heartbeat
/// acknowledges it, and sends the unacknowledged ones again when it attaches to a (new) core. The core checks the
/// portal-wide sequence; a gap (a lost message) makes it drop that portal's sessions and ask it to attach again, which
/// resumes them. A lost message that was the portal's last shows no gap: when two of the core's heartbeats in a row,
/// arrived after the portal's last send, acknowledge less than it sent (under the same attach), the portal sends every
/// unacknowledged event again, from the first, in order and numbered as before; the core takes a batch numbered before
/// what it expects as such a repeat, drops the events of it that it has received already and runs the rest. While the
/// acknowledgements do not catch up, each resend waits twice as many heartbeats as the one before, up to
/// <see cref="NatsSettings.HeartbeatTimeout"/>'s worth. The portal-wide sequence starts again at 1 with every attach, so a sequence number means something
/// only with its attach: every acknowledgement names the attach it counts in (the core's instance and the attach's
/// number), and the portal ignores any other (a heartbeat or output batch sent before it attached again, arriving
/// after); the core likewise drops a batch sent under an earlier attach of the portal, and a request to attach again
/// names the attach it ends. Output is not acknowledged: output lost in a gap is lost (the player sees no answer to an input the
/// core did get); a core that restarts resumes from its last world save anyway.</para>
/// <para><b>Two cores at once.</b> The newest core has the portals. A core's instance id begins with its start time
/// (<see cref="NewCoreInstance"/>), so ids sort by age (<see cref="IsNewerCore"/>). A portal stays with its core while
/// that core's heartbeats come, whatever an older core says (an old core still stopping); it moves when its core goes
/// silent or asks it to attach again, or at once when it hears a core newer than its own; and it does not attach to a
/// core older than the newest it has heard within <see cref="NatsSettings.HeartbeatTimeout"/>. A core that hears a
/// newer core's heartbeat yields to it for good: it lets its remote portals go (asking them to attach again), answers no
/// attach request again, writes no world save from then on (the newer core's world is the one to keep), and stops,
/// exiting non-zero (<see cref="CoreRelay.Yielded"/>). Start times are each core's own clock: keep the machines' clocks
/// in step.</para>
/// <para><b>Trust.</b> Portals are trusted: each holds the shared secret, from which the restore tokens' key derives
/// (<see cref="ResumeTokens.FromSecret"/>), so a portal could make a token for any account. The secret keeps out what
/// is not a portal of this game; the NATS server's own authentication keeps out everything else.</para>
/// <para><b>Attaching without showing the secret.</b> Any client the NATS server lets subscribe to <c>S.attach</c> sees
/// the attach requests, so a request carries no secret and no key: only an HMAC-SHA256, keyed with a key derived from
/// the secret (not the restore tokens' key), over the subject prefix, the portal's id, a random nonce and the time the
/// request was made. The core checks it in constant time. Replays are refused by time and nonce rather than by a
/// challenge round trip: one request and one reply as before, and nothing the core must remember for a portal that
/// never finishes attaching. The core accepts a request only within <see cref="NatsSettings.AttachWindow"/> of its own clock
/// (the clocks of a core's and its portals' machines must agree that closely), and only once: it remembers each
/// accepted nonce until the request has left the window. So a captured request sent again is refused, by the core that
/// accepted it and, once the window has passed, by any later one; sent to a new core within the window of its making
/// (a core restarted just then), it would attach that portal id once, which costs the real portal of that id a
/// reattach, as a lost message does.</para>
/// </remarks>
internal static class Wire
{
    /// <summary>The format version; a message with another is dropped.</summary>
    public const byte Version = 5;

    public static string Attach(string prefix) => prefix + ".attach";

    public static string Inbound(string prefix, string portal) => $"{prefix}.in.{portal}";

    public static string AllInbound(string prefix) => prefix + ".in.*";

    public static string Outbound(string prefix, string portal) => $"{prefix}.out.{portal}";

    public static string CoreHeartbeat(string prefix) => prefix + ".core";

    public static string PortalHeartbeat(string prefix) => prefix + ".portal";

    /// <summary>
    /// A new core instance id: its start time in UTC to the millisecond (<c>20261203T124037.123Z</c>), a dash, and 8
    /// random hex digits. Ids of this form sort by start (<see cref="IsNewerCore"/>), and say in a log when their core started.
    /// </summary>
    public static string NewCoreInstance(DateTimeOffset start) =>
        start.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fff'Z-'", CultureInfo.InvariantCulture) + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    /// <summary>Whether core <paramref name="instance"/> started after core <paramref name="than"/> (a tie: the larger random part).</summary>
    public static bool IsNewerCore(string instance, string than) => string.CompareOrdinal(instance, than) > 0;

    /// <summary>One event of an inbound batch.</summary>
    public static void WriteEvent(WireWriter w, in InboundEvent e, long sessionSequence, string? restoreToken)
    {
        w.Byte((byte)e.Kind);
        w.Number(e.Session.Value);
        w.Number(sessionSequence);
        switch (e.Kind)
        {
            case InboundKind.Connected:
                WriteInfo(w, e.Info!);
                w.OptionalString(restoreToken);
                w.OptionalString(e.Text); // the web client's resume token (/ws?resume=), if it presented one
                break;
            case InboundKind.Input:
                w.String(e.Text!);
                break;
            case InboundKind.Data:
                w.String(e.Package!);
                w.String(e.Text!);
                break;
            case InboundKind.InfoChanged:
                WriteInfo(w, e.Info!);
                break;
        }
    }

    /// <summary>Reads one event of an inbound batch. A <c>Connected</c> comes without its link (the caller adds one).</summary>
    public static InboundEvent ReadEvent(ref WireReader r, out long sessionSequence, out string? restoreToken)
    {
        var kind = (InboundKind)r.Byte();
        var session = new SessionId(r.Number());
        sessionSequence = r.Number();
        restoreToken = null;
        switch (kind)
        {
            case InboundKind.Connected:
                SessionInfo info = ReadInfo(ref r, session);
                restoreToken = r.OptionalString();
                return new InboundEvent(InboundKind.Connected, session, Text: r.OptionalString(), Info: info);
            case InboundKind.Input:
                return InboundEvent.Input(session, r.String());
            case InboundKind.Data:
                string package = r.String();
                return InboundEvent.Data(session, package, r.String());
            case InboundKind.InfoChanged:
                return InboundEvent.InfoChanged(ReadInfo(ref r, session));
            case InboundKind.Disconnected:
                return InboundEvent.Disconnected(session);
            default:
                throw new InvalidDataException($"Unknown inbound event kind {(int)kind}.");
        }
    }

    private static void WriteInfo(WireWriter w, SessionInfo info)
    {
        w.Byte((byte)info.Protocol);
        w.String(info.RemoteAddress.ToString());
        w.Number(Math.Max(0, info.ConnectedAt.ToUnixTimeMilliseconds()));
        w.OptionalString(info.TerminalType);
        w.Number(Math.Max(0, info.Width));
        w.Number(Math.Max(0, info.Height));
        w.Byte(info.SupportsOutOfBand ? (byte)1 : (byte)0);
        w.OptionalString(info.ClientName);
        w.OptionalString(info.ClientVersion);
        w.Number(info.Mtts is { } mtts ? (long)mtts + 1 : 0);
        w.String(info.Charset);
        w.Byte(info.MarksPrompts ? (byte)1 : (byte)0);
        w.Number(info.GmcpModules.Count);
        foreach (string module in info.GmcpModules)
        {
            w.String(module);
        }
    }

    private static SessionInfo ReadInfo(ref WireReader r, SessionId session)
    {
        var info = new SessionInfo
        {
            Id = session,
            Protocol = (ClientProtocol)r.Byte(),
            RemoteAddress = IPAddress.TryParse(r.String(), out IPAddress? address) ? address : IPAddress.None,
            ConnectedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.Number()),
            TerminalType = r.OptionalString(),
            Width = (int)Math.Min(r.Number(), int.MaxValue),
            Height = (int)Math.Min(r.Number(), int.MaxValue),
            SupportsOutOfBand = r.Byte() != 0,
            ClientName = r.OptionalString(),
            ClientVersion = r.OptionalString(),
            Mtts = r.Number() is var mtts and > 0 ? (MttsFlags)(mtts - 1) : null,
            Charset = r.String(),
            MarksPrompts = r.Byte() != 0,
        };
        long count = r.Number();
        if (count == 0)
        {
            return info;
        }

        var modules = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (long i = 0; i < count; i++)
        {
            modules.Add(r.String());
        }

        return info with { GmcpModules = modules };
    }
}

/// <summary>What one entry of an output batch (<c>S.out.P</c>) does to its session.</summary>
internal enum OutputOp : byte
{
    /// <summary>Game text: the payload named by index.</summary>
    Text = 0,

    /// <summary>Out-of-band data (GMCP form): the payload named by index.</summary>
    Data = 1,

    /// <summary>Close after what was sent before, with a goodbye payload if the index is not -1 (written as 0; others +1).</summary>
    Close = 2,

    /// <summary>Ask the client to echo again.</summary>
    EchoOn = 3,

    /// <summary>Ask the client to stop echoing.</summary>
    EchoOff = 4,

    /// <summary>The session's restore token (a string; <see cref="Core.ISessionLink.SetRestoreToken"/>).</summary>
    RestoreToken = 5,

    /// <summary>The core does not know this portal (any more): attach again. No session.</summary>
    Reattach = 6,

    /// <summary>A prompt (text with no line end; telnet ends it with EOR or GA): the payload named by index.</summary>
    Prompt = 7,
}
