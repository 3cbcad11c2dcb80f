#!/usr/bin/env bash
# End-to-end benchmark (make bench): the trivial-handler ceiling, then leadhouse at max rate and at
# half of it open-loop, with production defaults (auth on, WAL sync=always), in two deployments:
#   child     `serve` with its engine process (the default: no LEADHOUSE_CLICKHOUSE_ADDR)
#   external  `serve` writing to an engine started on its own (`leadhouse engine`), as to a server
#   cluster   `serve` writing to three `leadhouse engine` processes, the shards of one cluster
#             (LEADHOUSE_CLICKHOUSE_CLUSTER): every table Distributed by lead_id over them
# The per-credential rate limit is off, since one token carries the whole load.
# For each run it reports callbacks/s, p99, and CPU seconds per 1,000 callbacks and peak RSS of the
# leadhouse process and of the engine process separately, and checks that every acknowledged
# callback reached the store. Then the replay and query benchmarks. Prints every run and the
# medians. Figures, not assertions: this machine is shared and noisy.
# The views are timed on one engine and on the three-shard cluster, over the same callbacks.
# RUNS=0, REPLAY_N=0 or QUERY_N=0 skips that part; MODES="child" runs one deployment;
# QUERY_ON="single" times the views on one engine only.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/leadhouse}
RUNS=${RUNS:-3}
DUR=${DUR:-10s}
CONNS=${CONNS:-32}
MODES=${MODES:-child external cluster}
QUERY_ON=${QUERY_ON:-single cluster}
REPLAY_N=${REPLAY_N:-200000}
QUERY_N=${QUERY_N:-1000000}
# SERVE_ENV adds settings to the server, e.g. SERVE_ENV=LEADHOUSE_WAL_SYNC=interval.
SERVE_ENV=${SERVE_ENV:-}
TOKEN=bench-token-0123456789
# The cluster's nodes share leadhouse's password: their Distributed tables log in to each other.
CLUSTER_PW=bench-cluster-password-0123
work=$(mktemp -d /tmp/leadhouse-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\)\([a-zµ]*\).*/\1 \2/p" | awk '{v=$1; u=$2; if (u=="µs") v/=1000; else if (u=="s") v*=1000; printf "%.3f\n", v}'; }
# cpu PID: user+system CPU seconds the process has used (clock ticks of 1/100 s).
cpu() { awk '{i=index($0, ") "); split(substr($0, i+2), f, " "); printf "%.2f\n", (f[12]+f[13])/100}' /proc/"$1"/stat; }
hwm() { awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/"$1"/status; }
per1k() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {if (n > 0) printf "%.3f", 1000*(b-a)/n; else print "n/a"}'; }
enginepid() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$1/engine/state.json"; }

