using System.Collections.Concurrent;
using System.Reflection;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace Dominance.Api.State;

/// <summary>
/// Finds the formatter for each type of game state: session ids and enums here, framework types (primitives, strings,
/// times, arrays, lists, dictionaries, nullables) from MessagePack's built-in and generic resolvers, and every other
/// class or struct by its public members (<see cref="ObjectFormatter{T}"/>), written positionally in the order of its
/// <see cref="StateSchema"/>; each save's header lists the schemas of the compiled types (<see cref="WriteHeader"/>).
/// </summary>
/// <remarks>
/// One instance per generation of game code. MessagePack's own resolvers keep their formatters in static generic
/// classes (<c>FormatterCache&lt;T&gt;</c>), whose statics for a game type live and die with that type's collectible
/// context; the formatters made here live in this instance, which dies with the generation. Neither MessagePack's
/// object resolvers nor its enum resolver are used: they emit code into one process-wide dynamic assembly, which would
/// keep every generation's types loaded.
/// </remarks>
internal sealed class StateResolver : IFormatterResolver
{
    private readonly ConcurrentDictionary<Type, object?> _formatters = new();
    private readonly ConcurrentDictionary<Type, bool> _preparedRoots = new();
    private readonly List<IObjectFormatter> _schemas = [];
    private readonly Lock _compiling = new();
    private byte[] _header = [];
    private int _headerCount = -1;

    /// <summary>What the read in progress could not keep, or <see langword="null"/> when no read is in progress.</summary>
    public LossCounter? Losses { get; set; }

    /// <summary>The schemas stored in the header of the state being read (<see langword="null"/> for state written by name).</summary>
    public StateSchema[]? StoredSchemas { get; set; }

    /// <summary>How many schemas the header of the save being written lists: objects of compiled types with a lower index are written positionally.</summary>
    public int SchemasInHeader { get; private set; }

    public IMessagePackFormatter<T>? GetFormatter<T>()
    {
        if (_formatters.TryGetValue(typeof(T), out object? known))
        {
            return (IMessagePackFormatter<T>?)known;
        }

        IMessagePackFormatter<T>? made = Create<T>();
        return (IMessagePackFormatter<T>?)_formatters.GetOrAdd(typeof(T), made);
    }

    /// <summary>
    /// Makes and compiles the formatters of <paramref name="root"/> and of every state type it can reach through its
    /// members, collections and dictionaries (the first time only), so that all their objects are written
    /// positionally and their code is generated now (before the swap when this runs in <c>Prepare</c>).
    /// </summary>
    public void PrepareReachable(Type root)
    {
        if (_preparedRoots.ContainsKey(root))
        {
            return;
        }

        var seen = new HashSet<Type>();
        var pending = new Queue<Type>([root]);
        while (pending.TryDequeue(out Type? type))
        {
            if (!seen.Add(type) || type.ContainsGenericParameters || type.IsPointer || type.IsByRef || type.IsByRefLike)
            {
                continue;
            }

            if (FormatterOf(type) is IObjectFormatter formatter)
            {
                Compile(formatter);
                foreach (Type member in formatter.MemberTypes)
                {
                    pending.Enqueue(member);
                }
            }
            else
            {
                Type[] parts = type.IsArray ? [type.GetElementType()!] : type.IsGenericType ? type.GetGenericArguments() : [];
                foreach (Type argument in parts)
                {
                    pending.Enqueue(argument);
                }
            }
        }

        _preparedRoots[root] = true;
    }

    /// <summary>Writes the header of a save: the schema of every compiled type, in index order.</summary>
    public void WriteHeader(ref MessagePackWriter writer)
    {
        if (_headerCount != _schemas.Count)
        {
            lock (_compiling)
            {
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                var header = new MessagePackWriter(buffer);
                header.WriteArrayHeader(_schemas.Count);
                foreach (IObjectFormatter formatter in _schemas)
                {
                    header.WriteRaw(formatter.Schema.Encode());
                }

                header.Flush();
                _header = buffer.WrittenSpan.ToArray();
                _headerCount = _schemas.Count;
            }
        }

        writer.WriteRaw(_header);
        SchemasInHeader = _headerCount;
    }

    /// <summary>Reads a header written by <see cref="WriteHeader"/>.</summary>
    public static StateSchema[] ReadHeader(ref MessagePackReader reader)
    {
        var schemas = new StateSchema[reader.ReadArrayHeader()];
        for (int i = 0; i < schemas.Length; i++)
        {
            schemas[i] = StateSchema.Read(ref reader);
        }

        return schemas;
    }

    private void Compile(IObjectFormatter formatter)
    {
        lock (_compiling)
        {
            if (!formatter.Compiled)
            {
                formatter.Compile(_schemas.Count);
                _schemas.Add(formatter);
            }
        }
    }

    /// <summary>This resolver's formatter for <paramref name="type"/>, or <see langword="null"/> if it has none.</summary>
    /// <remarks>Through a generic type made for it, not a generic method: reflection would cache the instantiated method here, keeping the game's type loaded.</remarks>
    public object? FormatterOf(Type type)
    {
        try
        {
            return ((IFormatterOf)Activator.CreateInstance(typeof(Lookup<>).MakeGenericType(type))!).Get(this);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or TypeLoadException or System.Reflection.TargetInvocationException or MessagePackSerializationException)
        {
            return null; // not state; a write of it fails as it would have
        }
    }

    private interface IFormatterOf
    {
        object? Get(StateResolver resolver);
    }

    private sealed class Lookup<T> : IFormatterOf
    {
        public object? Get(StateResolver resolver) => resolver.GetFormatter<T>();
    }

    private IMessagePackFormatter<T>? Create<T>()
    {
        Type type = typeof(T);
        if (type == typeof(SessionId))
        {
            return (IMessagePackFormatter<T>)(object)SessionIdFormatter.Instance;
        }

        if (type.IsEnum)
        {
            return new EnumFormatter<T>();
        }

        if (BuiltinResolver.Instance.GetFormatter<T>() is { } builtin)
        {
            return builtin;
        }

        if (DynamicGenericResolver.Instance.GetFormatter<T>() is { } generic)
        {
            return generic;
        }

        if (IsStateObject(type))
        {
            return new ObjectFormatter<T>(this);
        }

        return null; // MessagePack reports the type as having no formatter
    }

    /// <summary>A class with a public parameterless constructor, or a struct, made of its public members.</summary>
    private static bool IsStateObject(Type type) =>
        !type.IsAbstract && !type.IsInterface && !type.IsPointer && !type.IsByRefLike && !typeof(Delegate).IsAssignableFrom(type) &&
        type.Assembly != typeof(object).Assembly &&
        (type.IsValueType || type.GetConstructor(BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes) is not null);
}

/// <summary>A session id as its number, so that it can be a map key too.</summary>
internal sealed class SessionIdFormatter : IMessagePackFormatter<SessionId>
{
    public static readonly SessionIdFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, SessionId value, MessagePackSerializerOptions options) => writer.Write(value.Value);

    public SessionId Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) => new(reader.ReadInt64());
}
