using System.Text.Json;
using Dominance.Api;

namespace Dominance.Portal;

/// <summary>
/// GMCP's own <c>Core</c> package, which is negotiation between client and server, so the portal answers it and the game
/// never sees it: <c>Core.Hello</c> (who the client is), <c>Core.Supports.Set</c>/<c>.Add</c>/<c>.Remove</c> (which
/// modules it wants; kept in <see cref="SessionInfo.GmcpModules"/>), <c>Core.Ping</c> (answered with
/// <c>Core.Ping</c>) and <c>Core.KeepAlive</c>. Every other message is relayed to the game only if its data is valid
/// JSON (or empty). Package names are matched without regard to case.
/// </summary>
internal static class GmcpCore
{
    /// <summary>What to do with one GMCP message from a client.</summary>
    public enum Verdict
    {
        /// <summary>Not the portal's: relay it to the game.</summary>
        Relay,

        /// <summary>Apply <see cref="Reading.Change"/> to the session's info.</summary>
        Change,

        /// <summary>Answer with a <c>Core.Ping</c>.</summary>
        Ping,

        /// <summary>Nothing to do.</summary>
        Ignore,

        /// <summary>Malformed: tell the client <see cref="Reading.Problem"/>.</summary>
        Invalid,
    }

    /// <summary>The verdict on one message, with the change or the problem it implies.</summary>
    public readonly record struct Reading(Verdict Verdict, Func<SessionInfo, SessionInfo>? Change = null, string? Problem = null);

    /// <summary>Reads one GMCP message (<paramref name="package"/> and its JSON, possibly empty).</summary>
    public static Reading Read(string package, string json)
    {
        JsonDocument? document = null;
        try
        {
            if (!string.IsNullOrWhiteSpace(json))
            {
                document = JsonDocument.Parse(json);
            }
        }
        catch (JsonException e)
        {
            return new Reading(Verdict.Invalid, Problem: $"GMCP {package}: the data is not valid JSON ({e.Message}); the message was ignored.");
        }

        using (document)
        {
            JsonElement data = document?.RootElement ?? default;
            switch (package.ToLowerInvariant())
            {
                case "core.ping":
                    return new Reading(Verdict.Ping);
                case "core.keepalive" or "core.goodbye":
                    return new Reading(Verdict.Ignore);
                case "core.hello":
                    if (data.ValueKind != JsonValueKind.Object || !TryText(data, "client", out string? client))
                    {
                        return new Reading(Verdict.Invalid, Problem: "GMCP Core.Hello needs {\"client\":\"name\",\"version\":\"1.0\"}; it was ignored.");
                    }

                    TryText(data, "version", out string? version);
                    return new Reading(Verdict.Change, info => info with { ClientName = client, ClientVersion = version });
                case "core.supports.set" or "core.supports.add" or "core.supports.remove":
                    if (!TryModules(data, out List<string>? modules))
                    {
                        return new Reading(Verdict.Invalid,
                            Problem: $"GMCP {package} needs a JSON array of \"Module version\" strings, such as [\"Char 1\",\"Room 1\"]; it was ignored.");
                    }

                    string verb = package[(package.LastIndexOf('.') + 1)..].ToLowerInvariant();
                    return new Reading(Verdict.Change, info => info with { GmcpModules = Apply(info.GmcpModules, verb, modules) });
                default:
                    return package.StartsWith("Core.", StringComparison.OrdinalIgnoreCase) ? new Reading(Verdict.Ignore) : new Reading(Verdict.Relay);
            }
        }
    }

    private static HashSet<string> Apply(IReadOnlySet<string> current, string verb, List<string> modules)
    {
        var next = verb == "set" ? new HashSet<string>(StringComparer.OrdinalIgnoreCase) : new HashSet<string>(current, StringComparer.OrdinalIgnoreCase);
        foreach (string module in modules)
        {
            if (verb == "remove")
            {
                next.Remove(module);
            }
            else
            {
                next.Add(module);
            }
        }

        return next;
    }

    private static bool TryText(JsonElement data, string name, out string? text)
    {
        text = data.TryGetProperty(name, out JsonElement element) && element.ValueKind == JsonValueKind.String ? InputText.Clean(element.GetString()!) : null;
        return text is { Length: > 0 and <= 64 };
    }

    private static bool TryModules(JsonElement data, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out List<string>? modules)
    {
        modules = null;
        if (data.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var names = new List<string>();
        foreach (JsonElement entry in data.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.String || entry.GetString()!.Trim() is not { Length: > 0 and <= 64 } text)
            {
                return false;
            }

            int space = text.IndexOf(' ');
            names.Add(space < 0 ? text : text[..space]);
        }

        modules = names;
        return names.Count <= 64;
    }
}
