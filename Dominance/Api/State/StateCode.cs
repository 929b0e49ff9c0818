using System.Reflection;
using System.Reflection.Emit;
using MessagePack;
using MessagePack.Formatters;

namespace Dominance.Api.State;

/// <summary>Writes a state object: its prefix, then its values in schema order.</summary>
internal delegate void WriteValues<T>(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options);

/// <summary>
/// Reads a new state object whose values were written in this code's own schema order, after its prefix, through the
/// cursor <paramref name="rest"/> and <paramref name="at"/> (see <see cref="StateReads"/>).
/// </summary>
internal delegate T ReadValues<T>(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at, MessagePackSerializerOptions options);

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
    /// <summary>The value types written with a MessagePackWriter method of their own (or a <see cref="StateWrites"/> one).</summary>
    private static readonly HashSet<Type> s_inline =
    [
        typeof(bool), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong),
        typeof(float), typeof(double), typeof(char), typeof(string),
    ];

    /// <summary>The values written by a <see cref="StateWrites"/> method of their own (the same bytes as MessagePackWriter's).</summary>
    private static readonly Dictionary<Type, string> s_ownWrites = new()
    {
        [typeof(int)] = nameof(StateWrites.Int32),
        [typeof(long)] = nameof(StateWrites.Int64),
        [typeof(string)] = nameof(StateWrites.String),
    };

    /// <summary>The values written into a span taken for a run of them (<see cref="StateWrites"/>), and the most bytes each takes.</summary>
    private static readonly Dictionary<Type, (string Method, int MaxSize)> s_spanWrites = new()
    {
        [typeof(int)] = (nameof(StateWrites.Int32), StateWrites.MaxInt32),
        [typeof(long)] = (nameof(StateWrites.Int64), StateWrites.MaxInt64),
        [typeof(bool)] = (nameof(StateWrites.Boolean), 1),
    };

    /// <summary>The values written into a run's span with the room their <c>Size</c> method asks for.</summary>
    private static readonly Dictionary<Type, (string Method, string Size)> s_dynamicSpanWrites = new()
    {
        [typeof(string)] = (nameof(StateWrites.String), nameof(StateWrites.StringSize)),
        [typeof(int[])] = (nameof(StateWrites.Int32Array), nameof(StateWrites.Int32ArraySize)),
    };

    /// <summary>Whether values of <paramref name="type"/> are written inline (no formatter).</summary>
    private static bool IsInline(Type type) => s_inline.Contains(type);

    /// <summary>The values read from the bytes by a <see cref="StateReads"/> method of their own.</summary>
    private static readonly Dictionary<Type, string> s_ownReads = new()
    {
        [typeof(int)] = nameof(StateReads.Int32),
        [typeof(long)] = nameof(StateReads.Int64),
        [typeof(bool)] = nameof(StateReads.Boolean),
        [typeof(string)] = nameof(StateReads.String),
        [typeof(int[])] = nameof(StateReads.Int32Array),
    };

    /// <summary>
    /// The writer of a <typeparamref name="T"/>: <paramref name="prefix"/> (the object's array header and schema
    /// reference), then its <paramref name="members"/>, in that order. The code is bound to the formatters it loads
    /// (slot i for member i; the prefix after them when it is not 4 bytes), so that a call to it is a direct one.
    /// Integers, booleans, strings and <c>int[]</c> are written by <see cref="StateWrites"/>, inlined: the prefix and
    /// each run of such members into one span taken from the writer for the run's size (the most size of its integers
    /// and booleans, plus what its strings and arrays ask for); other arrays of inline values by a loop in the code;
    /// lists and arrays of state objects by a loop that calls the element's generated writer directly when the save
    /// writes it positionally, else its <see cref="ObjectFormatter{T}"/>
    /// directly (<paramref name="formatterOf"/> gives it), with the bytes their MessagePack formatters would write; any
    /// other member through its formatter.
    /// </summary>
    public static WriteValues<T> Writer<T>(
        byte[] prefix, IReadOnlyList<(MemberInfo Member, Type Type)> members, Func<Type, object?> formatterOf)
    {
        Type type = typeof(T);
        var method = new DynamicMethod(
            "Write" + type.Name, typeof(void), [typeof(object[]), typeof(MessagePackWriter).MakeByRefType(), type, typeof(MessagePackSerializerOptions)],
            restrictedSkipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        object?[] formatters = new object?[members.Count + 1];

        // Runs of values that fit one span of the writer (the prefix, integers, booleans, strings and int[]) are
        // written into one span taken for the run's size: each value loaded in member order, the strings' and arrays'
        // sizes added to the others' most sizes, one GetSpan, the writes, one Advance.
        LocalBuilder span = il.DeclareLocal(typeof(Span<byte>));
        LocalBuilder at = il.DeclareLocal(typeof(int));
        LocalBuilder size = il.DeclareLocal(typeof(int));
        var run = new List<(MemberInfo? Member, Type ValueType)>();
        int runSize = 0;
        void Flush()
        {
            if (run.Count == 0)
            {
                return;
            }

            var loaded = new LocalBuilder?[run.Count];
            for (int r = 0; r < run.Count; r++)
            {
                if (run[r].Member is { } member)
                {
                    loaded[r] = il.DeclareLocal(run[r].ValueType);
                    LoadMember(il, type, member);
                    il.Emit(OpCodes.Stloc, loaded[r]!);
                }
            }

            il.Emit(OpCodes.Ldc_I4, runSize);
            for (int r = 0; r < run.Count; r++)
            {
                if (s_dynamicSpanWrites.TryGetValue(run[r].ValueType, out (string Method, string Size) dynamic))
                {
                    il.Emit(OpCodes.Ldloc, loaded[r]!);
                    il.Emit(OpCodes.Call, typeof(StateWrites).GetMethod(dynamic.Size)!);
                    il.Emit(OpCodes.Add);
                }
            }

            il.Emit(OpCodes.Stloc, size);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldloc, size);
            il.Emit(OpCodes.Call, typeof(MessagePackWriter).GetMethod(nameof(MessagePackWriter.GetSpan))!);
            il.Emit(OpCodes.Stloc, span);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Stloc, at);
            for (int r = 0; r < run.Count; r++)
            {
                Type valueType = run[r].ValueType;
                if (s_dynamicSpanWrites.TryGetValue(valueType, out (string Method, string Size) dynamic))
                {
                    il.Emit(OpCodes.Ldloc, span);
                    il.Emit(OpCodes.Ldloc, at);
                    il.Emit(OpCodes.Ldloc, loaded[r]!);
                    il.Emit(OpCodes.Call, typeof(StateWrites).GetMethod(dynamic.Method, [typeof(Span<byte>), typeof(int), valueType])!);
                }
                else if (run[r].Member is null)
                {
                    il.Emit(OpCodes.Ldloc, span);
                    il.Emit(OpCodes.Ldloc, at);
                    il.Emit(OpCodes.Ldc_I4, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(prefix));
                    il.Emit(OpCodes.Call, typeof(StateWrites).GetMethod(nameof(StateWrites.Raw4))!);
                }
                else
                {
                    il.Emit(OpCodes.Ldloc, span);
                    il.Emit(OpCodes.Ldloc, at);
                    il.Emit(OpCodes.Ldloc, loaded[r]!);
                    il.Emit(OpCodes.Call, typeof(StateWrites).GetMethod(s_spanWrites[valueType].Method, [typeof(Span<byte>), typeof(int), valueType])!);
                }

                il.Emit(OpCodes.Stloc, at);
            }

            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldloc, at);
            il.Emit(OpCodes.Call, typeof(MessagePackWriter).GetMethod(nameof(MessagePackWriter.Advance))!);
            run.Clear();
            runSize = 0;
        }

        if (prefix.Length == 4)
        {
            run.Add((null, typeof(uint)));
            runSize += 4;
        }
        else
        {
            formatters[members.Count] = prefix;
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldc_I4, members.Count);
            il.Emit(OpCodes.Ldelem_Ref);
            il.Emit(OpCodes.Castclass, typeof(byte[]));
            il.Emit(OpCodes.Newobj, typeof(ReadOnlySpan<byte>).GetConstructor([typeof(byte[])])!);
            il.Emit(OpCodes.Call, typeof(MessagePackWriter).GetMethod(nameof(MessagePackWriter.WriteRaw), [typeof(ReadOnlySpan<byte>)])!);
        }

        for (int i = 0; i < members.Count; i++)
        {
            (MemberInfo member, Type valueType) = members[i];
            if (s_spanWrites.TryGetValue(valueType, out (string Method, int MaxSize) spanWrite))
            {
                run.Add((member, valueType));
                runSize += spanWrite.MaxSize;
                continue;
            }

            if (s_dynamicSpanWrites.ContainsKey(valueType))
            {
                run.Add((member, valueType));
                continue;
            }

            Flush();
            if (IsInline(valueType))
            {
                il.Emit(OpCodes.Ldarg_1);
                LoadMember(il, type, member);
                il.Emit(OpCodes.Call, WriteOf(valueType));
            }
            else if (ElementOf(valueType) is { } element && IsInline(element) && element != typeof(byte) && valueType.IsArray)
            {
                WriteSequence(il, type, member, valueType, element, value =>
                {
                    il.Emit(OpCodes.Ldarg_1);
                    il.Emit(OpCodes.Ldloc, value);
                    il.Emit(OpCodes.Call, WriteOf(element));
                });
            }
            else if (ElementOf(valueType) is { } stateElement && formatterOf(stateElement) is IObjectFormatter objectFormatter)
            {
                formatters[i] = objectFormatter;
                Type formatter = objectFormatter.GetType();
                int slot = i;
                // Each element by the element's generated writer, called directly when this save writes its objects
                // positionally (else, and for null, through the formatter).
                LocalBuilder direct = il.DeclareLocal(typeof(WriteValues<>).MakeGenericType(stateElement));
                LoadFormatter(il, slot, formatter);
                il.Emit(OpCodes.Call, formatter.GetProperty(nameof(ObjectFormatter<int>.PositionalWriter), BindingFlags.Instance | BindingFlags.NonPublic)!.GetMethod!);
                il.Emit(OpCodes.Stloc, direct);
                WriteSequence(il, type, member, valueType, stateElement, value =>
                {
                    Label viaFormatter = il.DefineLabel();
                    Label written = il.DefineLabel();
                    il.Emit(OpCodes.Ldloc, direct);
                    il.Emit(OpCodes.Brfalse, viaFormatter);
                    if (!stateElement.IsValueType)
                    {
                        il.Emit(OpCodes.Ldloc, value);
                        il.Emit(OpCodes.Brfalse, viaFormatter);
                    }

                    il.Emit(OpCodes.Ldloc, direct);
                    il.Emit(OpCodes.Ldarg_1);
                    il.Emit(OpCodes.Ldloc, value);
                    il.Emit(OpCodes.Ldarg_3);
                    il.Emit(OpCodes.Callvirt, direct.LocalType.GetMethod("Invoke")!);
                    il.Emit(OpCodes.Br, written);
                    il.MarkLabel(viaFormatter);
                    LoadFormatter(il, slot, formatter);
                    il.Emit(OpCodes.Ldarg_1);
                    il.Emit(OpCodes.Ldloc, value);
                    il.Emit(OpCodes.Ldarg_3);
                    il.Emit(OpCodes.Call, formatter.GetMethod(nameof(IMessagePackFormatter<int>.Serialize))!);
                    il.MarkLabel(written);
                });
            }
            else
            {
                formatters[i] = formatterOf(valueType) ?? throw new MessagePackSerializationException($"{valueType} has no formatter.");
                Type formatter = typeof(IMessagePackFormatter<>).MakeGenericType(valueType);
                LoadFormatter(il, i, formatter);
                il.Emit(OpCodes.Ldarg_1);
                LoadMember(il, type, member);
                il.Emit(OpCodes.Ldarg_3);
                il.Emit(OpCodes.Callvirt, formatter.GetMethod(nameof(IMessagePackFormatter<int>.Serialize))!);
            }
        }

        Flush();
        il.Emit(OpCodes.Ret);
        return (WriteValues<T>)method.CreateDelegate(typeof(WriteValues<T>), formatters);
    }

    /// <summary>The element type of an array or a <see cref="List{T}"/>, or <see langword="null"/>.</summary>
    private static Type? ElementOf(Type type) =>
        type.IsSZArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0]
        : null;

    private static MethodInfo WriteOf(Type valueType) =>
        s_ownWrites.TryGetValue(valueType, out string? own)
            ? typeof(StateWrites).GetMethod(own, [typeof(MessagePackWriter).MakeByRefType(), valueType])!
            : typeof(MessagePackWriter).GetMethod(nameof(MessagePackWriter.Write), [valueType])!;

    /// <summary>
    /// Writes an array or list member as MessagePack's array and list formatters do: nil for null, else an array
    /// header and each element, written by the code <paramref name="writeElement"/> emits for the element in a local.
    /// </summary>
    private static void WriteSequence(ILGenerator il, Type type, MemberInfo member, Type sequenceType, Type element, Action<LocalBuilder> writeElement)
    {
        LocalBuilder sequence = il.DeclareLocal(sequenceType);
        LocalBuilder count = il.DeclareLocal(typeof(int));
        LocalBuilder index = il.DeclareLocal(typeof(int));
        LocalBuilder value = il.DeclareLocal(element);
        Label notNull = il.DefineLabel();
        Label next = il.DefineLabel();
        Label test = il.DefineLabel();
        Label done = il.DefineLabel();
        LoadMember(il, type, member);
        il.Emit(OpCodes.Stloc, sequence);
        il.Emit(OpCodes.Ldloc, sequence);
        il.Emit(OpCodes.Brtrue, notNull);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, typeof(MessagePackWriter).GetMethod(nameof(MessagePackWriter.WriteNil))!);
        il.Emit(OpCodes.Br, done);

        il.MarkLabel(notNull);
        il.Emit(OpCodes.Ldloc, sequence);
        if (sequenceType.IsArray)
        {
            il.Emit(OpCodes.Ldlen);
            il.Emit(OpCodes.Conv_I4);
        }
        else
        {
            il.Emit(OpCodes.Callvirt, sequenceType.GetProperty(nameof(List<int>.Count))!.GetMethod!);
        }

        il.Emit(OpCodes.Stloc, count);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldloc, count);
        il.Emit(OpCodes.Call, typeof(MessagePackWriter).GetMethod(nameof(MessagePackWriter.WriteArrayHeader), [typeof(int)])!);
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Stloc, index);
        il.Emit(OpCodes.Br, test);

        il.MarkLabel(next);
        il.Emit(OpCodes.Ldloc, sequence);
        il.Emit(OpCodes.Ldloc, index);
        if (sequenceType.IsArray)
        {
            il.Emit(OpCodes.Ldelem, element);
        }
        else
        {
            il.Emit(OpCodes.Callvirt, sequenceType.GetProperty("Item")!.GetMethod!);
        }

        il.Emit(OpCodes.Stloc, value);
        writeElement(value);
        il.Emit(OpCodes.Ldloc, index);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, index);
        il.MarkLabel(test);
        il.Emit(OpCodes.Ldloc, index);
        il.Emit(OpCodes.Ldloc, count);
        il.Emit(OpCodes.Blt, next);
        il.MarkLabel(done);
    }

    /// <summary>
    /// The reader of a new <typeparamref name="T"/> from the values of its <paramref name="members"/>, in that order,
    /// after its prefix. Integers, booleans, strings and <c>int[]</c> are read from the bytes by <see cref="StateReads"/>,
    /// inlined; lists and arrays of state objects, and state objects, by the element's <see cref="ObjectFormatter{T}"/>
    /// through the same cursor (<paramref name="formatterOf"/> gives it); any other member through its formatter, with
    /// the reader brought in step with the cursor before and the cursor after. The code is bound to the formatters it loads.
    /// </summary>
    public static ReadValues<T> Reader<T>(IReadOnlyList<(MemberInfo Member, Type Type)> members, Func<Type, object?> formatterOf)
    {
        Type type = typeof(T);
        Type span = typeof(ReadOnlySpan<byte>).MakeByRefType();
        var method = new DynamicMethod(
            "Read" + type.Name, type,
            [typeof(object[]), typeof(MessagePackReader).MakeByRefType(), span, typeof(int).MakeByRefType(), typeof(MessagePackSerializerOptions)],
            restrictedSkipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        object?[] formatters = new object?[members.Count];
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
            Type? element = ElementOf(valueType);
            IObjectFormatter? objectFormatter = element is not null ? formatterOf(element) as IObjectFormatter : formatterOf(valueType) as IObjectFormatter;
            if (s_ownReads.TryGetValue(valueType, out string? read))
            {
                EmitCursor(il);
                il.Emit(OpCodes.Call, typeof(StateReads).GetMethod(read)!);
            }
            else if (objectFormatter is not null)
            {
                // A list or array of state objects, or a state object: through the element's formatter, on the cursor.
                formatters[i] = objectFormatter;
                Type formatter = objectFormatter.GetType();
                LoadFormatter(il, i, formatter);
                EmitCursor(il);
                il.Emit(OpCodes.Ldarg, 4);
                string name = element is null ? nameof(ObjectFormatter<int>.ReadObject) : valueType.IsArray ? nameof(ObjectFormatter<int>.ReadArray) : nameof(ObjectFormatter<int>.ReadList);
                il.Emit(OpCodes.Call, formatter.GetMethod(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)!);
            }
            else
            {
                formatters[i] = formatterOf(valueType) ?? throw new MessagePackSerializationException($"{valueType} has no formatter.");
                Type formatter = typeof(IMessagePackFormatter<>).MakeGenericType(valueType);
                EmitCursor(il);
                il.Emit(OpCodes.Call, typeof(StateReads).GetMethod(nameof(StateReads.Sync))!);
                LoadFormatter(il, i, formatter);
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg, 4);
                il.Emit(OpCodes.Callvirt, formatter.GetMethod(nameof(IMessagePackFormatter<int>.Deserialize))!);
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                il.Emit(OpCodes.Call, typeof(StateReads).GetMethod(nameof(StateReads.Resume))!);
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
        return (ReadValues<T>)method.CreateDelegate(typeof(ReadValues<T>), formatters);
    }

    /// <summary>Pushes the reader and the cursor (<c>ref reader, ref rest, ref at</c>).</summary>
    private static void EmitCursor(ILGenerator il)
    {
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldarg_3);
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
