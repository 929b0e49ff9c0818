using System.Buffers;
using System.Linq.Expressions;
using System.Reflection;
using System.Text;
using MessagePack;
using MessagePack.Formatters;

namespace Dominance.Api.State;

/// <summary>Reads a member of a state object by reference (so structs work too).</summary>
internal delegate TValue MemberGetter<TObject, out TValue>(ref TObject target);

/// <summary>Writes a member of a state object by reference (so structs work too).</summary>
internal delegate void MemberSetter<TObject, in TValue>(ref TObject target, TValue value);

/// <summary>One member of a state object: its name as written, and how its value is written and read.</summary>
internal abstract class StateMember<T>
{
    protected StateMember(MemberInfo member, Type valueType)
    {
        Info = member;
        ValueType = valueType;
        Name = member.Name;
        Utf8Name = Encoding.UTF8.GetBytes(Name);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.Write(Name);
        writer.Flush();
        EncodedName = buffer.WrittenSpan.ToArray();
        Aliases = [.. member.GetCustomAttributes<StateAliasAttribute>().Select(a => a.FormerName)];
    }

    /// <summary>The property or field.</summary>
    public MemberInfo Info { get; }

    /// <summary>The member's declared type.</summary>
    public Type ValueType { get; }

    /// <summary>The member's name.</summary>
    public string Name { get; }

    /// <summary>The name in UTF-8.</summary>
    public byte[] Utf8Name { get; }

    /// <summary>The name as a MessagePack string (header and UTF-8), written before each value.</summary>
    public byte[] EncodedName { get; }

    /// <summary>Older names that are read into this member (<see cref="StateAliasAttribute"/>).</summary>
    public string[] Aliases { get; }

    public abstract void Write(ref MessagePackWriter writer, ref T target, MessagePackSerializerOptions options);

    public abstract void Read(ref MessagePackReader reader, ref T target, MessagePackSerializerOptions options);

    /// <summary>The formatter of the member's type, from <paramref name="resolver"/> (which throws if there is none).</summary>
    public abstract object Formatter(IFormatterResolver resolver);

    /// <summary>The member for <paramref name="member"/> of type <paramref name="type"/>, with compiled accessors.</summary>
    /// <remarks>
    /// Through a generic type made for the pair, not a generic method of this type: reflection caches an instantiated
    /// method on its declaring type, which would keep a game type loaded when this type is not the game's.
    /// </remarks>
    public static StateMember<T> Create(MemberInfo member, Type type) =>
        ((IMemberFactory)Activator.CreateInstance(typeof(MemberFactory<>).MakeGenericType(typeof(T), type))!).Create(member);

    private interface IMemberFactory
    {
        StateMember<T> Create(MemberInfo member);
    }

    private sealed class MemberFactory<TValue> : IMemberFactory
    {
        public StateMember<T> Create(MemberInfo member) => CreateTyped<TValue>(member);
    }

    private static StateMember<T> CreateTyped<TValue>(MemberInfo member)
    {
        ParameterExpression target = Expression.Parameter(typeof(T).MakeByRefType(), "target");
        ParameterExpression value = Expression.Parameter(typeof(TValue), "value");
        Expression access = member is PropertyInfo property ? Expression.Property(target, property) : Expression.Field(target, (FieldInfo)member);
        MemberGetter<T, TValue> get = Expression.Lambda<MemberGetter<T, TValue>>(access, target).Compile();
        MemberSetter<T, TValue> set = Expression.Lambda<MemberSetter<T, TValue>>(Expression.Assign(access, value), target, value).Compile();
        return typeof(TValue) == typeof(int) ? new Int32Member(member, (MemberGetter<T, int>)(object)get, (MemberSetter<T, int>)(object)set)
            : typeof(TValue) == typeof(long) ? new Int64Member(member, (MemberGetter<T, long>)(object)get, (MemberSetter<T, long>)(object)set)
            : typeof(TValue) == typeof(bool) ? new BooleanMember(member, (MemberGetter<T, bool>)(object)get, (MemberSetter<T, bool>)(object)set)
            : typeof(TValue) == typeof(string) ? new StringMember(member, (MemberGetter<T, string?>)(object)get, (MemberSetter<T, string?>)(object)set)
            : new FormattedMember<TValue>(member, get, set);
    }

    /// <summary>Any type, through its formatter (found on first use: state types may refer to themselves).</summary>
    private sealed class FormattedMember<TValue>(MemberInfo member, MemberGetter<T, TValue> get, MemberSetter<T, TValue> set) : StateMember<T>(member, typeof(TValue))
    {
        private IMessagePackFormatter<TValue>? _formatter;

        public override object Formatter(IFormatterResolver resolver) => resolver.GetFormatterWithVerify<TValue>();

        public override void Write(ref MessagePackWriter writer, ref T target, MessagePackSerializerOptions options) =>
            (_formatter ??= options.Resolver.GetFormatterWithVerify<TValue>()).Serialize(ref writer, get(ref target), options);

        public override void Read(ref MessagePackReader reader, ref T target, MessagePackSerializerOptions options) =>
            set(ref target, (_formatter ??= options.Resolver.GetFormatterWithVerify<TValue>()).Deserialize(ref reader, options));
    }

    private sealed class Int32Member(MemberInfo member, MemberGetter<T, int> get, MemberSetter<T, int> set) : StateMember<T>(member, typeof(int))
    {
        public override object Formatter(IFormatterResolver resolver) => resolver.GetFormatterWithVerify<int>();

        public override void Write(ref MessagePackWriter writer, ref T target, MessagePackSerializerOptions options) => writer.Write(get(ref target));

        public override void Read(ref MessagePackReader reader, ref T target, MessagePackSerializerOptions options) => set(ref target, reader.ReadInt32());
    }

    private sealed class Int64Member(MemberInfo member, MemberGetter<T, long> get, MemberSetter<T, long> set) : StateMember<T>(member, typeof(long))
    {
        public override object Formatter(IFormatterResolver resolver) => resolver.GetFormatterWithVerify<long>();

        public override void Write(ref MessagePackWriter writer, ref T target, MessagePackSerializerOptions options) => writer.Write(get(ref target));

        public override void Read(ref MessagePackReader reader, ref T target, MessagePackSerializerOptions options) => set(ref target, reader.ReadInt64());
    }

    private sealed class BooleanMember(MemberInfo member, MemberGetter<T, bool> get, MemberSetter<T, bool> set) : StateMember<T>(member, typeof(bool))
    {
        public override object Formatter(IFormatterResolver resolver) => resolver.GetFormatterWithVerify<bool>();

        public override void Write(ref MessagePackWriter writer, ref T target, MessagePackSerializerOptions options) => writer.Write(get(ref target));

        public override void Read(ref MessagePackReader reader, ref T target, MessagePackSerializerOptions options) => set(ref target, reader.ReadBoolean());
    }

    private sealed class StringMember(MemberInfo member, MemberGetter<T, string?> get, MemberSetter<T, string?> set) : StateMember<T>(member, typeof(string))
    {
        public override object Formatter(IFormatterResolver resolver) => resolver.GetFormatterWithVerify<string?>();

        public override void Write(ref MessagePackWriter writer, ref T target, MessagePackSerializerOptions options) => writer.Write(get(ref target));

        public override void Read(ref MessagePackReader reader, ref T target, MessagePackSerializerOptions options) => set(ref target, reader.ReadString());
    }
}
