using System.Buffers;
using MessagePack;

namespace Dominance.Api.State;

/// <summary>
/// The layout of one state type as a save stores it: its name, and its members' names and types in the order in which
/// each object of the type writes its values. A save writes the schema of every type once, in its header; each object
/// then writes only its values, in schema order (see <see cref="ObjectFormatter{T}"/>).
/// </summary>
/// <remarks>On the wire: <c>[type name, [member names], [member type names]]</c>; type names as <see cref="Type.ToString"/>, without assemblies.</remarks>
internal sealed class StateSchema
{
    public StateSchema(string typeName, string[] names, string[] typeNames)
    {
        TypeName = typeName;
        Names = names;
        TypeNames = typeNames;
    }

    /// <summary>The type's name (<see cref="Type.ToString"/>).</summary>
    public string TypeName { get; }

    /// <summary>The members' names, in the order of the values.</summary>
    public string[] Names { get; }

    /// <summary>The members' declared types' names, in the same order: a reader whose members match by name and type reads positionally.</summary>
    public string[] TypeNames { get; }

    /// <summary>Whether <paramref name="other"/> lays out its values exactly as this one does.</summary>
    public bool SameLayout(StateSchema other) => Names.AsSpan().SequenceEqual(other.Names) && TypeNames.AsSpan().SequenceEqual(other.TypeNames);

    /// <summary>This schema as MessagePack, to be copied into each save's header.</summary>
    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(TypeName);
        WriteStrings(ref writer, Names);
        WriteStrings(ref writer, TypeNames);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a schema written by <see cref="Encode"/>.</summary>
    public static StateSchema Read(ref MessagePackReader reader)
    {
        int count = reader.ReadArrayHeader();
        if (count < 3)
        {
            throw new MessagePackSerializationException($"A state schema has {count} parts; expected 3.");
        }

        string typeName = reader.ReadString() ?? "";
        string[] names = ReadStrings(ref reader);
        string[] typeNames = ReadStrings(ref reader);
        for (int i = 3; i < count; i++)
        {
            reader.Skip(); // parts added by later versions
        }

        if (names.Length != typeNames.Length)
        {
            throw new MessagePackSerializationException($"The state schema of {typeName} names {names.Length} members but {typeNames.Length} types.");
        }

        return new StateSchema(typeName, names, typeNames);
    }

    private static void WriteStrings(ref MessagePackWriter writer, string[] values)
    {
        writer.WriteArrayHeader(values.Length);
        foreach (string value in values)
        {
            writer.Write(value);
        }
    }

    private static string[] ReadStrings(ref MessagePackReader reader)
    {
        string[] values = new string[reader.ReadArrayHeader()];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = reader.ReadString() ?? "";
        }

        return values;
    }
}
