using System.Diagnostics.CodeAnalysis;
using Dominance.Api;
using Dominance.Portal;

namespace Dominance.Core;

/// <summary>
/// The sessions and groups ("rooms") the core tracks, and the fan-out of output to them. Owned by the host, so it
/// survives module reloads. Game thread only.
/// </summary>
/// <remarks>
/// Invariant: a session is in a group's member set exactly when the group's name is in that session's
/// <see cref="CoreSession.Groups"/>; empty groups do not exist.
/// </remarks>
internal sealed class SessionTable
{
    private readonly Dictionary<SessionId, CoreSession> _sessions = [];
    private readonly Dictionary<string, HashSet<CoreSession>> _groups = new(StringComparer.Ordinal);

    /// <summary>Sessions in the table, including closing ones.</summary>
    public int Count => _sessions.Count;

    /// <summary>Every session in the table, including closing ones.</summary>
    public Dictionary<SessionId, CoreSession>.ValueCollection All => _sessions.Values;

    public CoreSession Add(PortalSession portal, long now)
    {
        var session = new CoreSession(portal, now);
        _sessions.Add(session.Id, session);
        return session;
    }

    public bool TryGet(SessionId id, [NotNullWhen(true)] out CoreSession? session) => _sessions.TryGetValue(id, out session);

    /// <summary>Removes a session and takes it out of all its groups.</summary>
    public bool Remove(SessionId id, [NotNullWhen(true)] out CoreSession? session)
    {
        if (!_sessions.Remove(id, out session))
        {
            return false;
        }

        foreach (string group in session.Groups)
        {
            RemoveMember(group, session);
        }

        session.Groups.Clear();
        return true;
    }

    public void Join(CoreSession session, string group)
    {
        if (!_groups.TryGetValue(group, out HashSet<CoreSession>? members))
        {
            members = [];
            _groups.Add(group, members);
        }

        if (members.Add(session))
        {
            session.Groups.Add(group);
        }
    }

    public void Leave(CoreSession session, string group)
    {
        if (session.Groups.Remove(group))
        {
            RemoveMember(group, session);
        }
    }

    /// <summary>The members of a group, or <see langword="null"/> if it does not exist.</summary>
    public HashSet<CoreSession>? Members(string group) => _groups.GetValueOrDefault(group);

    /// <summary>Hands one payload to every open member of a group (minus <paramref name="except"/>).</summary>
    public static void Deliver(HashSet<CoreSession> members, FrameKind kind, OutputPayload payload, SessionId? except, bool outOfBandOnly)
    {
        // One reference per member, taken in one atomic add; those not handed to an outbox are given back at the end.
        payload.AddReferences(members.Count);
        int unused = 0;
        foreach (CoreSession member in members)
        {
            if (member.Closing || member.Id == except || (outOfBandOnly && !member.Info.SupportsOutOfBand) ||
                !member.Portal.EnqueueReferenced(kind, payload))
            {
                unused++;
            }
        }

        payload.Release(unused);
    }

    private void RemoveMember(string group, CoreSession session)
    {
        if (_groups.TryGetValue(group, out HashSet<CoreSession>? members) && members.Remove(session) && members.Count == 0)
        {
            _groups.Remove(group);
        }
    }
}
