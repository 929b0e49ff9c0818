using Microsoft.Extensions.Options;

namespace Dominance.Core;

/// <summary>
/// Collects what is wrong with one section of settings, for an <see cref="IValidateOptions{TOptions}"/>: each message
/// names the setting as configuration spells it (<c>Section:Key</c>) and says what it must be and what it is.
/// </summary>
internal sealed class SettingErrors(string section)
{
    private readonly List<string> _errors = [];

    /// <summary>The outcome: success, or one failure per bad setting.</summary>
    public ValidateOptionsResult Result => _errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_errors);

    /// <summary>Reports <paramref name="key"/> with a message that goes on from its name ("must be ...").</summary>
    public void Add(string key, string message) => _errors.Add($"{section}:{key} {message}");

    /// <summary>Reports a message that names its settings itself.</summary>
    public void AddMessage(string message) => _errors.Add(message);

    /// <summary>A TCP port, or 0 for a free one.</summary>
    public void Port(string key, int value)
    {
        if (value is < 0 or > 65535)
        {
            Add(key, $"must be a port from 0 to 65535 (0 picks a free one); it is {value}.");
        }
    }

    /// <summary>A whole number of at least <paramref name="minimum"/>.</summary>
    public void AtLeast(string key, int value, int minimum)
    {
        if (value < minimum)
        {
            Add(key, $"must be at least {minimum}; it is {value}.");
        }
    }

    /// <summary>A whole number from <paramref name="minimum"/> to <paramref name="maximum"/>.</summary>
    public void Between(string key, int value, int minimum, int maximum)
    {
        if (value < minimum || value > maximum)
        {
            Add(key, $"must be from {minimum} to {maximum}; it is {value}.");
        }
    }

    /// <summary>A time longer than zero and at most <paramref name="maximum"/>.</summary>
    public void PositiveUpTo(string key, TimeSpan value, TimeSpan maximum)
    {
        if (value <= TimeSpan.Zero || value > maximum)
        {
            Add(key, $"must be a positive time such as 00:00:01, at most {maximum}; it is {value}.");
        }
    }

    /// <summary>A time longer than zero.</summary>
    public void Positive(string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            Add(key, $"must be a positive time such as 00:00:01; it is {value}.");
        }
    }

    /// <summary>A time of zero (<paramref name="zeroMeans"/>, e.g. "(off)") or longer.</summary>
    public void ZeroOrPositive(string key, TimeSpan value, string zeroMeans, string example)
    {
        if (value < TimeSpan.Zero)
        {
            Add(key, $"must be 0{zeroMeans} or a positive time such as {example}; it is {value}.");
        }
    }
}
