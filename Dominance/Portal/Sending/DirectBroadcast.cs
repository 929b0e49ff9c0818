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
    private Frame[] _frames = new Frame[4];
    private int _open;
    private OutputPayload? _payload;
    private long _taken;

    /// <summary>Recipients taken so far, over all broadcasts (written by the game thread, read from any).</summary>
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
        Volatile.Write(ref _taken, _taken + 1);
        return true;
    }

    /// <inheritdoc/>
    public void End()
    {
        for (int i = 0; i < _open; i++)
        {
            _frames[i].Post();
        }

        _open = 0;
        _payload = null;
    }

    /// <summary>The open frame of <paramref name="rendering"/> for <paramref name="sender"/>'s connections, opened if there is none.</summary>
    private ref Frame Find(FrameRendering rendering, SocketSender sender)
    {
        for (int i = 0; i < _open; i++)
        {
            if (ReferenceEquals(_frames[i].Rendering, rendering) && ReferenceEquals(_frames[i].Sender, sender))
            {
                return ref _frames[i];
            }
        }

        if (_open == _frames.Length)
        {
            Array.Resize(ref _frames, _open * 2);
        }

        _frames[_open] = new Frame(rendering, sender);
        return ref _frames[_open++];
    }

    /// <summary>One open frame: its bytes and its recipients, in arrays rented from the shared pools, handed over when posted.</summary>
    private struct Frame(FrameRendering rendering, SocketSender sender)
    {
        private byte[]? _bytes;
        private int _length;
        private DirectSocket[]? _recipients;
        private int _count;

        public readonly FrameRendering Rendering => rendering;

        public readonly SocketSender Sender => sender;

        public void Add(ReadOnlySpan<byte> payload, DirectSocket socket)
        {
            if (_bytes is null)
            {
                _bytes = ArrayPool<byte>.Shared.Rent(rendering.MaxLength(payload.Length));
                _length = rendering.Write(payload, _bytes);
                _recipients = ArrayPool<DirectSocket>.Shared.Rent(64);
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

        public void Post()
        {
            if (_bytes is not null)
            {
                sender.PostBroadcast(_bytes, _length, _recipients!, _count);
            }

            this = default;
        }
    }
}
