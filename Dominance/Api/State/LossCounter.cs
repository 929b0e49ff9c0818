using MessagePack;

namespace Dominance.Api.State;

/// <summary>Counts, during one read, the values of state that the reading code does not keep, by member.</summary>
internal sealed class LossCounter
{
    private readonly Dictionary<(string Member, bool Unreadable), int> _counts = [];

    /// <summary>Whether anything would be lost.</summary>
    public bool Any => _counts.Count > 0;

    /// <summary>Skips the value of a member the reading type does not have, counting it unless it is a default.</summary>
    public void SkipUnknown(string type, string member, ref MessagePackReader reader)
    {
        if (!IsDefault(ref reader))
        {
            Count(type + "." + member, unreadable: false);
        }

        reader.Skip();
    }

    /// <summary>Counts a value that could not be read as its member's type.</summary>
    public void CountUnreadable(string member) => Count(member, unreadable: true);

    /// <summary>The losses, by member name.</summary>
    public IReadOnlyList<StateLoss> ToList() =>
        [.. _counts.OrderBy(c => c.Key.Member, StringComparer.Ordinal).Select(c => new StateLoss(c.Key.Member, c.Value, c.Key.Unreadable))];

    private void Count(string member, bool unreadable) =>
        _counts[(member, unreadable)] = _counts.GetValueOrDefault((member, unreadable)) + 1;

    /// <summary>Nil, zero, false, an empty string, an empty array or map: nothing of value is lost with it.</summary>
    private static bool IsDefault(ref MessagePackReader reader)
    {
        MessagePackReader peek = reader.CreatePeekReader();
        return peek.NextMessagePackType switch
        {
            MessagePackType.Nil => true,
            MessagePackType.Boolean => !peek.ReadBoolean(),
            MessagePackType.Integer => peek.NextCode == MessagePackCode.UInt64 ? peek.ReadUInt64() == 0 : peek.ReadInt64() == 0,
            MessagePackType.Float => peek.ReadDouble() == 0,
            MessagePackType.String => peek.ReadStringSequence() is not { } text || text.IsEmpty,
            MessagePackType.Binary => peek.ReadBytes() is not { } bytes || bytes.IsEmpty,
            MessagePackType.Array => peek.ReadArrayHeader() == 0,
            MessagePackType.Map => peek.ReadMapHeader() == 0,
            _ => false,
        };
    }
}
