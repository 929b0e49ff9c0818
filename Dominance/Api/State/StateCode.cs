using System.Reflection;
using System.Reflection.Emit;
using MessagePack;
using MessagePack.Formatters;

namespace Dominance.Api.State;

/// <summary>Writes the values of a state object, in schema order; <c>formatters[i]</c> is member i's formatter when it is not written inline.</summary>
internal delegate void WriteValues<T>(object?[] formatters, ref MessagePackWriter writer, T value, MessagePackSerializerOptions options);

/// <summary>Reads a new state object whose values were written in this code's own schema order.</summary>
internal delegate T ReadValues<T>(object?[] formatters, ref MessagePackReader reader, MessagePackSerializerOptions options);

/// <summary>
/// Generates, per state type, the code that writes an object's values one after the other and reads them back: one
/// dynamic method each way, with the members' accessors and the primitives' reads and writes inline, and a direct
/// call to the formatter of every other member. No names, no per-member virtual calls or delegates.
/// </summary>
/// <remarks>
/// Dynamic methods are collected with the delegate that refers to them; the formatter (in its generation's
/// resolver) holds that delegate, so the code dies with the generation and keeps none of its types loaded.
/// </remarks>
internal static class StateCode
{
    /// <summary>The value types written with a MessagePackWriter method of their own (read with the reader's method of that name).</summary>
    private static readonly Dictionary<Type, string> s_inline = new()
    {
        [typeof(bool)] = nameof(MessagePackReader.ReadBoolean),
        [typeof(byte)] = nameof(MessagePackReader.ReadByte),
        [typeof(sbyte)] = nameof(MessagePackReader.ReadSByte),
        [typeof(short)] = nameof(MessagePackReader.ReadInt16),
        [typeof(ushort)] = nameof(MessagePackReader.ReadUInt16),
        [typeof(int)] = nameof(MessagePackReader.ReadInt32),
        [typeof(uint)] = nameof(MessagePackReader.ReadUInt32),
        [typeof(long)] = nameof(MessagePackReader.ReadInt64),
        [typeof(ulong)] = nameof(MessagePackReader.ReadUInt64),
        [typeof(float)] = nameof(MessagePackReader.ReadSingle),
        [typeof(double)] = nameof(MessagePackReader.ReadDouble),
        [typeof(char)] = nameof(MessagePackReader.ReadChar),
        [typeof(string)] = nameof(MessagePackReader.ReadString),
    };

    /// <summary>Whether values of <paramref name="type"/> are written inline (no formatter).</summary>
    public static bool IsInline(Type type) => s_inline.ContainsKey(type);

    /// <summary>The writer of <typeparamref name="T"/>'s <paramref name="members"/>, in that order.</summary>
    public static WriteValues<T> Writer<T>(IReadOnlyList<(MemberInfo Member, Type Type)> members)
    {
        Type type = typeof(T);
        var method = new DynamicMethod(
            "Write" + type.Name, typeof(void), [typeof(object[]), typeof(MessagePackWriter).MakeByRefType(), type, typeof(MessagePackSerializerOptions)],
            restrictedSkipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        for (int i = 0; i < members.Count; i++)
        {
            (MemberInfo member, Type valueType) = members[i];
            if (IsInline(valueType))
            {
                il.Emit(OpCodes.Ldarg_1);
                LoadMember(il, type, member);
                il.Emit(OpCodes.Call, typeof(MessagePackWriter).GetMethod(nameof(MessagePackWriter.Write), [valueType])!);
            }
            else
            {
                Type formatter = typeof(IMessagePackFormatter<>).MakeGenericType(valueType);
                LoadFormatter(il, i, formatter);
                il.Emit(OpCodes.Ldarg_1);
                LoadMember(il, type, member);
                il.Emit(OpCodes.Ldarg_3);
                il.Emit(OpCodes.Callvirt, formatter.GetMethod(nameof(IMessagePackFormatter<int>.Serialize))!);
            }
        }

        il.Emit(OpCodes.Ret);
        return method.CreateDelegate<WriteValues<T>>();
    }

    /// <summary>The reader of a new <typeparamref name="T"/> from the values of its <paramref name="members"/>, in that order.</summary>
    public static ReadValues<T> Reader<T>(IReadOnlyList<(MemberInfo Member, Type Type)> members)
    {
        Type type = typeof(T);
        var method = new DynamicMethod(
            "Read" + type.Name, type, [typeof(object[]), typeof(MessagePackReader).MakeByRefType(), typeof(MessagePackSerializerOptions)],
            restrictedSkipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        LocalBuilder value = il.DeclareLocal(type);
        if (type.IsValueType)
        {
            il.Emit(OpCodes.Ldloca, value);
            il.Emit(OpCodes.Initobj, type);
        }
        else
        {
            il.Emit(OpCodes.Newobj, type.GetConstructor(Type.EmptyTypes)!);
            il.Emit(OpCodes.Stloc, value);
        }

        for (int i = 0; i < members.Count; i++)
        {
            (MemberInfo member, Type valueType) = members[i];
            il.Emit(type.IsValueType ? OpCodes.Ldloca : OpCodes.Ldloc, value);
            if (s_inline.TryGetValue(valueType, out string? read))
            {
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Call, typeof(MessagePackReader).GetMethod(read, Type.EmptyTypes)!);
            }
            else
            {
                Type formatter = typeof(IMessagePackFormatter<>).MakeGenericType(valueType);
                LoadFormatter(il, i, formatter);
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                il.Emit(OpCodes.Callvirt, formatter.GetMethod(nameof(IMessagePackFormatter<int>.Deserialize))!);
            }

            if (member is PropertyInfo property)
            {
                il.Emit(type.IsValueType ? OpCodes.Call : OpCodes.Callvirt, property.SetMethod!);
            }
            else
            {
                il.Emit(OpCodes.Stfld, (FieldInfo)member);
            }
        }

        il.Emit(OpCodes.Ldloc, value);
        il.Emit(OpCodes.Ret);
        return method.CreateDelegate<ReadValues<T>>();
    }

    /// <summary>Pushes <c>(IMessagePackFormatter&lt;TValue&gt;)formatters[index]</c>.</summary>
    private static void LoadFormatter(ILGenerator il, int index, Type formatter)
    {
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4, index);
        il.Emit(OpCodes.Ldelem_Ref);
        il.Emit(OpCodes.Castclass, formatter);
    }

    /// <summary>Pushes the member's value of argument 2 (the object; its address for a struct).</summary>
    private static void LoadMember(ILGenerator il, Type type, MemberInfo member)
    {
        il.Emit(type.IsValueType ? OpCodes.Ldarga_S : OpCodes.Ldarg_S, (byte)2);
        if (member is PropertyInfo property)
        {
            il.Emit(type.IsValueType ? OpCodes.Call : OpCodes.Callvirt, property.GetMethod!);
        }
        else
        {
            il.Emit(OpCodes.Ldfld, (FieldInfo)member);
        }
    }
}
