using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Dominance.Api;
using Dominance.Core;
using Microsoft.Extensions.Logging;

namespace Dominance.Persistence;

/// <summary>
/// World saves: taken periodically, on request (<see cref="IGameContext.SaveAsync"/>, the admin <c>save</c> command)
/// and on shutdown; the newest intact one is restored on start.
/// </summary>
/// <remarks>
/// <para>A save has two halves. On the game thread, the module exports its state into a buffer: that is the whole
/// stall, and it does no I/O. Everything else runs on one background writer: the SHA-256, the database transaction
/// (insert, then delete intact saves beyond <see cref="PersistenceSettings.KeepSaves"/>), the retries.</para>
/// <para>Saves run one at a time. Requests that arrive while one runs are answered by the next, which exports afresh.
/// A failed save is logged with its cause, admins are told, and it is retried with backoff (the delay doubles, up to a
/// minute), each retry with a fresh export: the game goes on meanwhile.</para>
/// <para>Every save is written here, in <see cref="SaveOnceAsync"/>: once <see cref="StopWritingAsync"/> is called, no
/// save is written again.</para>
/// </remarks>
internal sealed class WorldSaves : IAsyncDisposable
{
    private static readonly TimeSpan s_maxRetryDelay = TimeSpan.FromMinutes(1);

    private readonly IGameStore _store;
    private readonly GameLoop _core;
    private readonly PersistenceSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly Channel<TaskCompletionSource<SaveResult>> _requests =
        Channel.CreateUnbounded<TaskCompletionSource<SaveResult>>(new UnboundedChannelOptions { SingleReader = true });

    // Written by the game thread during an export, read by the writer after it; never both at once (one save at a time).
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly CancellationTokenSource _stopPeriodic = new();
    private Task _writer = Task.CompletedTask;
    private Task _periodic = Task.CompletedTask;
    private readonly ServerMetrics _metrics;
    private int _failures;

    // Held by the writer for a whole save; StopWritingAsync takes it once, to wait for the save under way.
    private readonly SemaphoreSlim _writing = new(1, 1);

    // Why no save is written any more (StopWritingAsync), or null.
    private volatile string? _stopped;

    /// <summary>Creates the saver; each save attempt is counted and timed in <paramref name="metrics"/> (<see cref="ServerMetrics.Detached"/> if omitted).</summary>
    public WorldSaves(IGameStore store, GameLoop core, PersistenceSettings settings, TimeProvider clock, ILogger<WorldSaves> log, ServerMetrics? metrics = null)
    {
        _metrics = metrics ?? ServerMetrics.Detached;
        _store = store;
        _core = core;
        _settings = settings;
        _clock = clock;
        _log = log;
    }

    /// <summary>
    /// Finds the newest save that reads back intact (its length and SHA-256 match). A damaged one is reported, marked
    /// (so it is kept, and skipped from then on) and passed over for the one before it. <see langword="null"/> when
    /// there is none: a new world.
    /// </summary>
    public async Task<RestoredSave?> LoadNewestAsync()
    {
        foreach (SaveInfo save in await _store.ListSavesAsync().ConfigureAwait(false))
        {
            if (save.Problem is not null)
            {
                _log.LogWarning("Skipping world save #{Id} of {Time:u}: found damaged earlier ({Problem})", save.Id, save.CreatedAt, save.Problem);
                continue;
            }

            byte[]? data = await _store.ReadSaveAsync(save.Id).ConfigureAwait(false);
            string? problem = data is null ? null : Verify(save, data);
            if (data is not null && problem is null)
            {
                return new RestoredSave(save, data);
            }

            if (problem is not null)
            {
                _log.LogError(
                    "World save #{Id} of {Time:u} is damaged ({Problem}); skipping it for the one before. It stays in {Store}, marked damaged.",
                    save.Id, save.CreatedAt, problem, _store.Description);
                await _store.MarkSaveDamagedAsync(save.Id, problem).ConfigureAwait(false);
            }
        }

        return null;
    }

    /// <summary>Starts the writer and the periodic saves. Call once the game runs; requests made before wait for it.</summary>
    public void Start()
    {
        _writer = Task.Run(WriteLoopAsync);
        if (_settings.SaveInterval > TimeSpan.Zero)
        {
            _periodic = Task.Run(PeriodicAsync);
        }
    }

