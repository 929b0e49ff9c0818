using System.Diagnostics.CodeAnalysis;
using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// The sessions and groups ("rooms") the core tracks, and the fan-out of output to them. Owned by the loop, so it
/// survives module reloads. Game thread only, except <see cref="Open"/>.
/// </summary>
/// <remarks>
/// <para>Invariant: a session is in a group's member set exactly when the group's name is in that session's
/// <see cref="CoreSession.Groups"/>; empty groups do not exist.</para>
/// <para>Sessions are keyed by their <see cref="CoreSession.Id"/>; the portal names them by the connection that has
/// them (<see cref="CoreSession.Transport"/>). The two are the same until a session resumes on a new connection, which
/// then has an alias here. Invariant: a session's transport resolves to it (<see cref="TryGetByTransport"/>), and no
/// other connection's id does, so events of a connection that lost its session are ignored.</para>
/// </remarks>
internal sealed class SessionTable
{
    private readonly Dictionary<SessionId, CoreSession> _sessions = [];
    private readonly Dictionary<string, HashSet<CoreSession>> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<SessionId, CoreSession> _aliases = [];
    private volatile int _open;
    private volatile int _playing;

    /// <summary>
    /// Issues the resume tokens of <see cref="IGameContext.SetAccount"/>, where sessions can outlive the core (portals in
    /// other processes); <see langword="null"/> otherwise. Set before the game thread starts.
    /// </summary>
    public ResumeTokens? ResumeTokens { get; set; }

    /// <summary>Sessions in the table, including closing ones.</summary>
    public int Count => _sessions.Count;

    /// <summary>Sessions in the table that are not closing. Readable from any thread.</summary>
    public int Open => _open;

    /// <summary>Sessions in the table that are not closing and play, with an account or as guests (<see cref="MarkPlaying"/>). Readable from any thread.</summary>
    public int Playing => _playing;

    /// <summary>Every session in the table, including closing ones.</summary>
    public Dictionary<SessionId, CoreSession>.ValueCollection All => _sessions.Values;

    /// <summary>Adds a session that has just connected.</summary>
    public CoreSession Add(ISessionLink link, SessionInfo info, long now)
    {
        var session = new CoreSession(link, info, now);
        _sessions.Add(session.Id, session);
        _open++;
        return session;
    }

    public bool TryGet(SessionId id, [NotNullWhen(true)] out CoreSession? session) => _sessions.TryGetValue(id, out session);

    /// <summary>Finds the session that the portal's connection <paramref name="transport"/> has now, if any.</summary>
    public bool TryGetByTransport(SessionId transport, [NotNullWhen(true)] out CoreSession? session)
    {
        if (_sessions.TryGetValue(transport, out session) && session.Transport == transport)
        {
            return true;
        }

        session = null;
        return _aliases.Count > 0 && _aliases.TryGetValue(transport, out session);
    }

    /// <summary>Gives <paramref name="session"/> to the connection <paramref name="transport"/>.</summary>
    public void Attach(CoreSession session, SessionId transport)
    {
        Detach(session);
        session.Transport = transport;
        if (transport != session.Id)
        {
            _aliases.Add(transport, session);
        }
    }

    /// <summary>Takes <paramref name="session"/> from its connection: that connection's events no longer reach it.</summary>
    public void Detach(CoreSession session)
    {
        if (session.Transport is { } transport && transport != session.Id)
        {
            _aliases.Remove(transport);
        }

        session.Transport = null;
    }

    /// <summary>Removes a session (its connection has closed), takes it out of all its groups and drops what it had waiting.</summary>
    public bool Remove(SessionId id, [NotNullWhen(true)] out CoreSession? session)
    {
        if (!_sessions.Remove(id, out session))
        {
            return false;
        }

        if (!session.Closing)
        {
            _open--;
            _playing -= session.Playing ? 1 : 0;
        }

        session.IdleTimer?.Cancel();
        session.TokenTimer?.Cancel();
        session.GraceTimer?.Cancel();
        session.Parked?.Discard();
        Detach(session);
        session.Inputs?.Waiting.Clear();
        foreach (string group in session.Groups)
        {
            RemoveMember(group, session);
        }

        session.Groups.Clear();
        return true;
    }

