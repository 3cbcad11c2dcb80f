#!/usr/bin/env bash
# End-to-end benchmark (make bench): the trivial-handler ceiling, then leadhouse at max rate and at
# half of it open-loop, on the embedded engine with production defaults (auth on, WAL sync=always;
# the per-credential rate limit off, since one token carries the whole load), checking that every
# acknowledged callback reached the store; then the replay and query benchmarks.
# Prints every run and the medians. Figures, not assertions: this machine is shared and noisy.
# RUNS=0, REPLAY_N=0 or QUERY_N=0 skips that part.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/leadhouse}
RUNS=${RUNS:-3}
DUR=${DUR:-10s}
CONNS=${CONNS:-32}
REPLAY_N=${REPLAY_N:-200000}
QUERY_N=${QUERY_N:-1000000}
# SERVE_ENV adds settings to the server, e.g. SERVE_ENV=LEADHOUSE_WAL_SYNC=interval.
SERVE_ENV=${SERVE_ENV:-}
TOKEN=bench-token-0123456789
work=$(mktemp -d /tmp/leadhouse-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\)\([a-zµ]*\).*/\1 \2/p" | awk '{v=$1; u=$2; if (u=="µs") v/=1000; else if (u=="s") v*=1000; printf "%.3f\n", v}'; }

# start CMD DATADIR [ENV...]: runs `leadhouse CMD` in the background, waits for its address and
# sets $base to its URL. (Not run as $(start ...): the subshell would wait for the server.)
start() {
  local cmd=$1 dir=$2 addr
  shift 2
  mkdir -p "$dir"
  env LEADHOUSE_DATA_DIR="$dir" LEADHOUSE_LISTEN=127.0.0.1:0 LEADHOUSE_TOKEN=$TOKEN LEADHOUSE_RATE_LIMIT=0 LEADHOUSE_LOG_FORMAT=json "$@" \
    "$BIN" "$cmd" >/dev/null 2>"$dir.log" &
  echo $! >"$dir.pid"
  for _ in $(seq 1 600); do
    addr=$(sed -n 's/.*"msg":"serving callbacks".*"addr":"\([^"]*\)".*/\1/p' "$dir.log" | head -1)
    if [ -n "$addr" ]; then base="http://$addr"; return; fi
    sleep 0.1
  done
  echo "bench: $cmd did not start:" >&2; cat "$dir.log" >&2; exit 1
}
stop() { kill -TERM "$(cat "$1.pid")"; wait "$(cat "$1.pid")" 2>/dev/null || true; }
load() { "$BIN" loadgen -token "$TOKEN" -conns "$CONNS" -duration "$DUR" -unique "$@"; }

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
if [ "$RUNS" -gt 0 ]; then
echo "== $RUNS runs of $DUR, $CONNS connections, generated bodies (gen pool of 1000, each request made unique)"
for run in $(seq 1 "$RUNS"); do
  c="$work/ceiling$run"; start ceiling "$c"
  load -url "$base/v1/callbacks" >"$c.out"; stop "$c"
  ceil=$(sed -n 's/.*throughput: \([0-9.]*\) callbacks.*/\1/p' "$c.out")
  ceil_p99=$(field p99 <"$c.out" | head -1)

  d="$work/leadhouse$run"; start serve "$d" $SERVE_ENV
  until curl -sf "$base/readyz" >/dev/null; do sleep 0.1; done
  load -url "$base/v1/callbacks" >"$d.max"
  max=$(sed -n 's/.*throughput: \([0-9.]*\) callbacks.*/\1/p' "$d.max")
  max_p99=$(field p99 <"$d.max" | head -1)
  half=$(awk -v m="$max" 'BEGIN {printf "%d", m/2}')
  load -url "$base/v1/callbacks" -rate "$half" >"$d.half"
  half_p99=$(field p99 <"$d.half" | head -1)
  rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/"$(cat "$d.pid")"/status)
  stop "$d"
  acked=$(cat "$d.max" "$d.half" | sed -n 's/.*status:.*202=\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s}')
  stored=$(LEADHOUSE_DATA_DIR=$d "$BIN" query "SELECT count() FROM lead_updates_dedup")
  check=OK; [ "$acked" = "$stored" ] || check="MISMATCH"
  ratio=$(awk -v a="$max" -v b="$ceil" 'BEGIN {printf "%.1f", 100*a/b}')
  echo "run $run: ceiling $ceil/s (p99 ${ceil_p99}ms) | leadhouse max $max/s (p99 ${max_p99}ms) = ${ratio}% of ceiling | open loop at $half/s p99 ${half_p99}ms | peak RSS ${rss} MiB | acked $acked stored $stored $check"
  echo "$ceil" >>"$work/ceil"; echo "$max" >>"$work/max"; echo "$ratio" >>"$work/ratio"; echo "$half_p99" >>"$work/p99"; echo "$rss" >>"$work/rss"
done
echo "median: ceiling $(median <"$work/ceil")/s, leadhouse $(median <"$work/max")/s = $(median <"$work/ratio")% of ceiling, p99 at half rate $(median <"$work/p99") ms, peak RSS $(median <"$work/rss") MiB"
fi

if [ "$REPLAY_N" -gt 0 ]; then
echo "== replay: $REPLAY_N generated callbacks from NDJSON through flatten -> WAL -> batches -> embedded engine"
"$BIN" gen -n "$REPLAY_N" -seed 1 -o "$work/replay.ndjson"
for run in $(seq 1 "$RUNS"); do
  LEADHOUSE_DATA_DIR="$work/replay$run" LEADHOUSE_LOG_LEVEL=warn "$BIN" replay "$work/replay.ndjson" | tee -a "$work/replay.out"
  rm -rf "$work/replay$run"
done
echo "median: $(sed -n 's/.*: \([0-9]*\) callbacks\/s.*/\1/p' "$work/replay.out" | median) callbacks/s, $(sed -n 's/.*, \([0-9]*\) rows\/s.*/\1/p' "$work/replay.out" | median) rows/s"
fi

[ "$QUERY_N" -gt 0 ] || exit 0
echo "== views over $QUERY_N generated callbacks"
"$BIN" gen -n "$QUERY_N" -seed 2 -leads 100000 -o "$work/query.ndjson"
q="$work/query"
LEADHOUSE_DATA_DIR=$q LEADHOUSE_LOG_LEVEL=warn "$BIN" replay "$work/query.ndjson"
rm -f "$work/query.ndjson"
# Each query runs 5 times in one process (`leadhouse query -time 5`): the first run is cold (the
# engine just started, nothing cached), the median of the other four is the warm figure.
for sql in "SELECT scenario, count() FROM lead_scenarios GROUP BY scenario" \
           "SELECT * FROM leads_current WHERE lead_id = 1400042"; do
  LEADHOUSE_DATA_DIR=$q "$BIN" query -time 5 "$sql" 2>"$work/times" >/dev/null
  cold=$(sed -n 's/^run 1: //p' "$work/times")
  warm=$(sed -n 's/^run [2-5]: \([0-9.]*\)\(m\?s\)$/\1 \2/p' "$work/times" | awk '{v=$1; if ($2=="s") v*=1000; print v}' | median)
  echo "$sql: cold $cold, warm median ${warm} ms"
done
