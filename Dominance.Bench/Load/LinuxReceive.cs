using System.Runtime.InteropServices;

namespace Dominance.Bench.Load;

/// <summary>
/// The Linux calls the load tool's receivers make themselves: <c>epoll</c>, and <c>recvmsg</c> with the kernel's receive
/// timestamp (<c>SO_TIMESTAMPNS</c>), which .NET's sockets do not expose for TCP.
/// </summary>
internal static unsafe partial class LinuxReceive
{
    private const int SolSocket = 1;
    private const int SoTimestampNs = 35; // SO_TIMESTAMPNS (_OLD) on 64-bit: also the control message's type
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const int EpollCloexec = 0x80000;

    /// <summary><c>EPOLLIN | EPOLLRDHUP</c>: readable, or the other side or this one shut down (level-triggered).</summary>
    private const uint Readable = 0x001 | 0x2000;

    /// <summary>Bytes of one <c>struct epoll_event</c>: packed (12) on x86-64, aligned (16) elsewhere.</summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int s_dataOffset = EventSize - 8;

    public static int Create()
    {
        int epoll = EpollCreate1(EpollCloexec);
        return epoll >= 0 ? epoll : throw Error("epoll_create1");
    }

    public static void Add(int epoll, int socket, nint data)
    {
        byte* e = stackalloc byte[16];
        *(uint*)e = Readable;
        *(long*)(e + s_dataOffset) = data;
        if (EpollCtl(epoll, EpollCtlAdd, socket, e) != 0)
        {
            throw Error("epoll_ctl(ADD)");
        }
    }

    public static void Remove(int epoll, int socket)
    {
        byte* e = stackalloc byte[16];
        EpollCtl(epoll, EpollCtlDel, socket, e); // a socket already closed has left the set by itself
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/>; returns how many events were written to <paramref name="events"/> (0 on a signal).</summary>
    public static int Wait(int epoll, byte* events, int capacity, int timeoutMilliseconds)
    {
        int n = EpollWait(epoll, events, capacity, timeoutMilliseconds);
        return n >= 0 ? n : Marshal.GetLastPInvokeError() == 4 /* EINTR */ ? 0 : throw Error("epoll_wait");
    }

    /// <summary>The data registered with event <paramref name="index"/>.</summary>
    public static nint EventData(byte* events, int index) => (nint)(*(long*)(events + (index * EventSize) + s_dataOffset));

    /// <summary>Asks the kernel to stamp what arrives at <paramref name="socket"/> with the time it arrived.</summary>
    public static void StampArrivals(System.Net.Sockets.Socket socket) =>
        socket.SetRawSocketOption(SolSocket, SoTimestampNs, BitConverter.GetBytes(1));

    /// <summary>
    /// Reads what is there into <paramref name="buffer"/> (the socket is non-blocking). Returns the bytes read, 0 at the
    /// end of the stream, -1 if nothing is there, or throws on an error; <paramref name="arrivedNanoseconds"/> is when the
    /// last of them arrived at the socket (CLOCK_REALTIME, ns), 0 if the kernel gave no stamp.
    /// </summary>
    public static int Receive(int socket, byte* buffer, int length, out long arrivedNanoseconds)
    {
        const int ControlBytes = 64;
        byte* control = stackalloc byte[ControlBytes];
        var iov = new IoVec { Base = (nint)buffer, Length = (nuint)length };
        var message = new MsgHdr { Iov = (nint)(&iov), IovLength = 1, Control = (nint)control, ControlLength = ControlBytes };
        nint read = RecvMsg(socket, &message, 0);
        arrivedNanoseconds = 0;
        if (read < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            return error is 11 /* EAGAIN */ or 4 /* EINTR */ ? -1 : throw new System.Net.Sockets.SocketException(error);
        }

        // struct cmsghdr: size_t cmsg_len; int cmsg_level; int cmsg_type; then the data (struct timespec), 8-aligned.
        for (nuint offset = 0; offset + 32 <= message.ControlLength;)
        {
            nuint cmsgLength = *(nuint*)(control + offset);
            if (cmsgLength < 16)
            {
                break;
            }

            if (*(int*)(control + offset + 8) == SolSocket && *(int*)(control + offset + 12) == SoTimestampNs)
            {
                arrivedNanoseconds = (*(long*)(control + offset + 16) * 1_000_000_000) + *(long*)(control + offset + 24);
                break;
            }

            offset += (cmsgLength + 7) & ~(nuint)7;
        }

        return (int)read;
    }

    private static System.Net.Sockets.SocketException Error(string call) => new(Marshal.GetLastPInvokeError(), $"{call} failed");

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epoll, int operation, int fd, byte* e);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epoll, byte* events, int capacity, int timeout);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
