#!/usr/bin/env python3
"""Time from a core restart to players back in the game (issue 15), on a real cluster started here.

Starts nats-server, a core (--no-local-portal) and one portal, logs N telnet players in, saves the world, kills the
core with SIGKILL and starts a new one. Reports, per round: when players were told the world is restarting (after
the kill), how long the new core took to start (mostly compiling the game), and the time from the new core serving
(its "takes remote portals" log line) to the last player's "The world is back, and so are you.".

Usage: python3 Dominance.Bench/Scripts/restart-to-back.py [players] [rounds]   (after ./run.sh publish or a build)
"""
import os, re, socket, subprocess, sys, tempfile, threading, time

ansi = re.compile(r"\x1b\[[0-9;]*m")

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
dll = os.path.join(root, "Dominance/bin/Release/net10.0/dominance.dll")
players = int(sys.argv[1]) if len(sys.argv) > 1 else 20
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

folder = tempfile.mkdtemp(prefix="dominance-restart-")
nats_port, telnet, http = free_port(), free_port(), free_port()
env = dict(os.environ, DOMINANCE__Nats__Url=f"nats://127.0.0.1:{nats_port}", DOMINANCE__Nats__Secret="restart-measure-secret-0123")
nats = subprocess.Popen(["/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", str(nats_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

class Watched:
    """A child process whose output lines are time-stamped as they arrive."""
    def __init__(self, args):
        self.lines = []
        self.p = subprocess.Popen(["dotnet", dll] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        children.append(self)
        threading.Thread(target=self._read, daemon=True).start()
    def _read(self):
        for line in self.p.stdout:
            self.lines.append((time.monotonic(), line))
    def wait_for(self, text, timeout=180):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, line in list(self.lines):
                if text in line:
                    return t
            time.sleep(0.005)
        raise TimeoutError(text)

def start_core():
    return Watched(["run", "--no-local-portal", "--http-port", "0", "--Game:TickSeconds=3600", "--Accounts:CreateLimit=0", f"--Persistence:SqliteFile={folder}/d.db"])

class Player:
    def __init__(self, name):
        self.s = socket.create_connection(("127.0.0.1", telnet)); self.buf = b""; self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("for everything else.")
        self.s.sendall(f"create {name} secret1\r\n".encode()); self.wait_for(f"Welcome, {name}.")
    def _read(self):
        while True:
            d = self.s.recv(65536)
            if not d: return
            self.buf += d
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.lines.append((time.monotonic(), ansi.sub("", line.decode("utf8", "replace"))))
    def wait_for(self, text, after=0.0, timeout=180):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, line in list(self.lines):
                if t >= after and text in line:
                    return t
            time.sleep(0.002)
        raise TimeoutError(text)

children = []
try:
    core = start_core(); core.wait_for("takes remote portals")
    portal = Watched(["portal", "--telnet-port", str(telnet), "--http-port", str(http)]); portal.wait_for("attached to core"); portal.wait_for("Dominance is running as a portal")
    team = [Player(f"P{i:03}") for i in range(players)]
    team[0].s.sendall(b"save\r\n"); team[0].wait_for("Saved (save #")
    print(f"{players} players on one portal; times in seconds")
    for r in range(rounds):
        killed = time.monotonic(); core.p.kill(); core.p.wait()
        told = max(p.wait_for("The world is restarting", after=killed) for p in team) - killed
        started = time.monotonic(); core = start_core(); serving = core.wait_for("takes remote portals")
        back = max(p.wait_for("The world is back, and so are you.", after=serving) for p in team) - serving
        print(f"round {r + 1}: all told {told:.2f} after the kill; new core serving {serving - started:.2f} after its start; all back {back:.3f} after it served")
except Exception:
    for child in children:
        print("".join(line for _, line in child.lines[-30:]), file=sys.stderr)
    raise
finally:
    for child in children:
        child.p.kill()
    nats.kill()
