using System.Buffers;
using System.Diagnostics;
using Dominance.Api;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Dominance.Core;

/// <summary>
/// The running game module and its lifecycle: start, swap to a new generation of the code, retire, stop. Each
/// generation gets a <see cref="GameContext"/> of its own, and its timers are tagged with its number so that they die
/// with it. Game thread only.
/// </summary>
/// <remarks>
/// Invariant: exactly one generation is current from a successful <see cref="Start"/> until <see cref="Stop"/>; a
/// replaced generation is retired (its <see cref="IGameModule.Stop"/> has run, its timers are cancelled, its context
/// schedules nothing more) and nothing here refers to it any longer, so that its code can be unloaded.
/// </remarks>
internal sealed class ModuleHost(
    SessionTable sessions, TimerQueue timers, TimeProvider clock, IGameServices services, ILogger log, ILogger gameLog, ILogger auditLog, IConfiguration gameSettings)
{
    private readonly ArrayBufferWriter<byte> _stateBuffer = new();
    private GameContext? _context;

    /// <summary>The running module. Valid between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    public IGameModule Module { get; private set; } = null!;

    /// <summary>The running generation (1 for the first module), or 0 before the start.</summary>
    public int Generation => _context?.Generation ?? 0;

    /// <summary>Starts the first generation with <paramref name="state"/> (empty for a fresh world). Lets the module's exception through.</summary>
    public void Start(IGameModule module, ReadOnlyMemory<byte> state, StateSerializer serializer)
    {
        var context = NewContext(1, serializer);
        module.Start(context, state);
        Module = module;
        _context = context;
    }

    /// <summary>
    /// Replaces the running module: it exports its state, the module that <paramref name="create"/> makes starts with
    /// it, and the old generation is retired. If exporting, creating or starting throws, the running module stays, with
    /// its state, and whatever timers the new one scheduled are cancelled.
    /// </summary>
    public SwapResult Swap(Func<IGameModule> create, StateSerializer serializer)
    {
        long started = Stopwatch.GetTimestamp();
        GameContext current = _context!;
        int generation = current.Generation + 1;

        // 1. The running generation exports its state.
        _stateBuffer.ResetWrittenCount();
        try
        {
            Module.ExportState(_stateBuffer);
        }
        catch (Exception e)
        {
            return new SwapResult(false, current.Generation, Stopwatch.GetElapsedTime(started), "the running game failed to export its state", e);
        }

        // 2. The new generation is created and starts with it. If it throws, it never took over: drop what it scheduled.
        GameContext context = NewContext(generation, serializer);
        IGameModule next;
        try
        {
            next = create();
            next.Start(context, _stateBuffer.WrittenMemory);
        }
        catch (Exception e)
        {
            context.Retired = true;
            timers.CancelOwnedBy(generation);
            return new SwapResult(false, current.Generation, Stopwatch.GetElapsedTime(started), "the new game failed to start", e);
        }

        // 3. The old generation stops; nothing of it (timers, context) stays reachable from here.
        IGameModule old = Module;
        Module = next;
        _context = context;
        Retire(old, current);
        return new SwapResult(true, generation, Stopwatch.GetElapsedTime(started), null, null);
    }

    /// <summary>Writes the running module's state to <paramref name="output"/>.</summary>
    public void ExportState(IBufferWriter<byte> output) => Module.ExportState(output);

    /// <summary>Retires the running generation for good (the loop has ended) and lets go of it, so that its code can be unloaded.</summary>
    public void Stop()
    {
        if (_context is null)
        {
            return; // never started
        }

        Retire(Module, _context);
        Module = null!;
        _context = null;
    }

    private GameContext NewContext(int generation, StateSerializer serializer) =>
        new(generation, sessions, timers, clock, services, gameLog, auditLog, gameSettings, serializer);

    private void Retire(IGameModule module, GameContext context)
    {
        try
        {
            module.Stop();
        }
        catch (Exception e)
        {
            log.LogError(e, "Game generation {Generation} failed while stopping", context.Generation);
        }

        context.Retired = true;
        timers.CancelOwnedBy(context.Generation);
    }
}
