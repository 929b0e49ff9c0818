#!/usr/bin/env bash
# Dominance: one entry point for everything. See ./run.sh --help.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<'USAGE'
Usage: ./run.sh [verb] [arguments]

  [game-folder] [opts]  build and start the server with the built-in game (or a game folder,
                        reloaded live whenever one of its .cs files is saved):
                        telnet 127.0.0.1:4000, web http://127.0.0.1:4001/ (Ctrl-C stops)
                        options: --telnet-port N --http-port N --host ADDR, or any
                        setting as --Section:Key=value (e.g. --Core:IdleTimeout=00:10:00)
  test [filter]         run every test (or those whose name contains filter)
  bench [filter]        run the BenchmarkDotNet suite (or the benchmarks matching filter)
  bench-nats [n] [r]    relay latency through NATS against in process, p50 to max (n messages, r recipients)
                        --floor: also the same shape through nats-server with no relay code (a raw
                        NATS client, NATS.Net); DOMINANCE_BENCH_NATS_SERVER=path picks the nats-server
  load [options]        load a fresh server with real clients and report latency, throughput,
                        server CPU and losses; --baseline compares a hand-written Kestrel server
                        (./run.sh load --help lists the options)
  cluster [--cpu LIST]  try portals in other processes: a local nats-server (port 4222), a core
                        without a portal of its own, and two portals: telnet 4000 and 4010,
                        web http://127.0.0.1:4001/ and :4011/ (Ctrl-C stops all); --cpu 0 runs
                        them all on CPU 0 (taskset), for the NATS hop's latency on a VM
  publish [folder]      build dist/dominance (or folder/dominance): one self-contained executable
                        that needs no .NET installed; copy it anywhere and run it
  --help                this text

Settings also come from appsettings.json in the current folder and from
DOMINANCE__Section__Key environment variables (e.g. DOMINANCE__Portal__TelnetPort=5000).
USAGE
}

# Builds quietly; shows the compiler's output only if the build fails.
build() {
  local log
  log="$(mktemp)"
  if ! dotnet build "$@" -c Release -nologo >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

verb="${1:-}"
case "$verb" in
  -h|--help|help)
    usage
    ;;
  test)
    shift
    # The browser tests check accessibility with axe-core, from npm (Dominance.Tests/package.json and its lock file).
    if [[ ! -f Dominance.Tests/node_modules/axe-core/axe.min.js ]] && command -v npm >/dev/null; then
      npm ci --prefix Dominance.Tests --no-audit --no-fund --loglevel=error >/dev/null ||
        echo "npm ci failed in Dominance.Tests: the accessibility test will say axe-core is missing." >&2
    fi
    filter=()
    if [[ $# -gt 0 ]]; then filter=(--filter "FullyQualifiedName~$1"); fi
    dotnet test Dominance.sln -c Release "${filter[@]}"
    ;;
  bench)
    shift
    build Dominance.Bench
    filter="${1:-*}"
    [[ "$filter" == *"*"* ]] || filter="*${filter}*"
    exec dotnet Dominance.Bench/bin/Release/net10.0/Dominance.Bench.dll --filter "$filter"
    ;;
  bench-nats)
    shift
    build Dominance.Bench
    exec dotnet Dominance.Bench/bin/Release/net10.0/Dominance.Bench.dll nats-relay "$@"
    ;;
  load)
    shift
    build Dominance.Bench
    exec dotnet Dominance.Bench/bin/Release/net10.0/Dominance.Bench.dll load "$@"
    ;;
  cluster)
    shift
    # --cpu LIST: nats-server, the core and the portals all on those CPUs (taskset -c LIST); on a VM whose idle vCPUs
    # halt, one CPU for all three cuts the NATS hop's latency (README: latency on virtual machines).
    pin=()
    rest=()
    while (( $# > 0 )); do
      if [[ "$1" == "--cpu" ]]; then
        pin=(taskset -c "${2:?--cpu needs a CPU list, e.g. --cpu 0}")
        shift 2
      else
        rest+=("$1")
        shift
      fi
    done
    set -- ${rest[@]+"${rest[@]}"}
    if (( ${#pin[@]} > 0 )) && ! "${pin[@]}" true 2>/dev/null; then
      echo "cluster: --cpu ${pin[2]}: not a list of CPUs this machine has (taskset -c ${pin[2]} true failed)" >&2
      exit 2
    fi
    build Dominance
    nats="$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null || true)"
    if [[ -z "$nats" ]]; then
      echo "nats-server is not installed: apt-get install nats-server" >&2
      exit 1
    fi
    # A secret for this run only, shared by the NATS server's password, the core and the portals.
    secret="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    export DOMINANCE__Nats__Url="nats://127.0.0.1:4222" DOMINANCE__Nats__User=dominance \
      DOMINANCE__Nats__Password="$secret" DOMINANCE__Nats__Secret="$secret"
    dll=Dominance/bin/Release/net10.0/dominance.dll
    trap 'trap - EXIT; kill 0 2>/dev/null' EXIT   # at the end, everything this script started (its process group)
    ${pin[@]+"${pin[@]}"} "$nats" -a 127.0.0.1 -p 4222 --user dominance --pass "$secret" 2>&1 | sed -u 's/^/[nats]     /' &
    # The core starts again whenever it dies (kill -9 it to see players stay connected and come back).
    ( while true; do
        code=0
        ${pin[@]+"${pin[@]}"} dotnet "$dll" run --no-local-portal --http-port 4021 "$@" || code=$?
        (( code == 0 || code == 2 )) && break
        echo "the core exited with code $code: starting it again in 1 s"
        sleep 1   # a core that fails at once (bad arguments, a broken build) is not restarted in a tight loop
      done ) 2>&1 | sed -u 's/^/[core]     /' &
    ${pin[@]+"${pin[@]}"} dotnet "$dll" portal --telnet-port 4000 --http-port 4001 2>&1 | sed -u 's/^/[portal A] /' &
    ${pin[@]+"${pin[@]}"} dotnet "$dll" portal --telnet-port 4010 --http-port 4011 2>&1 | sed -u 's/^/[portal B] /' &
    echo "Cluster starting: telnet 127.0.0.1 4000 (portal A) or 4010 (portal B); web http://127.0.0.1:4001/ or :4011/."
    echo "Kill the core (pkill -9 -f 'dominance.dll run --no-local-portal'): players stay connected, and it comes back."
    wait
    ;;
  publish)
    shift
    out="${1:-dist}"
    rid="${DOMINANCE_RID:-linux-x64}"
    log="$(mktemp)"
    if ! dotnet publish Dominance -c Release -r "$rid" --self-contained -nologo \
        -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=false \
        -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=embedded -o "$out" >"$log" 2>&1; then
      cat "$log"
      rm -f "$log"
      exit 1
    fi
    rm -f "$log"
    echo "Built $out/dominance ($rid, $(du -h "$out/dominance" | cut -f1)): a self-contained server. Try: $out/dominance --help"
    ;;
  *)
    build Dominance
    exec dotnet Dominance/bin/Release/net10.0/dominance.dll "$@"
    ;;
esac
