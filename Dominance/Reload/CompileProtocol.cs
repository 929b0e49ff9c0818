using System.Buffers.Binary;
using System.Text;

namespace Dominance.Reload;

/// <summary>
/// What the server and its compiler process (<see cref="CompileWorker"/>) say to each other over the child's standard
/// input and output: frames of a 4-byte little-endian length and a payload written with <see cref="BinaryWriter"/>.
/// A request is the build's toolchain (the server binary's module version id), its generation and its files; the
/// answer is the assembly and its symbols with the warnings, or the errors.
/// </summary>
internal static class CompileProtocol
{
    /// <summary>The largest frame either side accepts (a game's sources, or its image and symbols).</summary>
    public const int MaxFrame = 256 * 1024 * 1024;

    /// <summary>The verb of the server binary that runs the compiler process; hidden from <c>--help</c>.</summary>
    public const string Verb = "compile-worker";

    /// <summary>The server binary's identity: a compiler process must be the very same build to compile against its API.</summary>
    public static Guid Toolchain => typeof(CompileProtocol).Module.ModuleVersionId;

    /// <summary>A request: compile <paramref name="files"/> as generation <paramref name="generation"/>.</summary>
    public static byte[] Request(Guid toolchain, int generation, IReadOnlyList<SourceFile> files) => Frame(writer =>
    {
        writer.Write(toolchain.ToByteArray());
        writer.Write(generation);
        writer.Write(files.Count);
        foreach (SourceFile file in files)
        {
            writer.Write(file.Path);
            writer.Write(file.Text);
        }
    });

    /// <summary>Reads a request's payload (<see cref="Request"/> without its length).</summary>
    public static (Guid Toolchain, int Generation, IReadOnlyList<SourceFile> Files) ReadRequest(byte[] payload)
    {
        using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
        var toolchain = new Guid(reader.ReadBytes(16));
        int generation = reader.ReadInt32();
        var files = new SourceFile[reader.ReadInt32()];
        for (int i = 0; i < files.Length; i++)
        {
            files[i] = new SourceFile(reader.ReadString(), reader.ReadString());
        }

        return (toolchain, generation, files);
    }

    /// <summary>An answer: the outcome of a compile.</summary>
    public static byte[] Answer(CompileResult result) => Frame(writer =>
    {
        writer.Write(result.Assembly is not null);
        if (result.Assembly is { } image)
        {
            writer.Write(image.Length);
            writer.Write(image);
            writer.Write(result.Symbols?.Length ?? -1);
            writer.Write(result.Symbols ?? []);
        }

        WriteLines(writer, result.Errors);
        WriteLines(writer, result.Warnings);
    });

    /// <summary>Reads an answer's payload; <paramref name="elapsed"/> is the time the server waited for it.</summary>
    public static CompileResult ReadAnswer(byte[] payload, TimeSpan elapsed)
    {
        using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
        byte[]? image = null;
        byte[]? symbols = null;
        if (reader.ReadBoolean())
        {
            image = reader.ReadBytes(reader.ReadInt32());
            int symbolsLength = reader.ReadInt32();
            symbols = symbolsLength < 0 ? null : reader.ReadBytes(symbolsLength);
        }

        IReadOnlyList<string> errors = ReadLines(reader);
        return new CompileResult(image, symbols, errors, elapsed) { Warnings = ReadLines(reader) };
    }

    /// <summary>The length of the frame whose first 4 bytes are <paramref name="header"/>; throws if it is out of range.</summary>
    public static int LengthOf(ReadOnlySpan<byte> header)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(header);
        return length is >= 0 and <= MaxFrame ? length : throw new InvalidDataException($"A frame of {length} bytes: not a compiler process's.");
    }

    private static byte[] Frame(Action<BinaryWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(0); // the length, filled in below
            write(writer);
        }

        byte[] frame = buffer.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(frame, frame.Length - 4);
        return frame;
    }

    private static void WriteLines(BinaryWriter writer, IReadOnlyList<string> lines)
    {
        writer.Write(lines.Count);
        foreach (string line in lines)
        {
            writer.Write(line);
        }
    }

    private static string[] ReadLines(BinaryReader reader)
    {
        var lines = new string[reader.ReadInt32()];
        for (int i = 0; i < lines.Length; i++)
        {
            lines[i] = reader.ReadString();
        }

        return lines;
    }
}
