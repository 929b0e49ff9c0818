using System.Buffers.Binary;
using System.Linq.Expressions;
using System.Reflection;
using MessagePack;
using MessagePack.Formatters;

namespace Dominance.Api.State;

/// <summary>What the resolver needs of an object formatter, whatever its type: to compile it and list its schema.</summary>
internal interface IObjectFormatter
{
    /// <summary>The schema its objects are written in.</summary>
    StateSchema Schema { get; }

    /// <summary>The declared types of its members, whose formatters it needs.</summary>
    IEnumerable<Type> MemberTypes { get; }

    /// <summary>Whether <see cref="Compile"/> has run.</summary>
    bool Compiled { get; }

    /// <summary>Generates its code and takes <paramref name="schema"/> as its index in every save's header.</summary>
    void Compile(int schema);
}

/// <summary>
/// A class or struct of game state: its public read-write properties and its public non-readonly fields. Once compiled
/// (before its generation goes live), an object is written as an array of its values in the order of its
/// <see cref="StateSchema"/>, which the save's header holds once: <c>[schema reference, value, value, …]</c>, through
/// code generated for the type (<see cref="StateCode"/>). Until then, and in saves of earlier versions, an object is a
/// map from member name to value. Reading matches members by name (or a <see cref="StateAliasAttribute"/>) against the
/// stored schema, so a member added since keeps its default, and one that is gone is skipped and counted by the read's
/// <see cref="LossCounter"/> when it held a value; so is a value that cannot be read as its member's new type. When the
/// stored schema is this type's own (same names and types, same order), the generated reader reads it directly.
/// </summary>
internal sealed class ObjectFormatter<T> : IMessagePackFormatter<T>, IObjectFormatter
{
    private readonly StateResolver _resolver;
    private readonly StateMember<T>[] _members;
    private readonly Dictionary<string, StateMember<T>> _byName;
    private readonly Func<T> _create;
    private int _schema = -1;
    private WriteValues<T>? _write;
    private ReadValues<T>? _read;

    // How each stored schema of the read in progress maps onto this type's members.
    private StateSchema[]? _plannedFor;
    private ReadPlan?[] _plans = [];

    // The 4 bytes that start an object of the read in progress written in this type's own schema (NoPrefix if none).
    private StateSchema[]? _prefixFor;
    private uint _directPrefix = NoPrefix;

    /// <summary>Never the start of an object (0xC1 is not used by MessagePack).</summary>
    private const uint NoPrefix = 0xC1C1C1C1;

    public ObjectFormatter(StateResolver resolver)
    {
        _resolver = resolver;
        Type type = typeof(T);
        var members = new List<StateMember<T>>();
        foreach (MemberInfo member in type.GetMembers(BindingFlags.Public | BindingFlags.Instance))
        {
            if (member is PropertyInfo { CanRead: true, CanWrite: true } property && property.GetIndexParameters().Length == 0 &&
                property.GetMethod!.IsPublic && property.SetMethod!.IsPublic)
            {
                members.Add(StateMember<T>.Create(member, property.PropertyType));
            }
            else if (member is FieldInfo { IsInitOnly: false, IsLiteral: false } field)
            {
                members.Add(StateMember<T>.Create(member, field.FieldType));
            }
        }

        _members = [.. members];
        _byName = new Dictionary<string, StateMember<T>>(StringComparer.Ordinal);
        foreach (StateMember<T> member in _members)
        {
            _byName[member.Name] = member;
        }

        foreach (StateMember<T> member in _members)
        {
            foreach (string alias in member.Aliases)
            {
                _byName.TryAdd(alias, member);
            }
        }

        _create = type.IsValueType ? static () => default! : Expression.Lambda<Func<T>>(Expression.New(type)).Compile();
        Schema = new StateSchema(type.ToString(), [.. _members.Select(m => m.Name)], [.. _members.Select(m => m.ValueType.ToString())]);
    }

    public StateSchema Schema { get; }

    public IEnumerable<Type> MemberTypes => _members.Select(m => m.ValueType);

    public bool Compiled => _write is not null;

    public void Compile(int schema)
    {
        (MemberInfo, Type)[] members = [.. _members.Select(m => (m.Info, m.ValueType))];
        _read = StateCode.Reader<T>(members, _resolver.FormatterOf);
        _schema = schema;
        _write = StateCode.Writer<T>(SchemaReference.ObjectPrefix(schema, _members.Length), members, _resolver.FormatterOf);
    }

    /// <summary>
    /// The generated writer of an object's prefix and values (not null), when the save being written writes this
    /// type positionally (compiled, and its schema in the save's header); else <see langword="null"/>.
    /// </summary>
    internal WriteValues<T>? PositionalWriter => _write is not null && _schema < _resolver.SchemasInHeader ? _write : null;

