using System.Runtime.CompilerServices;
using MessagePack;
using MessagePack.Formatters;

namespace Dominance.Api.State;

/// <summary>An enum as its number (as the JSON state wrote it), so renaming a constant loses nothing.</summary>
internal sealed class EnumFormatter<T> : IMessagePackFormatter<T>
{
    public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
    {
        switch (Unsafe.SizeOf<T>())
        {
            case 1: writer.Write(Unsafe.As<T, byte>(ref value)); break;
            case 2: writer.Write(Unsafe.As<T, short>(ref value)); break;
            case 4: writer.Write(Unsafe.As<T, int>(ref value)); break;
            default: writer.Write(Unsafe.As<T, long>(ref value)); break;
        }
    }

    public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        long number = reader.ReadInt64();
        T value = default!;
        switch (Unsafe.SizeOf<T>())
        {
            case 1: Unsafe.As<T, byte>(ref value) = (byte)number; break;
            case 2: Unsafe.As<T, short>(ref value) = (short)number; break;
            case 4: Unsafe.As<T, int>(ref value) = (int)number; break;
            default: Unsafe.As<T, long>(ref value) = number; break;
        }

        return value;
    }
}
