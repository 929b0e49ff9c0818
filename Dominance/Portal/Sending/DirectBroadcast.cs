using System.Buffers;
using Dominance.Api;
using Dominance.Core;

namespace Dominance.Portal.Sending;

/// <summary>
/// The in-process portal's taker of whole broadcasts (<see cref="IBroadcastSink"/>) for sessions that send on their
/// socket themselves (<see cref="DirectSocket"/>: WebSocket and telnet connections): the bytes of a payload are the same
/// for every recipient that renders it the same way (<see cref="FrameRendering"/>: a WebSocket frame of one opcode,
/// telnet text in one charset, with or without colour, ...). They are built once per rendering, the recipients are
/// listed, and the broadcast goes to each <see cref="SocketSender"/> as one item per rendering.
/// </summary>
/// <remarks>Game thread only. A frame is open per rendering and per sender thread (each sender gets its recipients'
/// share, with a copy of the bytes). A session whose bytes are its own (text wrapped to its window) is not taken.</remarks>
internal sealed class DirectBroadcast : IBroadcastSink
{
    private Frame[] _frames = []; // at [rendering.Id * SocketSender.Count + sender.Index]; open while it has a rendering
    private int[] _open = new int[8]; // the indices of the open frames
    private int _openCount;
    private OutputPayload? _payload;
    private long _taken;

    /// <summary>Recipients taken so far, over all broadcasts (written by the game thread when it posts, read from any).</summary>
    public long Taken => Volatile.Read(ref _taken);

    /// <inheritdoc/>
    public bool TryAdd(ISessionLink link, OutputKind kind, OutputPayload payload)
    {
        if (link is not PortalSession session || !session.TryTakeBroadcast(kind, payload, out FrameRendering? rendering, out DirectSocket? socket))
        {
            return false;
        }

        if (!ReferenceEquals(payload, _payload))
        {
            End();
            _payload = payload;
        }

        Find(rendering, socket.Sender).Add(payload.Span, socket);
        return true;
    }

    /// <inheritdoc/>
    public void End()
    {
        long taken = 0;
        for (int i = 0; i < _openCount; i++)
        {
            taken += _frames[_open[i]].Post();
        }

        if (taken != 0)
        {
            Volatile.Write(ref _taken, _taken + taken);
        }

        _openCount = 0;
        _payload = null;
    }

    /// <summary>The open frame of <paramref name="rendering"/> for <paramref name="sender"/>'s connections, opened if there is none.</summary>
    private ref Frame Find(FrameRendering rendering, SocketSender sender)
    {
        int index = rendering.Id * SocketSender.Count + sender.Index;
        if (index >= _frames.Length)
        {
            Array.Resize(ref _frames, Math.Max(index + 1, _frames.Length * 2));
        }

        ref Frame frame = ref _frames[index];
        if (!frame.IsOpen)
        {
            if (_openCount == _open.Length)
            {
                Array.Resize(ref _open, _openCount * 2);
            }

            _open[_openCount++] = index;
            frame = new Frame(rendering, sender);
        }

        return ref frame;
    }

    /// <summary>One open frame: its bytes and its recipients, in arrays rented from the shared pools, handed over when posted.</summary>
    private struct Frame(FrameRendering rendering, SocketSender sender)
    {
        private byte[]? _bytes;
        private int _length;
        private DirectSocket[]? _recipients;
        private int _count;

        /// <summary>Whether it was opened (made for a rendering) and not posted since.</summary>
        public readonly bool IsOpen => rendering is not null;

        public void Add(ReadOnlySpan<byte> payload, DirectSocket socket)
        {
            if (_bytes is null)
            {
                // Into locals first: a rendering that throws leaves the frame as it was (nothing to post), and its array returned.
                byte[] bytes = ArrayPool<byte>.Shared.Rent(rendering.MaxLength(payload.Length));
                int length;
                try
                {
                    length = rendering.Write(payload, bytes);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(bytes);
                    throw;
                }

                _recipients = ArrayPool<DirectSocket>.Shared.Rent(64);
                _length = length;
                _bytes = bytes;
            }

            if (_count == _recipients!.Length)
            {
                DirectSocket[] larger = ArrayPool<DirectSocket>.Shared.Rent(_count * 2);
                _recipients.AsSpan(0, _count).CopyTo(larger);
                Array.Clear(_recipients, 0, _count);
                ArrayPool<DirectSocket>.Shared.Return(_recipients);
                _recipients = larger;
            }

            _recipients[_count++] = socket;
        }

        /// <summary>Hands the frame to its sender, if it has bytes, and closes it. Returns its recipients.</summary>
        public int Post()
        {
            int count = 0;
            if (_bytes is not null)
            {
                count = _count;
                sender.PostBroadcast(_bytes, _length, _recipients!, _count);
            }

            this = default;
            return count;
        }
    }
}