    /// <summary>
    /// Closes a session: after <paramref name="goodbye"/> (if any; the caller's reference is handed over) and everything
    /// queued before it, the portal closes the connection. From now on the session gets no output and no input.
    /// </summary>
    public void Close(CoreSession session, OutputPayload? goodbye)
    {
        if (session.Closing)
        {
            goodbye?.Release();
            return;
        }

        if (session.Account is not null && session.Parked is null && session.Info.SupportsOutOfBand)
        {
            // Its token will not resume it: the client can forget it rather than present it and be refused.
            Send(session, OutputKind.Data, OutputPayload.ForData(SessionResume.EndedPackage, "{}"));
        }

        session.Closing = true;
        _open--;
        _playing -= session.Playing ? 1 : 0;
        session.IdleTimer?.Cancel();
        session.Inputs?.Waiting.Clear();
        session.Link.Close(goodbye);
    }

    /// <summary>Counts an open session as playing, once. Invariant: <see cref="Playing"/> counts the open sessions marked so.</summary>
    public void MarkPlaying(CoreSession session)
    {
        if (!session.Playing && !session.Closing)
        {
            session.Playing = true;
            _playing++;
        }
    }

    /// <summary>Hands one frame to one session unless it is closing, and drops the caller's reference.</summary>
    public static void Send(CoreSession session, OutputKind kind, OutputPayload payload)
    {
        // The caller's reference goes to the link; if the link does not take the frame it is given back here.
        if (session.Closing || !session.Link.TrySend(kind, payload))
        {
            payload.Release();
        }
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

    /// <summary>
    /// Hands one payload to every open member of <paramref name="group"/> (minus <paramref name="except"/>; only those that
    /// asked for out-of-band data if <paramref name="outOfBandOnly"/>, and of those only the ones that asked for the
    /// module of <paramref name="standardPackage"/> if it is given), and drops the caller's reference.
    /// </summary>
    public void SendToGroup(string group, OutputKind kind, OutputPayload payload, SessionId? except, bool outOfBandOnly, string? standardPackage = null)
    {
        if (_groups.TryGetValue(group, out HashSet<CoreSession>? members))
        {
            Deliver(members, kind, payload, except, outOfBandOnly, standardPackage);
        }

        payload.Release();
    }

    /// <summary>Hands one payload to every open session, and drops the caller's reference.</summary>
    public void SendToAll(OutputKind kind, OutputPayload payload)
    {
        payload.AddReferences(_sessions.Count);
        int unused = 0;
        IBroadcastSink? sink = null;
        try
        {
            foreach (CoreSession session in _sessions.Values)
            {
                if (session.Closing || !Hand(session.Link, kind, payload, ref sink))
                {
                    unused++;
                }
            }
        }
        finally
        {
            sink?.End(); // always: a broadcast left open would be sent after its recipients' newer output
        }

        payload.Release(unused + 1);
    }

    /// <summary>Hands one payload to every open member of a set (minus <paramref name="except"/>). The caller keeps its reference.</summary>
    private static void Deliver(HashSet<CoreSession> members, OutputKind kind, OutputPayload payload, SessionId? except, bool outOfBandOnly, string? standardPackage)
    {
        // One reference per member, taken in one atomic add; those no link took are given back at the end, in another.
        payload.AddReferences(members.Count);
        int unused = 0;
        IBroadcastSink? sink = null;
        try
        {
            foreach (CoreSession member in members)
            {
                if (member.Closing || member.Id == except || (outOfBandOnly && !member.Info.SupportsOutOfBand) ||
                    (standardPackage is not null && !GmcpStandard.Covers(member.Info.GmcpModules, standardPackage)) ||
                    !Hand(member.Link, kind, payload, ref sink))
                {
                    unused++;
                }
            }
        }
        finally
        {
            sink?.End(); // always: a broadcast left open would be sent after its recipients' newer output
        }

        payload.Release(unused);
    }

    /// <summary>
    /// Hands one member's frame of a broadcast to its portal's broadcast (<see cref="IBroadcastSink"/>), or to its link.
    /// Returns whether the link took one of the caller's references (the broadcast copies, and takes none). A broadcast
    /// of another portal is ended first.
    /// </summary>
    private static bool Hand(ISessionLink link, OutputKind kind, OutputPayload payload, ref IBroadcastSink? sink)
    {
        if (link.Broadcasts is { } broadcasts)
        {
            if (!ReferenceEquals(broadcasts, sink))
            {
                sink?.End();
                sink = broadcasts;
            }

            if (broadcasts.TryAdd(link, kind, payload))
            {
                return false;
            }
        }

        return link.TrySend(kind, payload);
    }

    private void RemoveMember(string group, CoreSession session)
    {
        if (_groups.TryGetValue(group, out HashSet<CoreSession>? members) && members.Remove(session) && members.Count == 0)
        {
            _groups.Remove(group);
        }
    }
}
