namespace Dominance.Core;

/// <summary>
/// The audit log: one logger category for what an operator must be able to trace later. The portal writes connects
/// and disconnects (session, address, transport), accounts write logins, failed logins and creations, reloads write
/// their reason and outcome, and games write their admins' commands (<see cref="Api.IGameContext.Audit"/>).
/// </summary>
/// <remarks>Lines name accounts and addresses, never a password. Filter the console to it with
/// <c>--Logging:LogLevel:Default=None --Logging:LogLevel:Dominance.Audit=Information</c>.</remarks>
internal static class AuditLog
{
    /// <summary>The logger category of every audit line.</summary>
    public const string Category = "Dominance.Audit";
}
