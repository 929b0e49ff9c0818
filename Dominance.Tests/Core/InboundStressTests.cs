using Dominance.Api;
using Dominance.Core;
using Dominance.Hosting;
using Dominance.Portal;
using Dominance.Portal.InMemory;
using Dominance.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dominance.Tests.Core;

/// <summary>
/// dotnet/runtime#131141: on .NET 10, a bounded channel under CPU contention with many writers can throw from
/// WriteAsync or leave a parked reader asleep. The inbound channel is exactly that shape, so hammer it: many sessions
/// writing at once into a tiny channel (writers block constantly) while other threads burn the CPU.
/// </summary>
public sealed class InboundStressTests
{
    private const int Sessions = 64;
    private const int InputsPerSession = 4000;

    [Test]
    public async Task ManyConcurrentWritersLoseNothingKeepOrderAndNeverHang()
    {
        var settings = new DominanceSettings();
        settings.Core.InboundCapacity = 8;
        settings.Portal.CommandRateLimit = 0;
        var module = new OrderCheckingModule();
        var core = new GameLoop(settings.Core, TimeProvider.System, NullLoggerFactory.Instance, new ConfigurationBuilder().Build());
        var portal = new PortalService(settings.Portal, core.Inbound, TimeProvider.System, NullLogger<PortalService>.Instance);
        core.Start(module);
        await core.Started;

        using var stop = new CancellationTokenSource();
        Thread[] hogs = [.. Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Thread.SpinWait(10_000);
            }
        }) { IsBackground = true })];
        foreach (Thread hog in hogs)
        {
            hog.Start();
        }

        try
        {
            InMemorySession[] sessions = [.. Enumerable.Range(0, Sessions).Select(_ => new InMemorySession(portal, (_, _) => { }))];
            Task[] runs = [.. sessions.Select(s => s.RunAsync())];
            Task[] writers = [.. sessions.Select(s => Task.Run(async () =>
            {
                for (int i = 0; i < InputsPerSession; i++)
                {
                    await s.SendAsync(i.ToString());
                }
            }))];

            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(120));
            await Poll.UntilAsync(() => module.Total == Sessions * InputsPerSession, $"all {Sessions * InputsPerSession} inputs arrived (so far {module.Total})", TimeSpan.FromSeconds(60));
            foreach (InMemorySession session in sessions)
            {
                session.Disconnect();
            }

            await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(60));
            await Poll.UntilAsync(() => module.Disconnects == Sessions, "every disconnect arrived after its inputs");
            Assert.That(module.OutOfOrder, Is.Zero);
            Assert.That(module.InputsAfterDisconnect, Is.Zero);
        }
        finally
        {
            stop.Cancel();
            await core.StopAsync();
        }
    }

    private sealed class OrderCheckingModule : IGameModule
    {
        private readonly Dictionary<SessionId, int> _next = [];
        private int _total;
        private int _outOfOrder;
        private int _disconnects;
        private int _afterDisconnect;

        public int Total => Volatile.Read(ref _total);

        public int OutOfOrder => Volatile.Read(ref _outOfOrder);

        public int Disconnects => Volatile.Read(ref _disconnects);

        public int InputsAfterDisconnect => Volatile.Read(ref _afterDisconnect);

        public void Start(IGameContext context, ReadOnlyMemory<byte> state)
        {
        }

        public void OnConnect(SessionId session) => _next[session] = 0;

        public ValueTask OnInput(SessionId session, string line)
        {
            if (!_next.TryGetValue(session, out int expected))
            {
                _afterDisconnect++;
            }
            else if (int.Parse(line) != expected)
            {
                _outOfOrder++;
            }

            _next[session] = expected + 1;
            Volatile.Write(ref _total, _total + 1);
            return ValueTask.CompletedTask;
        }

        public void OnDisconnect(SessionId session)
        {
            _next.Remove(session);
            Volatile.Write(ref _disconnects, _disconnects + 1);
        }
    }
}