    public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        if (_write is not null && _schema < _resolver.SchemasInHeader)
        {
            _write(ref writer, value, options);
            return;
        }

        // Not compiled, or compiled after this save's header was written: by name.
        writer.WriteMapHeader(_members.Length);
        foreach (StateMember<T> member in _members)
        {
            writer.WriteRaw(member.EncodedName);
            member.Write(ref writer, ref value, options);
        }
    }

    public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        uint prefix = DirectPrefix();
        if (prefix != NoPrefix && _read is not null)
        {
            ReadOnlySpan<byte> rest = StateReads.Unread(ref reader);
            if (rest.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(rest) == prefix)
            {
                int at = 0;
                T value = ReadDirect(ref reader, ref rest, ref at, options);
                StateReads.Sync(ref reader, ref rest, ref at);
                return value;
            }
        }

        return DeserializeOther(ref reader, options);
    }

    /// <summary>
    /// Reads an object from the cursor (see <see cref="StateReads"/>), for the code generated for the types that hold
    /// one: from the bytes when it is written in this type's own schema, else through <see cref="DeserializeOther"/>.
    /// </summary>
    internal T ReadObject(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at, MessagePackSerializerOptions options) =>
        ReadElement(ref reader, ref rest, ref at, options, DirectPrefix());

    /// <summary>As MessagePack's formatter of <c>List&lt;T&gt;</c>, each element through <c>ReadObject</c>.</summary>
    internal List<T>? ReadList(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at, MessagePackSerializerOptions options)
    {
        int count = StateReads.ArrayHeader(ref reader, ref rest, ref at);
        if (count < 0)
        {
            return null;
        }

        var list = new List<T>(count);
        uint prefix = DirectPrefix();
        options.Security.DepthStep(ref reader);
        for (int i = 0; i < count; i++)
        {
            list.Add(ReadElement(ref reader, ref rest, ref at, options, prefix));
        }

        reader.Depth--;
        return list;
    }

    /// <summary>As MessagePack's formatter of <c>T[]</c>, each element through <c>ReadObject</c>.</summary>
    internal T[]? ReadArray(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at, MessagePackSerializerOptions options)
    {
        int count = StateReads.ArrayHeader(ref reader, ref rest, ref at);
        if (count <= 0)
        {
            return count < 0 ? null : [];
        }

        var array = new T[count];
        uint prefix = DirectPrefix();
        options.Security.DepthStep(ref reader);
        for (int i = 0; i < array.Length; i++)
        {
            array[i] = ReadElement(ref reader, ref rest, ref at, options, prefix);
        }

        reader.Depth--;
        return array;
    }

    private T ReadElement(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at, MessagePackSerializerOptions options, uint prefix)
    {
        if (prefix != NoPrefix && rest.Length - at >= 4 && BinaryPrimitives.ReadUInt32BigEndian(rest[at..]) == prefix && _read is not null)
        {
            return ReadDirect(ref reader, ref rest, ref at, options);
        }

        StateReads.Sync(ref reader, ref rest, ref at);
        T value = DeserializeOther(ref reader, options);
        StateReads.Resume(ref reader, ref rest);
        return value;
    }

    /// <summary>Reads an object written in this type's own schema, its prefix first, with the generated reader.</summary>
    private T ReadDirect(scoped ref MessagePackReader reader, ref ReadOnlySpan<byte> rest, ref int at, MessagePackSerializerOptions options)
    {
        at += 4;
        options.Security.DepthStep(ref reader);
        T value = _read!(ref reader, ref rest, ref at, options);
        reader.Depth--;
        return value;
    }

    /// <summary>
    /// The 4 bytes that start an object written in this type's own schema (same name, members and types) in the state
    /// being read, or <see cref="NoPrefix"/> when it has no such schema, or its prefix would be longer.
    /// </summary>
    private uint DirectPrefix()
    {
        StateSchema[]? stored = _resolver.StoredSchemas;
        if (!ReferenceEquals(stored, _prefixFor))
        {
            _prefixFor = stored;
            _directPrefix = NoPrefix;
            for (int i = 0; stored is not null && i < stored.Length; i++)
            {
                if (stored[i].TypeName == Schema.TypeName && stored[i].SameLayout(Schema))
                {
                    byte[] bytes = SchemaReference.ObjectPrefix(i, _members.Length);
                    _directPrefix = bytes.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : NoPrefix;
                    break;
                }
            }
        }

        return _directPrefix;
    }

    /// <summary>Reads an object of any other form: nil, by name, or positionally in another schema (or its own, through a copied reader).</summary>
    private T DeserializeOther(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return default!;
        }

        options.Security.DepthStep(ref reader);
        try
        {
            return reader.NextMessagePackType == MessagePackType.Map ? ReadByName(ref reader, options) : ReadPositional(ref reader, options);
        }
        finally
        {
            reader.Depth--;
        }
    }

    private T ReadPositional(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        int count = reader.ReadArrayHeader();
        if (count == 0 || !SchemaReference.IsNext(ref reader))
        {
            throw new MessagePackSerializationException($"Expected an object of {typeof(T).Name}, found an array of values.");
        }

        ReadPlan plan = PlanFor(SchemaReference.Read(ref reader));
        int values = count - 1;
        if (plan.Direct && values == _members.Length && _read is not null)
        {
            ReadOnlySpan<byte> rest = StateReads.Unread(ref reader);
            int at = 0;
            T direct = _read(ref reader, ref rest, ref at, options);
            StateReads.Sync(ref reader, ref rest, ref at);
            return direct;
        }

        T value = _create();
        for (int i = 0; i < values; i++)
        {
            StateMember<T>? member = i < plan.Members.Length ? plan.Members[i] : null;
            if (member is null)
            {
                SkipUnknown(i < plan.Names.Length ? plan.Names[i] : "#" + i, ref reader);
                continue;
            }

            ReadMember(member, ref reader, ref value, options);
        }

        return value;
    }

    private T ReadByName(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        T value = _create();
        int count = reader.ReadMapHeader();
        for (int i = 0; i < count; i++)
        {
            StateMember<T>? member = Find(ref reader, i, out string? unknown);
            if (member is null)
            {
                SkipUnknown(unknown!, ref reader);
                continue;
            }

            ReadMember(member, ref reader, ref value, options);
        }

        return value;
    }

    private void SkipUnknown(string name, ref MessagePackReader reader)
    {
        if (_resolver.Losses is { } losses)
        {
            losses.SkipUnknown(typeof(T).Name, name, ref reader);
        }
        else
        {
            reader.Skip();
        }
    }

    private void ReadMember(StateMember<T> member, ref MessagePackReader reader, ref T value, MessagePackSerializerOptions options)
    {
        MessagePackReader before = reader.CreatePeekReader();
        try
        {
            member.Read(ref reader, ref value, options);
        }
        catch (Exception e) when (e is MessagePackSerializationException or OverflowException or InvalidOperationException or FormatException)
        {
            // The stored value is not of the member's type (a changed type): skip it and count it.
            reader = before;
            reader.Skip();
            if (_resolver.Losses is not { } losses)
            {
                throw;
            }

            losses.CountUnreadable(typeof(T).Name + "." + member.Name);
        }
    }

    /// <summary>How the stored schema <paramref name="index"/> of the read in progress maps onto this type's members.</summary>
    private ReadPlan PlanFor(int index)
    {
        StateSchema[] stored = _resolver.StoredSchemas ?? throw new MessagePackSerializationException("An object refers to a schema, but the state has no schemas.");
        if ((uint)index >= (uint)stored.Length)
        {
            throw new MessagePackSerializationException($"An object refers to schema {index}; the state has {stored.Length}.");
        }

        if (!ReferenceEquals(_plannedFor, stored))
        {
            _plannedFor = stored;
            _plans = new ReadPlan?[stored.Length];
        }

        return _plans[index] ??= Plan(stored[index]);
    }

    private ReadPlan Plan(StateSchema stored) =>
        new(stored.SameLayout(Schema), [.. stored.Names.Select(name => _byName.GetValueOrDefault(name))], stored.Names);

    /// <summary>The member to read each stored value into (null: unknown), and whether the layout is this type's own.</summary>
    private sealed record ReadPlan(bool Direct, StateMember<T>?[] Members, string[] Names);

    /// <summary>The member whose key comes next: the one at the same position, as written by this code, or by name.</summary>
    private StateMember<T>? Find(ref MessagePackReader reader, int position, out string? unknown)
    {
        unknown = null;
        if (reader.TryReadStringSpan(out ReadOnlySpan<byte> key))
        {
            if (position < _members.Length && key.SequenceEqual(_members[position].Utf8Name))
            {
                return _members[position];
            }

            string name = System.Text.Encoding.UTF8.GetString(key);
            return _byName.GetValueOrDefault(name) ?? Unknown(name, out unknown);
        }

        string? text = reader.ReadString();
        return text is not null && _byName.TryGetValue(text, out StateMember<T>? byName) ? byName : Unknown(text ?? "(null)", out unknown);
    }

    private static StateMember<T>? Unknown(string name, out string? unknown)
    {
        unknown = name;
        return null;
    }
}
