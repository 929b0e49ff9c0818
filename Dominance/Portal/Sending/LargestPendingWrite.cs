namespace Dominance.Portal.Sending;

/// <summary>
/// For a connection's bound in bytes (<see cref="DirectSocket"/>): the most bytes still unsent of any one write that
/// waits. The bound leaves these out, so that one large page is never cut off for its own size, while the bytes the
/// kernel has taken of it make no room for more behind it. Positions are counted in the connection's kept bytes (every
/// byte it ever kept, in order): a write ends where its last byte is, and the first <c>sent</c> of them are sent.
/// </summary>
/// <remarks>
/// Invariant: the candidates are in the order they were kept, each smaller than the one before. A write kept behind
/// one no larger than itself makes that one's remaining bytes no longer the most (the newer write is wholly unsent and
/// at least as large), so it is dropped then. Only the first candidate can be partly sent; the most unsent of one write
/// is therefore the larger of the first's unsent part and the second's size. The sender's thread only.
/// </remarks>
internal sealed class LargestPendingWrite
{
    private readonly List<(long End, int Size)> _candidates = [];

    /// <summary>A write of <paramref name="size"/> bytes was kept, its last byte at <paramref name="end"/>.</summary>
    public void Kept(long end, int size)
    {
        while (_candidates.Count > 0 && _candidates[^1].Size <= size)
        {
            _candidates.RemoveAt(_candidates.Count - 1);
        }

        _candidates.Add((end, size));
    }

    /// <summary>The most bytes still unsent of one write, once the first <paramref name="sent"/> kept bytes are sent.</summary>
    public long Unsent(long sent)
    {
        while (_candidates.Count > 0 && _candidates[0].End <= sent)
        {
            _candidates.RemoveAt(0);
        }

        if (_candidates.Count == 0)
        {
            return 0;
        }

        long first = Math.Min(_candidates[0].Size, _candidates[0].End - sent);
        return _candidates.Count > 1 ? Math.Max(first, _candidates[1].Size) : first;
    }

    /// <summary>Nothing waits any more (all sent, or the connection failed).</summary>
    public void Clear() => _candidates.Clear();
}
