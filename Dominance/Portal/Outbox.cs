using System.Threading.Tasks.Sources;

namespace Dominance.Portal;

/// <summary>
/// A session's queue of output frames: any number of writers, one reader (the session's write loop). A ring of frames
/// under a lock, and one reusable wait for the reader.
/// </summary>
/// <remarks>
/// <para>It replaces an unbounded single-reader <c>Channel</c>, whose queue's first segment (32 frames and a padded
/// head and tail, about 1 KB) and reader, writer and completion objects every connection held from its start, idle or
/// not. This holds a <see cref="Queue{T}"/>, whose array is allocated on the first frame (4 frames), grown while a
/// backlog lasts and given back once it is drained. The bound is the session's business (it counts).</para>
/// <para><b>Continuations run on the writer.</b> When the reader is parked in <see cref="WaitToReadAsync"/>, the
/// writer whose frame wakes it runs the reader's continuation itself, inside <see cref="TryWrite"/>, after the lock is
/// released: the same as a channel that allows synchronous continuations (see <see cref="PortalSession"/>'s remarks
/// for why delivery runs inline).</para>
/// </remarks>
internal sealed class Outbox : IValueTaskSource<bool>
{
    /// <summary>A drained queue whose array is larger than this gives it back (a slow client's backlog is not kept).</summary>
    private const int ShrinkAbove = 64;

    // Locked on this object: it is private to its session, nothing else locks it.
    private readonly Queue<OutputFrame> _frames = new();
    private bool _completed;
    private bool _readerWaiting;

    // The reader's wait, reused: reset under the lock before each wait, completed by whoever wakes it.
    private ManualResetValueTaskSourceCore<bool> _wake; // RunContinuationsAsynchronously is false: see the remarks

    /// <summary>Adds a frame. Returns <see langword="false"/> once the outbox is completed (the frame is not taken).</summary>
    public bool TryWrite(OutputFrame frame)
    {
        lock (this)
        {
            if (_completed)
            {
                return false;
            }

            _frames.Enqueue(frame);
            if (!_readerWaiting)
            {
                return true;
            }

            _readerWaiting = false;
        }

        _wake.SetResult(true); // runs the parked reader's next turn on this thread
        return true;
    }

    /// <summary>Whether the reader is parked in <see cref="WaitToReadAsync"/> with nothing queued (and the outbox is not completed).</summary>
    public bool IsIdle
    {
        get
        {
            lock (this)
            {
                return _readerWaiting && _frames.Count == 0 && !_completed;
            }
        }
    }

    /// <summary>Takes the oldest frame, if any; frames written before completion are still read after it.</summary>
    public bool TryRead(out OutputFrame frame)
    {
        lock (this)
        {
            if (!_frames.TryDequeue(out frame)) // the queue clears the slot: the payload's reference is the reader's now
            {
                return false;
            }

            if (_frames.Count == 0 && _frames.Capacity > ShrinkAbove)
            {
                _frames.TrimExcess();
            }

            return true;
        }
    }

    /// <summary>
    /// Completes when a frame can be read (<see langword="true"/>), or when the outbox is completed and empty
    /// (<see langword="false"/>). One reader: never called again before the previous wait has completed.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (this)
        {
            if (_frames.Count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _wake.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _wake.Version);
        }
    }

    /// <summary>Refuses further frames; a parked reader wakes once the frames already queued are read. Returns whether this call completed it.</summary>
    public bool TryComplete()
    {
        lock (this)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;
            if (!_readerWaiting)
            {
                return true;
            }

            _readerWaiting = false;
        }

        _wake.SetResult(false);
        return true;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wake.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wake.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wake.OnCompleted(continuation, state, token, flags);
}