    /// <summary>
    /// Stops every save for good, from any thread: no periodic save, and every request (the final save's included) is
    /// answered with <paramref name="reason"/>, unwritten. For a core whose world is no longer the one to keep. Completes
    /// once the save under way, if any, has finished (the database may have it already): from then on nothing is written.
    /// </summary>
    public async Task StopWritingAsync(string reason)
    {
        _stopped = reason;
        _stopPeriodic.Cancel();
        await _writing.WaitAsync().ConfigureAwait(false);
        _writing.Release();
    }

    /// <summary>Saves now; completes when the save is stored or has failed. Any thread.</summary>
    public Task<SaveResult> SaveAsync()
    {
        var done = new TaskCompletionSource<SaveResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_stopped is { } stopped)
        {
            done.SetResult(Failed(0, TimeSpan.Zero, 0, stopped));
        }
        else if (!_requests.Writer.TryWrite(done))
        {
            done.SetResult(Failed(0, TimeSpan.Zero, 0, "the server is stopping"));
        }

        return done.Task;
    }

    /// <summary>The save at shutdown: tries until it is stored or <see cref="PersistenceSettings.ShutdownSaveTimeout"/> has passed.</summary>
    public async Task<SaveResult> FinalSaveAsync()
    {
        await StopPeriodicAsync().ConfigureAwait(false);
        long deadline = _clock.GetTimestamp() + (long)(_settings.ShutdownSaveTimeout.TotalSeconds * _clock.TimestampFrequency);
        while (true)
        {
            SaveResult result = await SaveAsync().ConfigureAwait(false);
            TimeSpan left = _clock.GetElapsedTime(_clock.GetTimestamp(), deadline);
            if (result.Succeeded || left <= TimeSpan.Zero || _stopped is not null)
            {
                if (!result.Succeeded && _stopped is null)
                {
                    _log.LogCritical(
                        "The final world save could not be written within {Timeout}: {Cause}. The newest stored save is what the next start restores.",
                        _settings.ShutdownSaveTimeout, result.Error);
                }

                return result;
            }

            await Task.Delay(Min(RetryDelay(), left), _clock).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the periodic saves and taking requests, and waits for the save under way, if any.</summary>
    /// <remarks>
    /// A save under way waits for the game thread's export; game code stuck in a loop never gives it, so the wait for it
    /// is bounded by <see cref="PersistenceSettings.ShutdownSaveTimeout"/>, and the server stops without it (the stop's
    /// own final save is skipped then too, by the host).
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        await StopPeriodicAsync().ConfigureAwait(false);
        _requests.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(_settings.ShutdownSaveTimeout, _clock).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.LogError(
                "A world save was still waiting for the game thread after {Timeout}; stopping without it. The newest stored save is what the next start restores.",
                _settings.ShutdownSaveTimeout);
        }
    }

    /// <summary>
    /// Asks for a save every <see cref="PersistenceSettings.SaveInterval"/>, off the game thread: the game thread's only
    /// part in it is the export, as in any save.
    /// </summary>
    private async Task PeriodicAsync()
    {
        using var timer = new PeriodicTimer(_settings.SaveInterval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopPeriodic.Token).ConfigureAwait(false))
            {
                _ = SaveAsync(); // its outcome is logged, and a failure retried, by the writer
            }
        }
        catch (OperationCanceledException)
        {
            // stopped: shutdown
        }
    }

    private async Task StopPeriodicAsync()
    {
        _stopPeriodic.Cancel();
        await _periodic.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var waiting = new List<TaskCompletionSource<SaveResult>>();
        ChannelReader<TaskCompletionSource<SaveResult>> requests = _requests.Reader;
        Task<bool>? requested = null;
        while (true)
        {
            // Wait for a request; after a failure, also for the time to retry, whichever comes first.
            requested ??= requests.WaitToReadAsync().AsTask();
            if (_failures == 0)
            {
                await requested.ConfigureAwait(false);
            }
            else
            {
                await Task.WhenAny(requested, Task.Delay(RetryDelay(), _clock)).ConfigureAwait(false);
            }

            if (requested.IsCompleted)
            {
                if (!await requested.ConfigureAwait(false))
                {
                    return; // stopping, and nothing asked for
                }

                requested = null;
            }

            while (requests.TryRead(out TaskCompletionSource<SaveResult>? request))
            {
                waiting.Add(request);
            }

            SaveResult result = await SaveOnceAsync().ConfigureAwait(false);
            _metrics.RecordSave(result);
            foreach (TaskCompletionSource<SaveResult> request in waiting)
            {
                request.TrySetResult(result);
            }

            waiting.Clear();
        }
    }

    private async Task<SaveResult> SaveOnceAsync()
    {
        await _writing.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopped is { } stopped)
            {
                _failures = 0; // nothing to retry
                return Failed(0, TimeSpan.Zero, 0, stopped);
            }

            return await ExportAndWriteAsync().ConfigureAwait(false);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task<SaveResult> ExportAndWriteAsync()
    {
        long started = Stopwatch.GetTimestamp();
        (int bytes, TimeSpan stall, Exception? exportError) = await _core.InvokeAsync(Export).ConfigureAwait(false);
        if (exportError is not null)
        {
            _log.LogError(exportError, "World save failed: the game could not export its state");
            return Failure(Failed(bytes, stall, started, "the game could not export its state: " + exportError.Message));
        }

        // From here on, the writer's thread: the game thread has gone back to the game.
        try
        {
            byte[] sha256 = SHA256.HashData(_buffer.WrittenSpan);
            long id = await _store.WriteSaveAsync(_buffer.WrittenMemory, sha256, _clock.GetUtcNow(), _settings.KeepSaves).ConfigureAwait(false);
            var result = new SaveResult(true, id, bytes, stall, Stopwatch.GetElapsedTime(started), null);
            _log.LogInformation(
                "World saved: save #{Id}, {Bytes:N0} bytes; game thread paused {Stall:F1} ms, stored in {Total:F0} ms",
                id, bytes, stall.TotalMilliseconds, result.Total.TotalMilliseconds);
            if (_failures > 0)
            {
                _log.LogInformation("World saves work again after {Failures} failed attempt(s)", _failures);
                _core.TellAdmins($"[save] The world is saved again (save #{id}), after {_failures} failed attempt{(_failures == 1 ? "" : "s")}.");
                _failures = 0;
            }

            return result;
        }
        catch (Exception e)
        {
            return Failure(Failed(bytes, stall, started, StoreException.CauseOf(e)));
        }
    }

    /// <summary>The game thread's whole share of a save: the module writes its state into the buffer.</summary>
    private (int Bytes, TimeSpan Stall, Exception? Error) Export()
    {
        long started = Stopwatch.GetTimestamp();
        _buffer.ResetWrittenCount();
        try
        {
            _core.ExportState(_buffer);
            return (_buffer.WrittenCount, Stopwatch.GetElapsedTime(started), null);
        }
        catch (Exception e)
        {
            return (0, Stopwatch.GetElapsedTime(started), e);
        }
    }

    private SaveResult Failure(SaveResult result)
    {
        _failures++;
        TimeSpan retry = RetryDelay();
        _log.LogError(
            "World save failed ({Failures} in a row): {Cause}. The game goes on; retrying in {Retry}.",
            _failures, result.Error, retry);
        _core.TellAdmins($"[save] The world could not be saved: {result.Error}. The game goes on; retrying in {retry.TotalSeconds:0.#} s.");
        return result;
    }

    /// <summary>The wait before the next retry: the configured delay, doubled for each failure after the first, up to a minute.</summary>
    private TimeSpan RetryDelay() =>
        Min(_settings.RetryDelay * Math.Pow(2, Math.Clamp(_failures - 1, 0, 16)), s_maxRetryDelay);

    private static SaveResult Failed(int bytes, TimeSpan stall, long started, string error) =>
        new(false, null, bytes, stall, started == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(started), error);

    private static string? Verify(SaveInfo save, byte[] data) =>
        data.Length != save.Length ? $"length {data.Length:N0} bytes, expected {save.Length:N0}"
        : !SHA256.HashData(data).AsSpan().SequenceEqual(save.Sha256) ? "SHA-256 mismatch: the data changed after it was written"
        : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

/// <summary>The save a world is restored from: which one, and its data.</summary>
internal sealed record RestoredSave(SaveInfo Save, byte[] Data);
