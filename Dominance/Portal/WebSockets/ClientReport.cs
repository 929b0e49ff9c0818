using System.Text.Json;
using Dominance.Api;

namespace Dominance.Portal.WebSockets;

/// <summary>
/// The GMCP messages in which a WebSocket client describes its terminal, as a telnet client does with NAWS and TTYPE:
/// <list type="bullet">
/// <item><c>Client.Size {"width":100,"height":30}</c>: the window in columns and rows (NAWS), each 0 to 65535.
/// Sent at connect and whenever either number changes.</item>
/// <item><c>Client.Terminal {"type":"XTERM-TRUECOLOR"}</c>: the terminal type (TTYPE, in the form MTTS clients send in
/// their second round), at most 64 printable ASCII characters. A type ending in <c>-256COLOR</c> renders 256 colours;
/// one ending in <c>-TRUECOLOR</c> renders 24-bit colour as well.</item>
/// </list>
/// They are transport negotiation, so the portal applies them to <see cref="SessionInfo"/> itself and the game never
/// receives them as data. Package names are matched without regard to case, as GMCP's are.
/// </summary>
internal static class ClientReport
{
    /// <summary>The window size package (the NAWS of this transport).</summary>
    public const string SizePackage = "Client.Size";

    /// <summary>The terminal type package (the TTYPE of this transport).</summary>
    public const string TerminalPackage = "Client.Terminal";

    /// <summary>The longest terminal type kept, as telnet TTYPE keeps.</summary>
    public const int MaxTerminalTypeLength = 64;

    /// <summary>Whether <paramref name="package"/> is one of the packages the portal handles itself.</summary>
    public static bool Handles(string package) =>
        package.Equals(SizePackage, StringComparison.OrdinalIgnoreCase) || package.Equals(TerminalPackage, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads a report for a package <see cref="Handles"/> accepted. Returns the change to make to the session's info, or
    /// <see langword="null"/> with <paramref name="problem"/> saying what a valid message looks like.
    /// </summary>
    public static Func<SessionInfo, SessionInfo>? Read(string package, string json, out string problem)
    {
        bool size = package.Equals(SizePackage, StringComparison.OrdinalIgnoreCase);
        problem = size
            ? $"{SizePackage} needs {{\"width\":columns,\"height\":rows}}, whole numbers from 0 to 65535."
            : $"{TerminalPackage} needs {{\"type\":\"NAME\"}}, 1 to {MaxTerminalTypeLength} printable ASCII characters.";
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (size)
            {
                return TryDimension(root, "width", out int width) && TryDimension(root, "height", out int height)
                    ? info => info with { Width = width, Height = height }
                    : null;
            }

            return root.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String &&
                   type.GetString() is { Length: > 0 and <= MaxTerminalTypeLength } terminal && terminal.All(c => c is >= ' ' and <= '~')
                ? info => info with { TerminalType = terminal }
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryDimension(JsonElement root, string name, out int value)
    {
        value = 0;
        return root.TryGetProperty(name, out JsonElement element) && element.ValueKind == JsonValueKind.Number &&
               element.TryGetInt32(out value) && value is >= 0 and <= ushort.MaxValue;
    }
}
