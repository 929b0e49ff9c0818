#!/usr/bin/env python3
"""Idle memory of the published server (issue 16), measured from outside as a user would see it.

Starts the binary (dist/dominance by default) with the built-in game in a fresh folder, times the telnet port's first
byte (exec to listening: the port answers while the game still compiles) and the game's banner (exec to serving),
samples the memory of the server's compiler process (its child) while there is one, logs PLAYERS guests in (each says one line), then lets the server sit idle for IDLE seconds and
reads /proc/PID/status (VmRSS), /proc/PID/smaps_rollup (Pss, private) and /healthz (the GC heap). With --cold the
compile cache is empty (a fresh XDG_CACHE_HOME); otherwise one start beforehand fills it, so the measured start is warm.
--by-mapping lists the largest mappings of /proc/PID/smaps. Extra runtime knobs go in the environment
(e.g. DOTNET_GCgen0size=0x400000 python3 ... ) and are passed on to the server.

Usage: python3 Dominance.Bench/Scripts/idle-memory.py [--binary dist/dominance] [--players 0] [--idle 30] [--cold]
       [--runs 1] [--by-mapping] [-- extra server arguments]
Run it under the exclusive lock: flock -x /tmp/dominance-cpu.lock python3 Dominance.Bench/Scripts/idle-memory.py
"""
import argparse, json, os, re, shlex, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
parser = argparse.ArgumentParser()
parser.add_argument("--binary", default=os.path.join(root, "dist/dominance"), help="the server command (e.g. 'dotnet Dominance/bin/Release/net10.0/dominance.dll')")
parser.add_argument("--players", type=int, default=0)
parser.add_argument("--idle", type=float, default=30)
parser.add_argument("--cold", action="store_true")
parser.add_argument("--runs", type=int, default=1)
parser.add_argument("--by-mapping", type=int, default=0, metavar="N", help="list the N largest mappings")
parser.add_argument("extra", nargs="*")
args = parser.parse_args()


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def wait_banner(port, started, deadline):
    """Connects as soon as the port answers; returns the times (s) to its first byte and to the game's banner."""
    while time.monotonic() < deadline:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            s.settimeout(max(0.1, deadline - time.monotonic()))
            data = s.recv(65536)
            if not data:
                continue
            listening = time.monotonic() - started
            while b"for everything else." not in data:
                data += s.recv(65536)
            serving = time.monotonic() - started
            s.close()
            return listening, serving
        except OSError:
            time.sleep(0.005)
    raise TimeoutError("no telnet banner")


def children(pid):
    """The process's children: each thread lists those it started (the server starts its compiler on a pool thread)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


class ChildSampler:
    """Samples the server's child processes (its compiler process) every 20 ms: the peak VmHWM seen, and how long one ran."""
    def __init__(self, pid):
        self.pid, self.peak_kb, self.pids, self.stop = pid, 0, set(), threading.Event()
        self.first = self.last = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop.wait(0.02):
            for c in children(self.pid):
                try:
                    with open(f"/proc/{c}/status") as f:
                        self.peak_kb = max(self.peak_kb, kib(f.read(), "VmHWM"))
                    self.pids.add(c)
                    now = time.monotonic()
                    self.first = self.first or now
                    self.last = now
                except OSError:
                    pass


