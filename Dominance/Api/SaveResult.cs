namespace Dominance.Api;

/// <summary>The outcome of a world save (<see cref="IGameContext.SaveAsync"/>).</summary>
/// <param name="Succeeded">Whether the save is stored.</param>
/// <param name="SaveId">The stored save's number, if it succeeded.</param>
/// <param name="Bytes">The size of the saved state.</param>
/// <param name="Stall">How long the game thread spent on it: exporting the state into a buffer, nothing else.</param>
/// <param name="Total">From the export to the end of the database transaction.</param>
/// <param name="Error">Why it failed, if it did.</param>
public sealed record SaveResult(bool Succeeded, long? SaveId, long Bytes, TimeSpan Stall, TimeSpan Total, string? Error);
