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
  load [options]        load a fresh server with real clients and report latency, throughput,
                        server CPU and losses; --baseline compares a hand-written Kestrel server
                        (./run.sh load --help lists the options)
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
  load)
    shift
    build Dominance.Bench
    exec dotnet Dominance.Bench/bin/Release/net10.0/Dominance.Bench.dll load "$@"
    ;;
  publish)
    shift
    out="${1:-dist}"
    rid="${DOMINANCE_RID:-linux-x64}"
    log="$(mktemp)"
    if ! dotnet publish Dominance -c Release -r "$rid" --self-contained -nologo \
        -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true \
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
