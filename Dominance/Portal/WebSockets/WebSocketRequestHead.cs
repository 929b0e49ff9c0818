using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Dominance.Portal.WebSockets;

/// <summary>A WebSocket opening handshake for <c>/ws</c>, read from the first bytes of a connection.</summary>
/// <param name="HeadLength">The bytes of the request head, its empty line included: what the handshake consumes.</param>
/// <param name="Key">The client's <c>Sec-WebSocket-Key</c>.</param>
/// <param name="Protocols">The subprotocols the client offers, in its order.</param>
/// <param name="Resume">The <c>resume</c> token of the query string, if one is given.</param>
internal sealed record WebSocketRequest(int HeadLength, string Key, IReadOnlyList<string> Protocols, string? Resume);

/// <summary>
/// Reads the head of the first request on a connection and says whether it is a WebSocket handshake for <c>/ws</c>
/// that <see cref="WebSocketTakeover"/> can answer itself: <c>GET /ws</c> (a query allowed) in HTTP/1.1, one
/// <c>Host</c>, <c>Upgrade: websocket</c>, a <c>Connection</c> with the <c>upgrade</c> token, version 13, a key of 16
/// bytes, no body, plain ASCII. Anything else, or anything odd, is not ours: HTTP reads it as it would have.
/// </summary>
internal static class WebSocketRequestHead
{
    /// <summary>The longest head read here; a longer one goes to HTTP, which has its own limits.</summary>
    public const int MaxLength = 8 * 1024;

    private static ReadOnlySpan<byte> Start => "GET /ws"u8;

    private static ReadOnlySpan<byte> End => "\r\n\r\n"u8;

    /// <summary>What the bytes so far say.</summary>
    public enum Verdict
    {
        /// <summary>It may be ours: the head is not complete yet.</summary>
        NeedMore,

        /// <summary>Not a handshake that can be answered here: hand the connection to HTTP untouched.</summary>
        NotOurs,

        /// <summary>A WebSocket handshake for <c>/ws</c>, read into the request.</summary>
        Upgrade,
    }

    /// <summary>Reads <paramref name="buffer"/>, the connection's first bytes.</summary>
    public static Verdict Read(ReadOnlySequence<byte> buffer, out WebSocketRequest? request)
    {
        request = null;
        Span<byte> start = stackalloc byte[8];
        int prefix = (int)Math.Min(buffer.Length, start.Length);
        buffer.Slice(0, prefix).CopyTo(start);
        int compared = Math.Min(prefix, Start.Length);
        if (!start[..compared].SequenceEqual(Start[..compared]) || (prefix == 8 && start[7] is not ((byte)' ' or (byte)'?')))
        {
            return Verdict.NotOurs;
        }

        long end = IndexOfEnd(buffer.Length > MaxLength ? buffer.Slice(0, MaxLength) : buffer);
        if (end < 0)
        {
            return buffer.Length >= MaxLength ? Verdict.NotOurs : Verdict.NeedMore;
        }

        int length = (int)end + End.Length;
        byte[] head = buffer.Slice(0, length).ToArray();
        foreach (byte b in head)
        {
            if (b > 126 || (b < 32 && b is not ((byte)'\r' or (byte)'\n' or (byte)'\t')))
            {
                return Verdict.NotOurs;
            }
        }

        request = Parse(Encoding.ASCII.GetString(head, 0, (int)end), length);
        return request is null ? Verdict.NotOurs : Verdict.Upgrade;
    }

    private static long IndexOfEnd(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            return buffer.FirstSpan.IndexOf(End);
        }

        return buffer.ToArray().AsSpan().IndexOf(End); // a head split across blocks: rare, and short
    }

    private static WebSocketRequest? Parse(string head, int headLength)
    {
        string[] lines = head.Split("\r\n");
        string[] requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[0] != "GET" || requestLine[2] != "HTTP/1.1")
        {
            return null;
        }

        string target = requestLine[1];
        if (!target.StartsWith("/ws", StringComparison.Ordinal) || (target.Length > 3 && target[3] != '?'))
        {
            return null;
        }

        int hosts = 0;
        string? upgrade = null, version = null, key = null;
        bool connectionUpgrade = false;
        var protocols = new List<string>();
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            int colon = line.IndexOf(':');
            if (colon <= 0 || line.AsSpan(0, colon).IndexOfAny(" \t") >= 0)
            {
                return null; // malformed, or a folded line: HTTP answers it
            }

            string name = line[..colon];
            string value = line[(colon + 1)..].Trim(' ', '\t');
            if (Is(name, "Host"))
            {
                hosts++;
            }
            else if (Is(name, "Upgrade"))
            {
                upgrade = upgrade is null ? value : ""; // twice: not ours
            }
            else if (Is(name, "Connection"))
            {
                connectionUpgrade |= Tokens(value).Any(token => Is(token, "upgrade"));
            }
            else if (Is(name, "Sec-WebSocket-Version"))
            {
                version = version is null ? value : "";
            }
            else if (Is(name, "Sec-WebSocket-Key"))
            {
                key = key is null ? value : "";
            }
            else if (Is(name, "Sec-WebSocket-Protocol"))
            {
                protocols.AddRange(Tokens(value));
            }
            else if (Is(name, "Content-Length") || Is(name, "Transfer-Encoding"))
            {
                return null;
            }
        }

        Span<byte> keyBytes = stackalloc byte[16];
        if (hosts != 1 || !Is(upgrade, "websocket") || !connectionUpgrade || version != "13" || key is not { Length: 24 } ||
            !Convert.TryFromBase64String(key, keyBytes, out int keyLength) || keyLength != 16)
        {
            return null;
        }

        string? resume = null;
        if (target.Length > 3 && QueryHelpers.ParseQuery(target[3..]).TryGetValue("resume", out var values) &&
            values.FirstOrDefault() is { Length: > 0 } token)
        {
            resume = token;
        }

        return new WebSocketRequest(headLength, key, protocols, resume);
    }

    private static bool Is(string? value, string expected) => string.Equals(value, expected, StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<string> Tokens(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
