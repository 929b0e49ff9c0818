using Dominance.Api;
using Dominance.Core;

namespace Dominance.Nats;

/// <summary>
/// The core's link to a session of a remote portal: each call becomes one entry of that portal's next output batch.
/// Game thread only, as every <see cref="ISessionLink"/>.
/// </summary>
internal sealed class RemoteSessionLink(RemotePortal portal, SessionId session) : ISessionLink
{
    /// <summary>The session's id.</summary>
    public SessionId Session { get; } = session;

    /// <summary>The portal the session is on.</summary>
    public RemotePortal Portal { get; } = portal;

    /// <summary>The last per-session sequence number received for this session (the core's inbound reader only).</summary>
    public long Sequence { get; set; }

    public bool TrySend(OutputKind kind, OutputPayload payload) =>
        Portal.TryQueue(kind switch { OutputKind.Data => OutputOp.Data, OutputKind.Prompt => OutputOp.Prompt, _ => OutputOp.Text }, Session, payload, null);

    public void Close(OutputPayload? goodbye)
    {
        if (!Portal.TryQueue(OutputOp.Close, Session, goodbye, null))
        {
            goodbye?.Release();
        }
    }

    public void SetEcho(bool enabled) => Portal.TryQueue(enabled ? OutputOp.EchoOn : OutputOp.EchoOff, Session, null, null);

    public void SetRestoreToken(string token) => Portal.TryQueue(OutputOp.RestoreToken, Session, null, token);
}
