using System.Diagnostics;
using Dominance.Api;

namespace Dominance.Core;

/// <summary>
/// The last <see cref="Kept"/> failures of game code (exceptions, and reloads that failed), newest last, for the admins'
/// <c>errors</c> command. Any thread: failures are recorded on the game thread and by reloads on the thread pool.
/// </summary>
internal sealed class FailureLog
{
    /// <summary>How many failures are kept; the oldest goes first.</summary>
    public const int Kept = 10;

    private readonly Queue<GameFailure> _recent = new(Kept);

    /// <summary>Records a failure.</summary>
    public void Add(GameFailure failure)
    {
        lock (_recent)
        {
            if (_recent.Count == Kept)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue(failure);
        }
    }

    /// <summary>A snapshot of the kept failures, oldest first.</summary>
    public IReadOnlyList<GameFailure> Recent()
    {
        lock (_recent)
        {
            return [.. _recent];
        }
    }

    /// <summary>Describes an exception thrown by game code: its type, message, and where in the game's source it was thrown.</summary>
    public static GameFailure Describe(DateTimeOffset time, Exception e, string context)
    {
        Exception shown = e is AggregateException { InnerExceptions.Count: 1 } one ? one.InnerException! : e;
        string? location = GameLocation(shown);
        string summary = $"{shown.GetType().Name}: {shown.Message} ({context}{(location is null ? "" : $", at {location}")})";
        string[] trace = (shown.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new GameFailure(time, summary, location, trace);
    }

    /// <summary>
    /// The innermost frame of <paramref name="e"/> in the game's own code, as <c>File.cs:line</c>. Game code is the only
    /// collectible code in the server (every generation lives in a collectible load context), and is compiled with
    /// symbols, so its frames carry the game file's path, relative to the game folder.
    /// </summary>
    public static string? GameLocation(Exception e)
    {
        foreach (StackFrame frame in new StackTrace(e, fNeedFileInfo: true).GetFrames())
        {
            if (frame.GetMethod()?.DeclaringType?.Assembly is { IsCollectible: true } && frame.GetFileName() is { Length: > 0 } file)
            {
                return $"{file}:{frame.GetFileLineNumber()}";
            }
        }

        return null;
    }
}