# ports N: N free TCP ports on 127.0.0.1.
ports() { python3 -c 'import socket,sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"; }

# start CMD DATADIR [ENV...]: runs `leadhouse CMD` in the background, waits for its address and
# sets $base to its URL. (Not run as $(start ...): the subshell would wait for the server.)
start() {
  local cmd=$1 dir=$2 addr
  shift 2
  mkdir -p "$dir"
  env LEADHOUSE_DATA_DIR="$dir" LEADHOUSE_LISTEN=127.0.0.1:0 LEADHOUSE_TOKEN=$TOKEN LEADHOUSE_RATE_LIMIT=0 LEADHOUSE_LOG_FORMAT=json "$@" \
    "$BIN" "$cmd" >/dev/null 2>"$dir.log" &
  echo $! >"$dir.pid"
  for _ in $(seq 1 1200); do
    addr=$(sed -n 's/.*"msg":"serving callbacks".*"addr":"\([^"]*\)".*/\1/p' "$dir.log" | head -1)
    if [ -n "$addr" ]; then base="http://$addr"; return; fi
    sleep 0.1
  done
  echo "bench: $cmd did not start:" >&2; cat "$dir.log" >&2; exit 1
}
# engine DATADIR HTTPPORT NATIVEPORT [ENV...]: runs `leadhouse engine` in the background until it
# serves.
engine() {
  mkdir -p "$1"
  env LEADHOUSE_DATA_DIR="$1" LEADHOUSE_ENGINE_HTTP_PORT="$2" LEADHOUSE_ENGINE_NATIVE_PORT="$3" LEADHOUSE_LOG_FORMAT=json "${@:4}" \
    "$BIN" engine >/dev/null 2>"$1.log" &
  echo $! >"$1.pid"
  for _ in $(seq 1 1200); do
    [ -s "$1/engine/state.json" ] && return
    sleep 0.1
  done
  echo "bench: engine did not start:" >&2; cat "$1.log" >&2; exit 1
}
stop() { kill -TERM "$(cat "$1.pid")"; wait "$(cat "$1.pid")" 2>/dev/null || true; }
# cluster DIR: starts three engines as the shards of cluster lh in DIR/n1..n3 and sets $cenv to
# what serve, replay and query need to write to and read from it.
cluster() {
  local hps=() nps=() i
  read -r -a all <<<"$(ports 6)"
  hps=("${all[@]:0:3}"); nps=("${all[@]:3:3}")
  local nodes="127.0.0.1:${nps[0]};127.0.0.1:${nps[1]};127.0.0.1:${nps[2]}"
  for i in 1 2 3; do
    engine "$1/n$i" "${hps[$((i-1))]}" "${nps[$((i-1))]}" LEADHOUSE_CLICKHOUSE_CLUSTER=lh LEADHOUSE_ENGINE_CLUSTER_NODES="$nodes" \
      LEADHOUSE_ENGINE_SHARD=$i LEADHOUSE_ENGINE_PASSWORD=$CLUSTER_PW
  done
  cenv="LEADHOUSE_CLICKHOUSE_ADDR=127.0.0.1:${hps[0]},127.0.0.1:${hps[1]},127.0.0.1:${hps[2]} LEADHOUSE_CLICKHOUSE_CLUSTER=lh LEADHOUSE_CLICKHOUSE_USERNAME=leadhouse LEADHOUSE_CLICKHOUSE_PASSWORD=$CLUSTER_PW"
}
stopcluster() { for i in 1 2 3; do stop "$1/n$i"; done; }
# clustercpu DIR: CPU seconds of the three engines together.
clustercpu() { for i in 1 2 3; do cpu "$(enginepid "$1/n$i")"; done | awk '{s+=$1} END {printf "%.2f\n", s}'; }
clusterhwm() { for i in 1 2 3; do hwm "$(enginepid "$1/n$i")"; echo; done | awk '{s+=$1} END {printf "%.0f", s}'; }
load() { "$BIN" loadgen -token "$TOKEN" -conns "$CONNS" -duration "$DUR" -unique "$@"; }
rate() { sed -n 's/.*throughput: \([0-9.]*\) callbacks.*/\1/p' "$1"; }
acked() { sed -n 's/.*status:.*202=\([0-9]*\).*/\1/p' "$1" | awk '{s+=$1} END {print s+0}'; }

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
if [ "$RUNS" -gt 0 ]; then
echo "== $RUNS runs of $DUR per phase, $CONNS connections, generated bodies (gen pool of 1000, each request made unique)"
echo "   CPU s/1k: CPU seconds per 1,000 acknowledged callbacks, of the leadhouse process (lh) and of the engine process (eng; cluster: the three together) apart"
for run in $(seq 1 "$RUNS"); do
  c="$work/ceiling$run"; start ceiling "$c"
  load -url "$base/v1/callbacks" >"$c.out"; stop "$c"
  ceil=$(rate "$c.out")
  echo "run $run: ceiling $ceil/s (p99 $(field p99 <"$c.out" | head -1)ms)"
  echo "$ceil" >>"$work/ceil"
  for mode in $MODES; do
    d="$work/$mode$run"; e=""
    read -r hp np <<<"$(ports 2)"
    if [ "$mode" = external ]; then
      e="$work/engine$run"; engine "$e" "$hp" "$np"
      start serve "$d" LEADHOUSE_CLICKHOUSE_ADDR="127.0.0.1:$hp" LEADHOUSE_CLICKHOUSE_USERNAME=leadhouse \
        LEADHOUSE_CLICKHOUSE_PASSWORD="$(cat "$e/engine/leadhouse.password")" $SERVE_ENV
    elif [ "$mode" = cluster ]; then
      e="$work/cluster$run"; cluster "$e"
      # shellcheck disable=SC2086 # $cenv is several assignments
      start serve "$d" $cenv $SERVE_ENV
    else
      start serve "$d" LEADHOUSE_ENGINE_HTTP_PORT="$hp" LEADHOUSE_ENGINE_NATIVE_PORT="$np" $SERVE_ENV
    fi
    # Ready, not degraded: serve answers at once and writes once its store is migrated.
    until curl -s "$base/readyz" | grep -q '"status":"ready"'; do sleep 0.1; done
    lpid=$(cat "$d.pid")
    if [ "$mode" = cluster ]; then
      ecpu() { clustercpu "$e"; }; ehwm() { clusterhwm "$e"; }
    else
      epid=$(enginepid "${e:-$d}")
      ecpu() { cpu "$epid"; }; ehwm() { hwm "$epid"; }
    fi
    l0=$(cpu "$lpid"); e0=$(ecpu)
    load -url "$base/v1/callbacks" >"$d.max"
    l1=$(cpu "$lpid"); e1=$(ecpu)
    max=$(rate "$d.max"); max_p99=$(field p99 <"$d.max" | head -1); n1=$(acked "$d.max")
    half=$(awk -v m="$max" 'BEGIN {printf "%d", m/2}')
    load -url "$base/v1/callbacks" -rate "$half" >"$d.half"
    l2=$(cpu "$lpid"); e2=$(ecpu)
    half_p99=$(field p99 <"$d.half" | head -1); n2=$(acked "$d.half")
    lrss=$(hwm "$lpid"); erss=$(ehwm)
    stop "$d"
    if [ "$mode" = cluster ]; then
      # shellcheck disable=SC2086
      stored=$(env $cenv LEADHOUSE_DATA_DIR="$d" "$BIN" query "SELECT count() FROM lead_updates_dedup" 2>/dev/null)
      stopcluster "$e"
    else
      stored=$(LEADHOUSE_DATA_DIR=${e:-$d} "$BIN" query "SELECT count() FROM lead_updates_dedup" 2>/dev/null)
      [ -n "$e" ] && stop "$e"
    fi
    acked_all=$((n1 + n2))
    check=OK; [ "$acked_all" = "$stored" ] || check="MISMATCH"
    lmax=$(per1k "$l0" "$l1" "$n1"); emax=$(per1k "$e0" "$e1" "$n1")
    lhalf=$(per1k "$l1" "$l2" "$n2"); ehalf=$(per1k "$e1" "$e2" "$n2")
    ratio=$(awk -v a="$max" -v b="$ceil" 'BEGIN {printf "%.1f", 100*a/b}')
    echo "  $mode: max $max/s = ${ratio}% of ceiling, p99 ${max_p99}ms, CPU s/1k lh $lmax eng $emax | half rate $half/s: p99 ${half_p99}ms, CPU s/1k lh $lhalf eng $ehalf | peak RSS lh ${lrss} MiB eng ${erss} MiB | acked $acked_all stored $stored $check"
    for k in max:$max ratio:$ratio p99:$half_p99 maxp99:$max_p99 lmax:$lmax emax:$emax lhalf:$lhalf ehalf:$ehalf lrss:$lrss erss:$erss; do
      echo "${k#*:}" >>"$work/$mode.${k%%:*}"
    done
  done
done
echo "median: ceiling $(median <"$work/ceil")/s"
for mode in $MODES; do
  m() { median <"$work/$mode.$1"; }
  echo "median $mode: $(m max)/s = $(m ratio)% of ceiling, p99 $(m maxp99) ms at max, $(m p99) ms at half rate; CPU s per 1,000 callbacks at max: leadhouse $(m lmax), engine $(m emax); at half rate: leadhouse $(m lhalf), engine $(m ehalf); peak RSS leadhouse $(m lrss) MiB, engine $(m erss) MiB"
done
fi

if [ "$REPLAY_N" -gt 0 ]; then
echo "== replay: $REPLAY_N generated callbacks from NDJSON through flatten -> WAL -> batches -> an engine process"
"$BIN" gen -n "$REPLAY_N" -seed 1 -o "$work/replay.ndjson"
for run in $(seq 1 "$RUNS"); do
  LEADHOUSE_DATA_DIR="$work/replay$run" LEADHOUSE_LOG_LEVEL=warn "$BIN" replay "$work/replay.ndjson" | tee -a "$work/replay.out"
  rm -rf "$work/replay$run"
done
echo "median: $(sed -n 's/.*: \([0-9]*\) callbacks\/s.*/\1/p' "$work/replay.out" | median) callbacks/s, $(sed -n 's/.*, \([0-9]*\) rows\/s.*/\1/p' "$work/replay.out" | median) rows/s"
fi

[ "$QUERY_N" -gt 0 ] || exit 0
echo "== views over $QUERY_N generated callbacks (replayed in), on: $QUERY_ON"
for on in $QUERY_ON; do
  q="$work/query-$on"; qenv=""
  if [ "$on" = cluster ]; then cluster "$q"; qenv=$cenv; fi
  # Streamed: a million bodies are ~7 GB of NDJSON.
  # shellcheck disable=SC2086
  "$BIN" gen -n "$QUERY_N" -seed 2 -leads 100000 -o - |
    env $qenv LEADHOUSE_DATA_DIR="$q" LEADHOUSE_LOG_LEVEL=warn "$BIN" replay - | sed "s/^/$on: /"
  # Each query runs 5 times (`leadhouse query -time 5`): on one engine the command starts its own,
  # so the first run is cold (nothing cached); on the cluster the nodes have just taken the
  # replay. The median of runs 2-5 is warm. The first three are issue 14's targets, read from
  # the state tables; the last two read every stored callback at query time.
  for sql in "SELECT lead_status, count() FROM leads_current GROUP BY lead_status" \
             "SELECT * FROM leads_current WHERE lead_id = 1400042" \
             "SELECT scenario, sum(callbacks) FROM scenario_counts WHERE day_ist >= '2019-04-01' AND day_ist < '2019-05-01' GROUP BY scenario" \
             "SELECT lead_status, callbacks FROM leads_current WHERE lead_id = 1400042" \
             "SELECT scenario, count() FROM lead_scenarios GROUP BY scenario"; do
    # shellcheck disable=SC2086
    env $qenv LEADHOUSE_DATA_DIR="$q" LEADHOUSE_LOG_LEVEL=warn "$BIN" query -time 5 "$sql" 2>"$work/times" >/dev/null
    cold=$(sed -n 's/^run 1: //p' "$work/times")
    warm=$(sed -n 's/^run [2-5]: \([0-9.]*\)\(m\?s\)$/\1 \2/p' "$work/times" | awk '{v=$1; if ($2=="s") v*=1000; print v}' | median)
    echo "$on: $sql: first $cold, warm median ${warm} ms"
  done
  if [ "$on" = cluster ]; then stopcluster "$q"; fi
done
