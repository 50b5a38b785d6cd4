#!/usr/bin/env bash
# bench/streams.sh - many concurrent SSE streams through the gateway.
#
#   bench/streams.sh [--streams N] [--tps T] [--ramp R] [--hold S]
#                    [--via passthrough|translate|nginx] [--no-direct] [--timeout S]
#
# The simulator streams chat completions at T tokens per second (default 20,
# one token per event, BENCH_SIM_TOKENS long so every stream outlives the
# ramp); build/bench/streams opens N streams (default 10,000) at R per
# second and times every event at the client (see bench/streams.c):
#   1. direct: client -> sim (the upstream's own timing and memory);
#   2. through the gateway: client -> switchyard -> sim (passthrough by
#      default; --via translate: an OpenAI client on an Anthropic upstream;
#      --via nginx: nginx proxy_pass instead, for reference).
# Reported per run: time to first token (p50/p99), lateness of every later
# event against the upstream's schedule (p50/p99/p99.9/max) and the events
# more than 10 ms late (stalls), and RSS per stream: (RSS with every stream
# open - RSS before) / N, for the gateway and the sim separately.
#
# File descriptors: each stream holds one descriptor in the client, one in
# the sim, and two in the gateway. The script raises the soft limit to the
# hard one; when 2N descriptors do not fit under it in one process (this
# machine's hard limit is 20,000), the gateway runs as several processes
# sharing the port (SO_REUSEPORT, one worker each), and RSS is their sum.
# Ephemeral ports: when N exceeds the local port range, the client spreads
# its connections over several source addresses in 127.0.0.0/8.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=10000
TPS=20
RAMP=2000
HOLD=12
VIA=passthrough
DIRECT=1
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    N=100 RAMP=1000 HOLD=0
fi
while [ $# -gt 0 ]; do
    case $1 in
    --streams) N=$2; shift 2 ;;
    --tps) TPS=$2; shift 2 ;;
    --ramp) RAMP=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    --via) VIA=$2; shift 2 ;;
    --no-direct) DIRECT=0; shift ;;
    --timeout) TIMEOUT_ARG=$2; shift 2 ;;
    *) echo "usage: $0 [--streams N] [--tps T] [--ramp R] [--hold S] [--via passthrough|translate|nginx] [--no-direct] [--timeout S]" >&2; exit 2 ;;
    esac
done
[ -x "$STREAMS" ] || die "no $STREAMS (make bench-build)"
bench_init streams
[ "${BENCH_SMOKE:-0}" = 1 ] && BENCH_RESULTS=$BENCH_TMP/results
mkdir -p "$BENCH_RESULTS"

# Every stream open at once: it lasts the ramp plus HOLD seconds.
RAMP_S=$(( (N + RAMP - 1) / RAMP ))
TOKENS=$(( (RAMP_S + HOLD) * TPS ))
PERIOD_MS=$(awk -v t="$TPS" 'BEGIN {printf "%.3f", 1000 / t}')
TIMEOUT=${TIMEOUT_ARG:-$(( RAMP_S + HOLD + TOKENS / TPS + 60 ))}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDMAX=$(ulimit -n)
[ "$FDMAX" -ge $((N + 100)) ] || die "ulimit -n is $FDMAX: the client needs $((N + 100))"
GW_PROCS=1
while [ $(( (2 * N) / GW_PROCS + 200 )) -gt "$FDMAX" ]; do GW_PROCS=$((GW_PROCS + 1)); done
GW_WORKERS=$(( GW_PROCS == 1 ? 2 : 1 ))
read -r PLO PHI </proc/sys/net/ipv4/ip_local_port_range
PORTS=$((PHI - PLO + 1))
SOURCES=$(( N * 10 / 8 / PORTS + 1 ))
log "$N streams at $TPS tokens/s ($TOKENS tokens each, ramp ${RAMP}/s), fd limit $FDMAX: gateway as $GW_PROCS process(es) x $GW_WORKERS worker(s); $PORTS ephemeral ports: $SOURCES source address(es)"

SIM=$(free_port)
start_sim sim "$SIM" BENCH_SIM_TPS="$TPS" BENCH_SIM_TOKENS="$TOKENS" BENCH_SIM_WORKERS=2
BODY=$BENCH_CONF/stream.json
[ "$VIA" = translate ] && BODY=$BENCH_CONF/stream-translate.json
# At 20 events/s x 10,000 streams the three processes need most of the
# machine: they run at normal priority (real-time priority would take it from
# everyone else for the whole run). BENCH_STREAMS_RT=1 runs them under
# SCHED_RR, for a machine that is not shared.
RTWRAP=()
if [ "${BENCH_STREAMS_RT:-0}" = 1 ] && rt_ok; then RTWRAP=(chrt -r 10); fi
OUT=$BENCH_TMP/streams.out
: >"$OUT"

run_client() { # label url pid-args... ; extra headers come from HDR
    local label=$1 url=$2
    shift 2
    "${RTWRAP[@]}" "$STREAMS" --url "$url" --body-file "$BODY" -H 'Content-Type: application/json' "${HDR[@]}" \
        --streams "$N" --ramp "$RAMP" --period-ms "$PERIOD_MS" --sources "$SOURCES" \
        --timeout "$TIMEOUT" --label "$label" --hist "$BENCH_RESULTS/lateness-$label.tsv" "$@" |
        tee -a "$OUT" || true
}

if [ "$DIRECT" = 1 ]; then
    HDR=(-H 'Authorization: Bearer sk-bench-upstream-key')
    b=$BODY
    BODY=$BENCH_CONF/stream.json
    log "direct to the sim"
    run_client direct "http://127.0.0.1:$SIM/v1/chat/completions" --pid "sim=$PID_sim"
    BODY=$b
    sleep 2
fi

PORT=$(free_port)
PIDARGS=()
case $VIA in
passthrough | translate)
    for i in $(seq "$GW_PROCS"); do
        start_gateway "gateway$i" "$PORT" "$SIM" BENCH_GW_WORKERS="$GW_WORKERS" BENCH_MAX_CONNS=$((N + 1000))
        v="PID_gateway$i"
        PIDARGS+=(--pid "gateway=${!v}")
    done
    HDR=(-H "Authorization: Bearer $GW_KEY")
    ;;
nginx)
    start_nginx_proxy nginx "$PORT" "$SIM" 2
    for p in $(tree_pids "$PID_nginx"); do PIDARGS+=(--pid "nginx=$p"); done
    HDR=(-H 'Authorization: Bearer sk-bench-upstream-key')
    ;;
*) die "--via is passthrough, translate or nginx" ;;
esac
PIDARGS+=(--pid "sim=$PID_sim")
if [ ${#RTWRAP[@]} -gt 0 ]; then
    for a in "${PIDARGS[@]}"; do [[ $a == *=* ]] && rt_on "${a#*=}"; done
fi
sleep 1
log "through $VIA"
run_client "$VIA" "http://127.0.0.1:$PORT/v1/chat/completions" "${PIDARGS[@]}"

echo
python3 "$BENCH_ROOT/bench/report.py" streams --in "$OUT" | tee "$BENCH_TMP/table.md"
{
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) N=$N tps=$TPS tokens=$TOKENS ramp=$RAMP via=$VIA gateway_procs=$GW_PROCS workers=$GW_WORKERS sources=$SOURCES rt=${BENCH_STREAMS_RT:-0} audit=$BENCH_AUDIT audit_store=$BENCH_AUDIT_STORE"
    grep -E '^(RESULT|RSS) ' "$OUT"
} >"$BENCH_RESULTS/streams-$VIA.txt"
