namespace Dominance.Core;

/// <summary>The outcome of a swap (<see cref="GameLoop.SwapAsync"/>).</summary>
/// <param name="Succeeded">Whether the new module now runs.</param>
/// <param name="Generation">The generation running afterwards.</param>
/// <param name="Pause">How long the game thread spent on the swap (export, import and start).</param>
/// <param name="FailedStage">What failed, if the swap was rolled back.</param>
/// <param name="Error">The exception, if the swap was rolled back.</param>
internal sealed record SwapResult(bool Succeeded, int Generation, TimeSpan Pause, string? FailedStage, Exception? Error);
