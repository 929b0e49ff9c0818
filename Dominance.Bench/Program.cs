using BenchmarkDotNet.Running;

namespace Dominance.Bench;

/// <summary>Entry point: <c>./run.sh bench [filter]</c>.</summary>
internal static class BenchProgram
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(BenchProgram).Assembly).Run(args);
}
