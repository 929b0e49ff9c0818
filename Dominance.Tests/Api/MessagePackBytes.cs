using System.Buffers;
using MessagePack;

namespace Dominance.Tests.Api;

/// <summary>The bytes a piece of code writes with a <see cref="MessagePackWriter"/>, for the state format's tests.</summary>
internal static class MessagePackBytes
{
    /// <summary>Writes into a fresh <see cref="MessagePackWriter"/>.</summary>
    public delegate void Write(ref MessagePackWriter writer);

    /// <summary>Runs <paramref name="write"/> and returns what it wrote.</summary>
    public static byte[] Of(Write write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
