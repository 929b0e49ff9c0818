using System.Linq.Expressions;
using System.Reflection;
using MessagePack;
using MessagePack.Formatters;

namespace Dominance.Api.State;

/// <summary>
/// A class or struct of game state, written as a map from member name to value: its public read-write properties and
/// its public non-readonly fields. Reading matches members by name (or a <see cref="StateAliasAttribute"/>), so a
/// member added since keeps its default, and one that is gone is skipped and counted by the read's
/// <see cref="LossCounter"/> when it held a value; so is a value that cannot be read as its member's new type.
/// </summary>
/// <remarks>The member accessors are compiled when the formatter is made, before the generation goes live.</remarks>
internal sealed class ObjectFormatter<T> : IMessagePackFormatter<T>
{
    private readonly StateResolver _resolver;
    private readonly StateMember<T>[] _members;
    private readonly Dictionary<string, StateMember<T>> _byName;
    private readonly Func<T> _create;

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
    }

    public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteMapHeader(_members.Length);
        foreach (StateMember<T> member in _members)
        {
            writer.WriteRaw(member.EncodedName);
            member.Write(ref writer, ref value, options);
        }
    }

    public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return default!;
        }

        T value = _create();
        int count = reader.ReadMapHeader();
        options.Security.DepthStep(ref reader);
        try
        {
            for (int i = 0; i < count; i++)
            {
                StateMember<T>? member = Find(ref reader, i, out string? unknown);
                if (member is null)
                {
                    if (_resolver.Losses is { } losses)
                    {
                        losses.SkipUnknown(typeof(T).Name, unknown!, ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }

                    continue;
                }

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
        }
        finally
        {
            reader.Depth--;
        }

        return value;
    }

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
