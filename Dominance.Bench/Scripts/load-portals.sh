#!/usr/bin/env bash
# The load tool through remote portals (issue 15): starts nats-server, a core (run --no-local-portal) and N portals on
# free ports in a fresh folder, runs `load --connect A,B,… --pid <core>` with the given load options, prints the CPU
# time each process used over the whole run, and stops them all.
# Usage: Dominance.Bench/Scripts/load-portals.sh PORTALS [load options]   (after ./run.sh load --help, which builds)
#   e.g. Dominance.Bench/Scripts/load-portals.sh 2 --clients 1000 --rate 50 --duration 10 --no-pin
# DOMINANCE_BENCH_SERVER_CPUS=0 runs nats-server, the core and the portals on those CPUs (taskset -c 0), as
# `./run.sh cluster --cpu 0` does; then leave out --no-pin, and the load tool runs on CPU 1 alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
portals="${1:?how many portals}"; shift
bin="${DOMINANCE_BENCH_BIN:-Dominance.Bench/bin/Release/net10.0}"
folder="$(mktemp -d /tmp/dominance-load-portals-XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nats_port="$(free_port)"
export DOMINANCE__Nats__Url="nats://127.0.0.1:$nats_port" DOMINANCE__Nats__Secret="load-portals-secret-0123456789"
pids=() names=()
pin=()
[[ -n "${DOMINANCE_BENCH_SERVER_CPUS:-}" ]] && pin=(taskset -c "$DOMINANCE_BENCH_SERVER_CPUS")
# The core and portals stop first, while the NATS server still runs; then the NATS server.
trap 'kill "${pids[@]:1}" 2>/dev/null; wait "${pids[@]:1}" 2>/dev/null; kill "${pids[0]}"; wait; rm -rf "$folder"' EXIT
${pin[@]+"${pin[@]}"} /usr/sbin/nats-server -a 127.0.0.1 -p "$nats_port" >"$folder/nats.log" 2>&1 & pids+=($!) names+=(nats-server)
${pin[@]+"${pin[@]}"} dotnet "$bin/dominance.dll" run --no-local-portal --http-port 0 --Core:IdleTimeout=00:00:00 --Reload:Watch=false \
  "--Persistence:SqliteFile=$folder/dominance.db" >"$folder/core.log" 2>&1 & core=$!; pids+=($core) names+=(core)
wait_for() { # file text
  for _ in $(seq 1200); do grep -q "$2" "$1" && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; exit 1
}
wait_for "$folder/core.log" "takes remote portals"
connect=()
for i in $(seq "$portals"); do
  http="$(free_port)"
  ${pin[@]+"${pin[@]}"} dotnet "$bin/dominance.dll" portal --telnet-port 0 --http-port "$http" --Portal:ConnectionRateLimit=0 \
    >"$folder/portal$i.log" 2>&1 & pids+=($!) names+=("portal $i")
  wait_for "$folder/portal$i.log" "Dominance is running as a portal"
  connect+=("127.0.0.1:$http")
done
code=0
dotnet "$bin/Dominance.Bench.dll" load --connect "$(IFS=,; echo "${connect[*]}")" --pid "$core" "$@" || code=$?
echo "CPU time over the whole run (user+system, s):"
for i in "${!pids[@]}"; do
  read -r -a stat < "/proc/${pids[$i]}/stat"
  printf '  %-12s %6.2f\n' "${names[$i]}" "$(echo "scale=2; (${stat[13]} + ${stat[14]}) / $(getconf CLK_TCK)" | bc)"
done
exit $code
