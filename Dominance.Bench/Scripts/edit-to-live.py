#!/usr/bin/env python3
"""Edit to live from outside (issue 16): the published binary, a game folder, PLAYERS telnet guests chatting.

Runs `dominance init` into a fresh folder, starts `dominance run FOLDER`, logs PLAYERS guests in (together they chat
once a second each, and read everything), then EDITS times changes Commands.cs (the summary of `who`) and, for each,
measures from the file's save to the first `help who` reply that shows the new text (polled every 20 ms by one more
guest). Prints each edit, then the median and the maximum, and the memory (VmRSS) of the server and of its compiler
process (its child, kept for the next edit) after the last edit, and the compile times and pauses from the server's log.

Usage: python3 Dominance.Bench/Scripts/edit-to-live.py [--binary dist/dominance] [--players 40] [--edits 10]
Run it under the exclusive lock: flock -x /tmp/dominance-cpu.lock python3 Dominance.Bench/Scripts/edit-to-live.py
"""
import argparse, os, re, shlex, shutil, socket, statistics, subprocess, tempfile, threading, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
parser = argparse.ArgumentParser()
parser.add_argument("--binary", default=os.path.join(root, "dist/dominance"))
parser.add_argument("--players", type=int, default=40)
parser.add_argument("--edits", type=int, default=10)
args = parser.parse_args()
ansi = re.compile(rb"\x1b\[[0-9;]*m")
ORIGINAL = '"List who is playing."'


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Guest:
    """A telnet guest that reads everything it is sent."""
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port)); self.buf = b""; self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(b"for everything else.")
        self.s.sendall(b"connect guest\r\n"); self.wait_for(b"Guest")

    def _read(self):
        try:
            while (d := self.s.recv(65536)):
                with self.lock:
                    self.buf += ansi.sub(b"", d)
        except OSError:
            pass

    def take(self):
        with self.lock:
            b, self.buf = self.buf, b""
        return b

    def wait_for(self, text, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if text in self.buf:
                    return
            time.sleep(0.005)
        raise TimeoutError(text)


folder = tempfile.mkdtemp(prefix="dominance-edit-")
game = os.path.join(folder, "game")
binary = shlex.split(args.binary)
subprocess.run(binary + ["init", game], check=True, stdout=subprocess.DEVNULL)
commands = os.path.join(game, "Commands.cs")
source = open(commands).read()
assert ORIGINAL in source, "Commands.cs has no 'who' summary to edit"
telnet, http = free_port(), free_port()
server = subprocess.Popen(binary + ["run", game, "--telnet-port", str(telnet), "--http-port", str(http),
                                    f"--Persistence:SqliteFile={folder}/d.db", "--Portal:ConnectionRateLimit=0", "--Portal:CommandRateLimit=0"],
                          cwd=folder, stdout=open(os.path.join(folder, "server.log"), "w"), stderr=subprocess.STDOUT)
stop = threading.Event()
try:
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", telnet)).close(); break
        except OSError:
            if time.monotonic() > deadline: raise
            time.sleep(0.05)
    players = [Guest(telnet) for _ in range(args.players)]
    probe = Guest(telnet)

    def chatter():
        n = 0
        while players and not stop.wait(1.0 / len(players)):
            players[n % len(players)].s.sendall(f"chat hello {n}\r\n".encode()); n += 1
            if n % 200 == 0:
                for p in players: p.take()  # keep memory flat
    threading.Thread(target=chatter, daemon=True).start()
    time.sleep(3)
    times = []
    for i in range(1, args.edits + 1):
        marker = f"Edit {i} is live."
        text = source.replace(ORIGINAL, f'"List who is playing. {marker}"')
        probe.take()
        time.sleep(1.0)
        saved = time.monotonic()
        with open(commands, "w") as f:
            f.write(text)
        seen = b""
        while marker.encode() not in seen:
            probe.s.sendall(b"help who\r\n")
            time.sleep(0.02)
            seen += probe.take()
            if time.monotonic() - saved > 60: raise TimeoutError(marker)
        times.append(time.monotonic() - saved)
        print(f"edit {i}: {times[-1] * 1000:.0f} ms", flush=True)
    print(f"{args.players} players chatting, {args.edits} edits: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms")

    def rss_mb(pid):
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) / 1024
    kids = []  # each thread lists the children it started (the server starts its compiler on a pool thread)
    for task in os.listdir(f"/proc/{server.pid}/task"):
        try:
            with open(f"/proc/{server.pid}/task/{task}/children") as f:
                kids += [int(c) for c in f.read().split()]
        except OSError:
            pass
    with open(os.path.join(folder, "server.log")) as f:
        compiles = re.findall(r"compiled in (\d+) ms, game thread paused ([0-9.]+) ms", f.read())
    print("the server's own figures per reload (compile ms / game thread paused ms): "
          + ", ".join(f"{c} / {p}" for c, p in compiles))
    print(f"after the edits: server VmRSS {rss_mb(server.pid):.1f} MB; compiler process(es): "
          + (", ".join(f"pid {k} VmRSS {rss_mb(k):.1f} MB" for k in kids) or "none"))
finally:
    stop.set()
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill(); server.wait()
    shutil.rmtree(folder, ignore_errors=True)
