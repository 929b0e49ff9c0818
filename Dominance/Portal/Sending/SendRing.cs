using System.Runtime.InteropServices;

namespace Dominance.Portal.Sending;

/// <summary>
/// A batch of non-blocking sends given to the kernel in one system call: Linux's io_uring, with just what a
/// <see cref="SocketSender"/> needs (<c>IORING_OP_SEND</c> with <c>MSG_DONTWAIT</c>, submitted and completed in the same
/// call). A broadcast to a thousand connections is then a few calls instead of a thousand, and each send costs about a
/// fifth less CPU (measured in BENCHMARKS.md, "io_uring").
/// </summary>
/// <remarks>
/// <para>One thread owns a ring: <see cref="Add"/>, <see cref="Submit"/> and <see cref="TryTake"/> are called by it
/// alone. The caller keeps every buffer it adds pinned, and every file descriptor open (a reference on its
/// <see cref="System.Runtime.InteropServices.SafeHandle"/>), until the send's completion has been taken.</para>
/// <para>A send with <c>MSG_DONTWAIT</c> is done inline by the submitting call, as <c>send</c> would do it: it takes
/// what the socket's buffer has room for and completes with that count, or with <c>-EAGAIN</c>; it never waits. Sends of
/// one submission run in the order they were added.</para>
/// <para>Where io_uring is not there (another OS, an old kernel, <c>kernel.io_uring_disabled</c>, a container's seccomp
/// profile) <see cref="TryCreate"/> returns <see langword="null"/> and the sender makes one <c>send</c> per connection.</para>
/// </remarks>
internal sealed unsafe partial class SendRing
{
    /// <summary>The errno values a completion may carry, negated, that the caller handles specially.</summary>
    public const int WouldBlock = 11, Interrupted = 4, Unsupported = 22;

    private const long SysSetup = 425; // io_uring_setup and io_uring_enter: the same numbers on x86-64 and arm64
    private const long SysEnter = 426;
    private const uint EnterGetEvents = 1;
    private const byte OpSend = 26;
    private const uint SendFlags = 0x40 | 0x4000; // MSG_DONTWAIT | MSG_NOSIGNAL
    private const long OffSqRing = 0, OffCqRing = 0x8000000, OffSqes = 0x10000000;
    private const uint FeatSingleMmap = 1, FeatNativeWorkers = 1 << 9;
    private const int ProtReadWrite = 3, MapSharedPopulate = 0x01 | 0x8000;

    private readonly int _fd;
    private readonly uint* _sqTail;
    private readonly uint _sqMask;
    private readonly Sqe* _sqes;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly Cqe* _cqes;
    private uint _tail; // our copy of the submission queue's tail
    private int _added; // sends added since the last submit
    private int _owed; // completions not yet taken

    private SendRing(int fd, in Params p, byte* sq, byte* cq, Sqe* sqes)
    {
        _fd = fd;
        Capacity = (int)p.SqEntries;
        _sqTail = (uint*)(sq + p.SqOff.Tail);
        _sqMask = *(uint*)(sq + p.SqOff.RingMask);
        _tail = *_sqTail;
        uint* array = (uint*)(sq + p.SqOff.Array);
        for (uint i = 0; i < p.SqEntries; i++)
        {
            array[i] = i; // the submission at index i of the ring is always entry i
        }

        _sqes = sqes;
        _cqHead = (uint*)(cq + p.CqOff.Head);
        _cqTail = (uint*)(cq + p.CqOff.Tail);
        _cqMask = *(uint*)(cq + p.CqOff.RingMask);
        _cqes = (Cqe*)(cq + p.CqOff.Cqes);
    }

    /// <summary>How many sends one submission holds.</summary>
    public int Capacity { get; }

    /// <summary>Sends added and not yet submitted.</summary>
    public int Added => _added;

