using System.Buffers;
using Dominance.Api;
using Dominance.Core;
using Dominance.Portal.WebSockets;

namespace Dominance.Portal.Sending;

/// <summary>
/// The in-process portal's taker of whole broadcasts (<see cref="IBroadcastSink"/>) for WebSocket sessions that send
/// on their socket themselves (<see cref="DirectSocket"/>): a server's frame is not masked, so the frame of a payload
/// is the same bytes for every recipient that takes it with the same opcode. It is built once (header and payload,
/// one copy), the recipients are listed, and the broadcast goes to the <see cref="SocketSender"/> as one item.
/// </summary>
/// <remarks>Game thread only. A frame is open per opcode (plain clients get game text as text frames, GMCP clients as
/// binary frames) and per sender thread (each sender gets its recipients' share, with a copy of the frame).</remarks>
internal sealed class WebSocketBroadcast : IBroadcastSink
{
    private readonly Frame[] _frames = new Frame[2 * SocketSender.Count];
    private OutputPayload? _payload;

    /// <inheritdoc/>
    public bool TryAdd(ISessionLink link, OutputKind kind, OutputPayload payload)
    {
        if (link is not WebSocketSession session || !session.TryTakeBroadcast(kind, payload, out byte opcode, out DirectSocket? socket))
        {
            return false;
        }

        if (!ReferenceEquals(payload, _payload))
        {
            End();
            _payload = payload;
        }

        int index = (opcode == WebSocketFrames.Text ? 0 : SocketSender.Count) + socket.Sender.Index;
        _frames[index].Add(opcode, payload.Span, socket);
        return true;
    }

    /// <inheritdoc/>
    public void End()
    {
        for (int i = 0; i < _frames.Length; i++)
        {
            _frames[i].Post();
        }

        _payload = null;
    }

    /// <summary>One open frame: its bytes and its recipients, in arrays rented from the shared pools, handed over when posted.</summary>
    private struct Frame
    {
        private byte[]? _bytes;
        private int _length;
        private DirectSocket[]? _recipients;
        private int _count;

        public void Add(byte opcode, ReadOnlySpan<byte> payload, DirectSocket socket)
        {
            if (_bytes is null)
            {
                _bytes = ArrayPool<byte>.Shared.Rent(payload.Length + 10);
                _length = WebSocketFrames.WriteFrame(_bytes, opcode, payload);
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
            if (_bytes is null)
            {
                return;
            }

            _recipients![0].Sender.PostBroadcast(_bytes, _length, _recipients, _count);
            this = default;
        }
    }
}