class Player:
    """A telnet guest that reads everything it is sent."""
    def __init__(self, port, name):
        self.s = socket.create_connection(("127.0.0.1", port)); self.buf = b""
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(b"for everything else.")
        self.s.sendall(b"connect guest\r\n"); self.wait_for(b"Guest")
        self.s.sendall(f"say hello from {name}\r\n".encode())

    def _read(self):
        try:
            while (d := self.s.recv(65536)):
                self.buf += d
        except OSError:
            pass

    def wait_for(self, text, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.buf:
                return
            time.sleep(0.005)
        raise TimeoutError(text)


def kib(text, key):
    m = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def by_mapping(pid):
    """Rss and Pss (KiB) per mapping name ([anon] for anonymous memory), largest first."""
    sums, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = parts[5] if len(parts) > 5 else "[anon]"
                if name.startswith("/"):
                    name = os.path.basename(name) + (" (r-x)" if "x" in parts[1] else "")
            elif parts[0] in ("Rss:", "Pss:", "Anonymous:"):
                s = sums.setdefault(name, [0, 0, 0])
                s[("Rss:", "Pss:", "Anonymous:").index(parts[0])] += int(parts[1])
    return sorted(sums.items(), key=lambda kv: -kv[1][0])


def run_once(cache):
    folder = tempfile.mkdtemp(prefix="dominance-mem-")
    telnet, http = free_port(), free_port()
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    started = time.monotonic()
    p = subprocess.Popen(shlex.split(args.binary) + ["run", "--telnet-port", str(telnet), "--http-port", str(http),
                          f"--Persistence:SqliteFile={folder}/d.db", "--Accounts:CreateLimit=0", "--Portal:ConnectionRateLimit=0"] + args.extra,
                         cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = ChildSampler(p.pid)
    try:
        listening, serving = wait_banner(telnet, started, started + 60)
        players = [Player(telnet, f"p{i}") for i in range(args.players)]
        time.sleep(args.idle)
        with open(f"/proc/{p.pid}/status") as f:
            status = f.read()
        with open(f"/proc/{p.pid}/smaps_rollup") as f:
            rollup = f.read()
        health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz"))
        runtime = health.get("runtime") or health.get("Runtime") or {}
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics").read().decode()
        def metric(name):
            m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)", metrics, re.M)
            return float(m.group(1)) if m else 0.0
        sampler.stop.set()
        result = dict(listening_ms=round(listening * 1000), serving_ms=round(serving * 1000), alive_children=len(children(p.pid)),
                      child_peak_mb=sampler.peak_kb / 1024, child_ran_ms=round(((sampler.last or 0) - (sampler.first or 0)) * 1000), child_count=len(sampler.pids),
                      rss_mb=kib(status, "VmRSS") / 1024, pss_mb=kib(rollup, "Pss") / 1024,
                      private_mb=(kib(rollup, "Private_Clean") + kib(rollup, "Private_Dirty")) / 1024,
                      anon_mb=kib(rollup, "Anonymous") / 1024, threads=int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1)),
                      heap_mb=(runtime.get("heapBytes") or runtime.get("HeapBytes") or 0) / 2**20,
                      committed_mb=metric("dotnet_gc_last_collection_memory_committed_size_bytes") / 2**20,
                      assemblies=int(metric("dotnet_assembly_count")), jit_il_kb=metric("dotnet_jit_compiled_il_size_bytes_total") / 1024,
                      jit_methods=int(metric("dotnet_jit_compiled_methods_total")))
        mappings = by_mapping(p.pid) if args.by_mapping else []
        for pl in players:
            pl.s.close()
        return result, mappings
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait()
        shutil.rmtree(folder, ignore_errors=True)


for run in range(args.runs):
    cache = tempfile.mkdtemp(prefix="dominance-cache-")
    try:
        if not args.cold:
            saved = args.idle, args.players, args.by_mapping
            args.idle, args.players, args.by_mapping = 0, 0, 0
            run_once(cache)  # fills the compile cache
            args.idle, args.players, args.by_mapping = saved
        r, mappings = run_once(cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"{'cold' if args.cold else 'warm'} start, {args.players} players, {args.idle:g} s idle: exec to listening {r['listening_ms']} ms, "
          f"to serving (the game's banner) {r['serving_ms']} ms; "
          f"VmRSS {r['rss_mb']:.1f} MB, Pss {r['pss_mb']:.1f} MB, private {r['private_mb']:.1f} MB, anonymous {r['anon_mb']:.1f} MB, "
          f"GC heap {r['heap_mb']:.1f} MB (committed {r['committed_mb']:.1f} MB), {r['threads']} threads, "
          f"{r['assemblies']} assemblies, {r['jit_methods']} methods jitted ({r['jit_il_kb']:.0f} KiB IL); "
          f"compiler processes: {r['child_count']} seen (peak VmHWM {r['child_peak_mb']:.1f} MB, alive for ~{r['child_ran_ms']} ms), "
          f"{r['alive_children']} still running when measured", flush=True)
    for name, (rss, pss, anon) in mappings[:args.by_mapping]:
        print(f"    {rss / 1024:7.1f} MB rss {pss / 1024:7.1f} MB pss {anon / 1024:7.1f} MB anon  {name}")