    /// <summary>A ring of <paramref name="entries"/> sends, or <see langword="null"/> where io_uring cannot be used.</summary>
    public static SendRing? TryCreate(uint entries)
    {
        if (!OperatingSystem.IsLinux() || !(RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64))
        {
            return null;
        }

        var p = default(Params);
        int fd;
        try
        {
            fd = (int)Syscall(SysSetup, (nint)entries, (nint)(&p), 0, 0, 0, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }

        if (fd < 0)
        {
            return null; // ENOSYS, EPERM (disabled, or a seccomp profile), ENOMEM: one send per connection instead
        }

        if ((p.Features & (FeatSingleMmap | FeatNativeWorkers)) != (FeatSingleMmap | FeatNativeWorkers))
        {
            Close(fd); // kernels before 5.12, whose non-blocking sends were not checked to complete inline
            return null;
        }

        nuint ringBytes = Math.Max(p.SqOff.Array + (p.SqEntries * sizeof(uint)), p.CqOff.Cqes + (p.CqEntries * (uint)sizeof(Cqe)));
        nint rings = Map(ringBytes, fd, OffSqRing);
        nint sqes = rings == -1 ? -1 : Map(p.SqEntries * (uint)sizeof(Sqe), fd, OffSqes);
        if (rings == -1 || sqes == -1)
        {
            if (rings != -1)
            {
                Unmap(rings, ringBytes);
            }

            Close(fd);
            return null;
        }

        return new SendRing(fd, p, (byte*)rings, (byte*)rings, (Sqe*)sqes); // one mapping holds both queues (IORING_FEAT_SINGLE_MMAP)
    }

    /// <summary>Adds a send of <paramref name="length"/> bytes at <paramref name="data"/> on <paramref name="fd"/>; its completion carries <paramref name="tag"/>.</summary>
    public void Add(nint fd, byte* data, int length, ulong tag)
    {
        if (_added + _owed >= Capacity)
        {
            throw new InvalidOperationException("The send ring is full: submit, and take the completions, first.");
        }

        Sqe* sqe = &_sqes[_tail & _sqMask];
        *sqe = default;
        sqe->Opcode = OpSend;
        sqe->Fd = (int)fd;
        sqe->Addr = (ulong)data;
        sqe->Len = (uint)length;
        sqe->OpFlags = SendFlags;
        sqe->UserData = tag;
        _tail++;
        _added++;
    }

    /// <summary>
    /// Gives the kernel every send added, and returns once all of them have completed (inline, as non-blocking sends do).
    /// Their completions are then taken with <see cref="TryTake"/>.
    /// </summary>
    public void Submit()
    {
        Volatile.Write(ref *_sqTail, _tail); // the entries are written before the kernel may see the new tail
        int toSubmit = _added;
        _owed += _added;
        _added = 0;
        while (toSubmit > 0 || Volatile.Read(ref *_cqTail) - *_cqHead < (uint)_owed)
        {
            long done = Syscall(SysEnter, _fd, toSubmit, _owed, (nint)EnterGetEvents, 0, 0);
            if (done < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Interrupted)
                {
                    continue;
                }

                if (errno == WouldBlock)
                {
                    Thread.Yield(); // the kernel could not allocate for the moment: let something else run, then again
                    continue;
                }

                throw new IOException($"io_uring_enter failed with errno {errno}.");
            }

            toSubmit -= (int)done;
        }
    }

    /// <summary>Takes one completion: the send's tag, and the bytes it sent or a negated errno.</summary>
    public bool TryTake(out ulong tag, out int result)
    {
        uint head = *_cqHead;
        if (head == Volatile.Read(ref *_cqTail))
        {
            tag = 0;
            result = 0;
            return false;
        }

        Cqe* cqe = &_cqes[head & _cqMask];
        tag = cqe->UserData;
        result = cqe->Res;
        Volatile.Write(ref *_cqHead, head + 1); // the entry is read before the kernel may reuse it
        _owed--;
        return true;
    }

    private static nint Map(nuint length, int fd, long offset) => MapMemory(0, length, ProtReadWrite, MapSharedPopulate, fd, offset);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MapMemory(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Unmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary><c>struct io_uring_params</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Params
    {
        public uint SqEntries;
        public uint CqEntries;
        public uint Flags;
        public uint SqThreadCpu;
        public uint SqThreadIdle;
        public uint Features;
        public uint WqFd;
        public uint Reserved0;
        public uint Reserved1;
        public uint Reserved2;
        public SqOffsets SqOff;
        public CqOffsets CqOff;
    }

    /// <summary><c>struct io_sqring_offsets</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SqOffsets
    {
        public uint Head;
        public uint Tail;
        public uint RingMask;
        public uint RingEntries;
        public uint Flags;
        public uint Dropped;
        public uint Array;
        public uint Reserved;
        public ulong UserAddr;
    }

    /// <summary><c>struct io_cqring_offsets</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct CqOffsets
    {
        public uint Head;
        public uint Tail;
        public uint RingMask;
        public uint RingEntries;
        public uint Overflow;
        public uint Cqes;
        public uint Flags;
        public uint Reserved;
        public ulong UserAddr;
    }

    /// <summary><c>struct io_uring_sqe</c>, 64 bytes, with the fields a send uses.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct Sqe
    {
        [FieldOffset(0)] public byte Opcode;
        [FieldOffset(4)] public int Fd;
        [FieldOffset(16)] public ulong Addr;
        [FieldOffset(24)] public uint Len;
        [FieldOffset(28)] public uint OpFlags;
        [FieldOffset(32)] public ulong UserData;
    }

    /// <summary><c>struct io_uring_cqe</c>, 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Cqe
    {
        public ulong UserData;
        public int Res;
        public uint Flags;
    }
}
