using System.Collections.Concurrent;
using System.Reflection;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace Dominance.Api.State;

/// <summary>
/// Finds the formatter for each type of game state: session ids and enums here, framework types (primitives, strings,
/// times, arrays, lists, dictionaries, nullables) from MessagePack's built-in and generic resolvers, and every other
/// class or struct by its public members (<see cref="ObjectFormatter{T}"/>), written as a map from member name to value.
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

    /// <summary>What the read in progress could not keep, or <see langword="null"/> when no read is in progress.</summary>
    public LossCounter? Losses { get; set; }

    public IMessagePackFormatter<T>? GetFormatter<T>()
    {
        if (_formatters.TryGetValue(typeof(T), out object? known))
        {
            return (IMessagePackFormatter<T>?)known;
        }

        IMessagePackFormatter<T>? made = Create<T>();
        return (IMessagePackFormatter<T>?)_formatters.GetOrAdd(typeof(T), made);
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
