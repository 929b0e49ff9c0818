using System.Diagnostics;

namespace Dominance.Reload;

/// <summary>
/// The compiler process: the hidden verb <c>dominance compile-worker</c>, which the server starts (see
/// <see cref="CompilerProcess"/>) so that Roslyn, its caches and the code the JIT made for it live and die outside the
/// server. Reads requests from standard input and writes answers to standard output (<see cref="CompileProtocol"/>),
/// one at a time, with one <see cref="RoslynCompiler"/> kept warm between them; exits when its input closes (the
/// server stopped it, stopped itself, or died).
/// </summary>
internal static class CompileWorker
{
    /// <summary>Serves requests until <paramref name="input"/> ends. Returns the process exit code.</summary>
    public static int Run(Stream input, Stream output)
    {
        // Standard output carries the frames: anything else written to the console goes to standard error instead.
        Console.SetOut(Console.Error);
        var compiler = new RoslynCompiler();
        byte[] header = new byte[4];
        while (true)
        {
            int read = input.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (read == 0)
            {
                return 0; // the server closed our input: done
            }

            if (read < header.Length)
            {
                Console.Error.WriteLine("dominance compile-worker: the input ended inside a frame.");
                return 1;
            }

            byte[] payload = new byte[CompileProtocol.LengthOf(header)];
            input.ReadExactly(payload);
            long started = Stopwatch.GetTimestamp();
            (Guid toolchain, int generation, IReadOnlyList<SourceFile> files) = CompileProtocol.ReadRequest(payload);
            CompileResult result = toolchain == CompileProtocol.Toolchain
                ? compiler.Compile(files, generation, started).Result
                : new CompileResult(null, null, ["The server's binary was replaced on disk since the server started, so its compiler process is a different build: restart the server to reload."], TimeSpan.Zero);
            output.Write(CompileProtocol.Answer(result));
            output.Flush();
        }
    }
}
