using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// The link of a session whose connection has gone while the session waits for its player to come back
/// (<see cref="SessionResume"/>): it keeps the session's output, up to a bound, to hand over to the next connection.
/// Game thread only.
/// </summary>
/// <remarks>
/// Invariant: it holds one payload reference per kept frame, at most <c>capacity</c> frames. When a frame arrives at a
/// full backlog the oldest is dropped (and counted in <see cref="Dropped"/>), so what is handed over is the newest
/// output, in order. A close (the game or idle logoff ends the session while it waits) drops the backlog and calls
/// <c>onClose</c> once.
/// </remarks>
internal sealed class ParkedLink(int capacity, Action onClose) : ISessionLink
{
    private readonly Queue<(OutputKind Kind, OutputPayload Payload)> _frames = new();
    private bool _closed;

    /// <summary>Frames dropped because the backlog was full.</summary>
    public int Dropped { get; private set; }

    /// <summary>Frames kept now.</summary>
    public int Count => _frames.Count;

    /// <summary>The last echo switch asked for while parked, if any.</summary>
    public bool? Echo { get; private set; }

    /// <inheritdoc/>
    public bool TrySend(OutputKind kind, OutputPayload payload)
    {
        if (_closed)
        {
            return false;
        }

        if (_frames.Count == capacity)
        {
            _frames.Dequeue().Payload.Release();
            Dropped++;
        }

        _frames.Enqueue((kind, payload));
        return true;
    }

    /// <inheritdoc/>
    public void Close(OutputPayload? goodbye)
    {
        goodbye?.Release(); // nobody to say it to
        if (_closed)
        {
            return;
        }

        Discard();
        onClose();
    }

    /// <inheritdoc/>
    public void SetEcho(bool enabled) => Echo = enabled;

    /// <inheritdoc/>
    /// <remarks>
    /// Dropped: the connection whose portal would keep it is gone, and a token names the connection it was issued on, so
    /// it would not restore the next one either.
    /// </remarks>
    public void SetRestoreToken(string token)
    {
    }

    /// <summary>Hands every kept frame, oldest first, and the echo state to <paramref name="link"/>, and stops keeping.</summary>
    public void HandOver(ISessionLink link)
    {
        _closed = true;
        while (_frames.TryDequeue(out (OutputKind Kind, OutputPayload Payload) frame))
        {
            if (!link.TrySend(frame.Kind, frame.Payload))
            {
                frame.Payload.Release();
            }
        }

        if (Echo is bool echo)
        {
            link.SetEcho(echo);
        }
    }

    /// <summary>Drops every kept frame and stops keeping.</summary>
    public void Discard()
    {
        _closed = true;
        while (_frames.TryDequeue(out (OutputKind Kind, OutputPayload Payload) frame))
        {
            frame.Payload.Release();
        }
    }
}
