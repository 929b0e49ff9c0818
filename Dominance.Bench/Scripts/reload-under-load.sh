#!/usr/bin/env bash
# Reload pause seen from outside (issue 14): the published binary runs the built-in game while the load tool keeps
# PLAYERS guests chatting, and RELOADS reloads are asked for through POST /admin/reload, one after the other. Each answer
# carries the game thread's pause (export, import, start); the script prints them, their median and their maximum, and
# the load tool's latency figures for the same minute.
# Usage: Dominance.Bench/Scripts/reload-under-load.sh [PLAYERS] [RELOADS]    (after ./run.sh publish; defaults 40, 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
players="${1:-40}" reloads="${2:-10}"
binary="${DOMINANCE_BINARY:-dist/dominance}"
[[ -x "$binary" ]] || { echo "no $binary: run ./run.sh publish first (or set DOMINANCE_BINARY)" >&2; exit 2; }
folder="$(mktemp -d /tmp/dominance-reload-load-XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http="$(free_port)" token="reload-under-load-token-0123456789"
trap 'kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$folder"' EXIT
"$binary" --telnet-port 0 --http-port "$http" --Reload:AdminToken="$token" --Core:IdleTimeout=00:00:00 \
  --Portal:ConnectionRateLimit=0 "--Persistence:SqliteFile=$folder/dominance.db" >"$folder/server.log" 2>&1 & server=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$http/healthz" >/dev/null && break; sleep 0.1; done

# The players chat for the whole time the reloads take (a generous duration), after a short warm-up.
dotnet Dominance.Bench/bin/Release/net10.0/Dominance.Bench.dll load --connect "127.0.0.1:$http" --pid "$server" \
  --clients "$players" --senders "$players" --rate "$players" --warmup 5 --duration $((reloads * 2 + 5)) --no-pin \
  >"$folder/load.txt" 2>&1 & load=$!
sleep 7 # the logins and the 5 s warm-up: the reloads fall in the measured part of the load run
pauses=()
for i in $(seq "$reloads"); do
  answer="$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$http/admin/reload")"
  pauses+=("$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["pauseMilliseconds"] if r["succeeded"] else "failed: "+r["reason"])' "$answer")")
  sleep 1 # one reload a second, as a developer saving a file would at most
done
wait "$load" || true
echo "game thread paused per reload (ms): ${pauses[*]}"
printf '%s\n' "${pauses[@]}" | python3 -c 'import sys,statistics as s; v=[float(x) for x in sys.stdin]; print(f"median {s.median(v):.2f} ms, max {max(v):.2f} ms, over {len(v)} reloads")'
echo "load tool, same run:"; sed -n '/p50/,$p' "$folder/load.txt" | head -20
