using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Dominance.Core;

/// <summary>
/// The game thread's <see cref="SynchronizationContext"/>: whatever is posted to it runs on the game thread, in order.
/// Installed on the game thread, it makes every <c>await</c> in game code resume there.
/// </summary>
/// <remarks>
/// The queue is unbounded on purpose: its producers are continuations of work the game itself started (each await
/// posts once) and control requests from the host, not clients. Clients only reach the game through the bounded
/// inbound channel.
/// </remarks>
internal sealed class GameSynchronizationContext(ManualResetEventSlim wake) : SynchronizationContext
{
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _posted = new();

    /// <summary>The managed id of the game thread, set once it starts.</summary>
    public int GameThreadId { get; set; } = -1;

    /// <summary>Whether nothing is waiting to run.</summary>
    public bool IsEmpty => _posted.IsEmpty;

    /// <summary>Whether the caller is on the game thread.</summary>
    public bool IsGameThread => Environment.CurrentManagedThreadId == GameThreadId;

    /// <inheritdoc/>
    public override void Post(SendOrPostCallback d, object? state)
    {
        _posted.Enqueue((d, state));
        wake.Set();
    }

    /// <inheritdoc/>
    public override void Send(SendOrPostCallback d, object? state)
    {
        if (IsGameThread)
        {
            d(state);
            return;
        }

        using var done = new ManualResetEventSlim();
        ExceptionDispatchInfo? failure = null;
        Post(
            _ =>
            {
                try
                {
                    d(state);
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
                finally
                {
                    done.Set();
                }
            },
            null);
        done.Wait();
        failure?.Throw();
    }

    /// <inheritdoc/>
    public override SynchronizationContext CreateCopy() => this;

    /// <summary>
    /// Runs what was posted before this call (not what those callbacks post in turn, so a callback that keeps posting
    /// cannot starve inputs). Game thread only. Returns how many ran.
    /// </summary>
    public int RunPosted(Action<Exception> onError)
    {
        int ran = 0;
        for (int pending = _posted.Count; pending > 0 && _posted.TryDequeue(out (SendOrPostCallback Callback, object? State) item); pending--)
        {
            ran++;
            try
            {
                item.Callback(item.State);
            }
            catch (Exception e)
            {
                onError(e);
            }
        }

        return ran;
    }
}
