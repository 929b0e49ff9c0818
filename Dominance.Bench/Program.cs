using BenchmarkDotNet.Running;
using Dominance.Bench.Load;

namespace Dominance.Bench;

/// <summary>
/// Entry point. <c>./run.sh bench [filter]</c> runs the BenchmarkDotNet suite; <c>./run.sh load …</c> runs the load tool;
/// <c>./run.sh bench-nats</c> measures the relay through NATS; <c>baseline-server</c> is the hand-written server the load tool compares against, started by it in its own process.
/// </summary>
internal static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["load", .. var rest]:
                return await LoadCommand.InvokeAsync(rest);
            case ["nats-relay", .. var rest]:
                return await NatsRelayLatency.RunAsync(rest);
            case ["baseline-server", .. var rest]:
                return await BaselineServer.RunAsync(rest);
            default:
                BenchmarkSwitcher.FromAssembly(typeof(BenchProgram).Assembly).Run(args);
                return 0;
        }
    }
}
