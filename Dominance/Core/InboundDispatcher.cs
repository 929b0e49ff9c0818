using Dominance.Api;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// Hands the portal's events to the game module, in arrival order. Game thread only, except
/// <see cref="InputsHandled"/>.
/// </summary>
internal sealed class InboundDispatcher(InboundPipe inbound, SessionTable sessions, ModuleHost modules, IdleLogoff idle, TimeProvider clock, ILogger log)
{
    private const string FailureNotice = "Something went wrong while handling that. The error has been logged.";

    private long _inputsHandled;

    /// <summary>Inputs handed to the module so far. Readable from any thread.</summary>
    public long InputsHandled => Interlocked.Read(ref _inputsHandled);

    /// <summary>Dispatches up to <paramref name="max"/> events from the inbound channel. Returns how many it took.</summary>
    public int DispatchInbound(int max)
    {
        int taken = 0;
        while (taken < max && inbound.TryRead(out InboundEvent item))
        {
            Dispatch(item);
            taken++;
        }

        return taken;
    }

    private void Dispatch(in InboundEvent item)
    {
        switch (item.Kind)
        {
            case InboundKind.Connected:
                CoreSession added = sessions.Add(item.Link!, item.Info!, clock.GetTimestamp());
                idle.Watch(added);
                try
                {
                    modules.Module.OnConnect(added.Id);
                }
                catch (Exception e)
                {
                    ReportFailure(added, e, null);
                }

                break;

            case InboundKind.Input or InboundKind.Data when sessions.TryGet(item.Session, out CoreSession? session) && !session.Closing:
                session.LastInput = clock.GetTimestamp();
                Run(session, item);
                break;

            case InboundKind.InfoChanged when sessions.TryGet(item.Session, out CoreSession? session):
                session.Info = item.Info!;
                break;

            case InboundKind.Disconnected when sessions.Remove(item.Session, out CoreSession? session):
                try
                {
                    modules.Module.OnDisconnect(session.Id);
                }
                catch (Exception e)
                {
                    ReportFailure(session, e, null);
                }

                break;
        }
    }

    /// <summary>Hands one input or out-of-band message to the module.</summary>
    private void Run(CoreSession session, in InboundEvent item)
    {
        if (item.Kind == InboundKind.Data)
        {
            try
            {
                modules.Module.OnData(session.Id, item.Package!, item.Text!);
            }
            catch (Exception e)
            {
                ReportFailure(session, e, item.Text);
            }

            return;
        }

        Interlocked.Increment(ref _inputsHandled);
        ValueTask pending;
        try
        {
            pending = modules.Module.OnInput(session.Id, item.Text!);
        }
        catch (Exception e)
        {
            ReportFailure(session, e, item.Text);
            return;
        }

        if (!pending.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(pending, session, item.Text!);
        }
    }

    private async Task ObserveAsync(ValueTask pending, CoreSession session, string input)
    {
        try
        {
            await pending; // resumes on the game thread: the game's SynchronizationContext is current here
        }
        catch (Exception e)
        {
            ReportFailure(session, e, input);
        }
    }

    private void ReportFailure(CoreSession session, Exception e, string? input)
    {
        log.LogError(e, "Game code failed while handling {Input} from session {Session}", input ?? "(an event)", session.Id);
        SessionTable.Send(session, OutputKind.Text, OutputPayload.ForLine(FailureNotice));
    }
}
