#!/usr/bin/env bash
# bench/proxy.sh - the proxy benchmark: scenarios side by side in one run.
#
#   bench/proxy.sh [--only S1,S2,...] [--upstream sim|nginx] [--repeat N]
#                  [--duration S] [--rate R] [--lat-duration S] [--burn BUSY/PERIOD]
#
# Starts the upstreams (switchyard sim, one worker; nginx returning the sim's
# own answers as static bodies, one worker), the proxies in front of the
# chosen upstream (nginx proxy_pass with upstream keep-alive, one worker;
# Switchyard, one worker, see bench/configs/gateway.yaml; Portkey's gateway,
# node, one thread), then measures each scenario:
#
#   sim             a. direct to the simulator            (upstream=sim)
#   nginx-static       direct to nginx's static body      (upstream=nginx)
#   nginx-proxy     b. nginx proxy_pass in front of the upstream
#   sy-passthrough  c. Switchyard, OpenAI client -> OpenAI upstream (passthrough)
#   sy-translate    d. Switchyard, OpenAI client -> Anthropic upstream
#   sy-passthrough-noaudit, sy-translate-noaudit
#                      the same through a second Switchyard instance with the
#                      audit log off (its own database): what the audit log
#                      costs, measured in the same run
#   sy-passthrough-sqlite, sy-translate-sqlite
#                      the same through a third instance keeping its audit log
#                      in SQLite (c and d keep it where BENCH_AUDIT_STORE says,
#                      by default the append-only audit file): what the store
#                      costs, measured in the same run
#   portkey         e. Portkey's gateway (OpenAI provider, custom host)
#   portkey-translate  Portkey, OpenAI client -> Anthropic upstream (--only)
#
# 1. Saturation: wrk -t1 -c32 (keep-alive) for --duration seconds per
#    scenario, the scenarios interleaved (order rotated each round), --repeat
#    rounds; the median round counts. Throughput ratios are taken within one
#    run, so other load on the machine hits every scenario alike. CPU time
#    per request: utime+stime of the scenario's server processes over the
#    wrk run (/proc/PID/stat) divided by the requests wrk completed.
# 2. Latency at a fixed rate (--rate, default 5000 req/s; Portkey at half its
#    saturation rate when that is lower): build/bench/openloop, open loop with
#    coordinated-omission correction, 32 keep-alive connections, under
#    SCHED_RR when allowed (bench/lib.sh: rt_on). Added latency = the
#    scenario's percentile minus the same percentile direct to the upstream.
# 3. Peak RSS: VmHWM of each scenario's server processes at the end.
#
# --burn BUSY/PERIOD (milliseconds, e.g. 4/30) runs build/bench/burn during
# every saturation round of every scenario: one more thread spinning BUSY ms
# every PERIOD ms, to show how each proxy's throughput reacts to a periodic
# CPU consumer on the same machine (the audit writer is one).
#
# Results: a markdown table on stdout, bench/results/proxy.tsv (one row per
# scenario), bench/results/latency-SCENARIO.tsv (percentile curves for the
# plots), bench/results/proxy-runs.tsv (every round). With BENCH_SMOKE=1
# everything is short and results stay in the temporary directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ONLY="sim,nginx-static,nginx-proxy,sy-passthrough,sy-translate,sy-passthrough-noaudit,sy-translate-noaudit,sy-passthrough-sqlite,sy-translate-sqlite,portkey"
UPSTREAM=sim
REPEAT=3
DURATION=10
WARMUP=2
RATE=5000
LAT_DURATION=10
LAT_WARMUP=1
WRK_THREADS=1
WRK_CONNS=32
OL_CONNS=32
BURN=""
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    REPEAT=1 DURATION=1 WARMUP=0 RATE=1000 LAT_DURATION=0.5 LAT_WARMUP=0.1
    ONLY="sim,nginx-proxy,sy-passthrough,sy-translate"
fi
while [ $# -gt 0 ]; do
    case $1 in
    --only) ONLY=$2; shift 2 ;;
    --upstream) UPSTREAM=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --lat-duration) LAT_DURATION=$2; shift 2 ;;
    --burn) BURN=$2; shift 2 ;;
    *) echo "usage: $0 [--only S,...] [--upstream sim|nginx] [--repeat N] [--duration S] [--rate R] [--lat-duration S] [--burn BUSY/PERIOD]" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a SCEN <<<"$ONLY"
has() { [[ ",$ONLY," == *",$1,"* ]]; }

bench_init proxy
[ "${BENCH_SMOKE:-0}" = 1 ] && BENCH_RESULTS=$BENCH_TMP/results
mkdir -p "$BENCH_RESULTS"
command -v wrk >/dev/null || die "wrk is not installed (sh scripts/deps.sh)"
[ -x "$OPENLOOP" ] || die "no $OPENLOOP (make bench-build)"
BURN_BIN=$BENCH_ROOT/build/bench/burn
if [ -n "$BURN" ]; then
    [[ $BURN =~ ^[0-9.]+/[0-9.]+$ ]] || die "--burn takes BUSY/PERIOD in milliseconds, e.g. 4/30"
    [ -x "$BURN_BIN" ] || die "no $BURN_BIN (make bench-build)"
fi

# ---- servers ----
SIM=$(free_port)
start_sim sim "$SIM"
UPKEY="Authorization: Bearer sk-bench-upstream-key"
# The sim's answers to the two benchmark requests become nginx's static bodies.
curl -sf "http://127.0.0.1:$SIM/v1/chat/completions" -H "$UPKEY" -H 'Content-Type: application/json' \
    --data-binary @"$BENCH_CONF/chat.json" -o "$BENCH_TMP/chat-answer.json" || die "sim: chat request failed"
sed 's/"model":"claude-sonnet"/"model":"claude-sonnet-4-5"/' "$BENCH_CONF/chat-translate.json" >"$BENCH_TMP/messages.json"
curl -sf "http://127.0.0.1:$SIM/v1/messages" -H 'x-api-key: sk-bench-upstream-key' \
    -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \
    --data-binary @"$BENCH_TMP/messages.json" -o "$BENCH_TMP/messages-answer.json" || die "sim: messages request failed"
NGS=$(free_port)
start_nginx_static nginx-static "$NGS" "$BENCH_TMP/chat-answer.json" "$BENCH_TMP/messages-answer.json"
case $UPSTREAM in
sim) UP=$SIM; DIRECT=sim ;;
nginx) UP=$NGS; DIRECT=nginx-static ;;
*) die "--upstream is sim or nginx" ;;
esac
log "upstream: $UPSTREAM on 127.0.0.1:$UP"
if has nginx-proxy; then
    NGP=$(free_port)
    start_nginx_proxy nginx-proxy "$NGP" "$UP"
fi
if has sy-passthrough || has sy-translate; then
    GW=$(free_port)
    start_gateway gateway "$GW" "$UP"
    GW_KEY_MAIN=$GW_KEY
fi
if has sy-passthrough-noaudit || has sy-translate-noaudit; then
    GWN=$(free_port)
    start_gateway gateway-noaudit "$GWN" "$UP" BENCH_AUDIT=false BENCH_DB=switchyard-noaudit
    GW_KEY_NOAUDIT=$GW_KEY
fi
if has sy-passthrough-sqlite || has sy-translate-sqlite; then
    GWS=$(free_port)
    BENCH_AUDIT_STORE=sqlite start_gateway gateway-sqlite "$GWS" "$UP" BENCH_DB=switchyard-sqlite
    GW_KEY_SQLITE=$GW_KEY
fi
if has portkey || has portkey-translate; then
    if { [ "${BENCH_SMOKE:-0}" = 1 ] && [ ! -d "$BENCH_ROOT/bench/node_modules/@portkey-ai/gateway" ]; } ||
        ! portkey_install; then
        log "Portkey's gateway is not available (npm): its scenarios are skipped"
        SCEN=("${SCEN[@]/portkey-translate/}")
        SCEN=("${SCEN[@]/portkey/}")
    else
        PK=$(free_port)
        start_portkey portkey "$PK"
    fi
fi

# ---- scenarios: URL, body, headers, the processes that serve it ----
declare -A URL BODY HDRS PIDS UPPIDS
set_scen() { URL[$1]=$2; BODY[$1]=$3; HDRS[$1]=$4; PIDS[$1]=$5; UPPIDS[$1]=$6; }
SIMP=$(tree_pids "$PID_sim" | tr '\n' ' ')
NGSP=$(tree_pids "$PID_nginx_static" | tr '\n' ' ')
UPP=$SIMP
[ "$UPSTREAM" = nginx ] && UPP=$NGSP
set_scen sim "http://127.0.0.1:$SIM/v1/chat/completions" "$BENCH_CONF/chat.json" "$UPKEY" "$SIMP" ""
set_scen nginx-static "http://127.0.0.1:$NGS/v1/chat/completions" "$BENCH_CONF/chat.json" "$UPKEY" "$NGSP" ""
if [ -n "${NGP:-}" ]; then
    set_scen nginx-proxy "http://127.0.0.1:$NGP/v1/chat/completions" "$BENCH_CONF/chat.json" "$UPKEY" \
        "$(tree_pids "$PID_nginx_proxy" | tr '\n' ' ')" "$UPP"
fi
if [ -n "${GW:-}" ]; then
    set_scen sy-passthrough "http://127.0.0.1:$GW/v1/chat/completions" "$BENCH_CONF/chat.json" \
        "Authorization: Bearer $GW_KEY_MAIN" "$PID_gateway" "$UPP"
    set_scen sy-translate "http://127.0.0.1:$GW/v1/chat/completions" "$BENCH_CONF/chat-translate.json" \
        "Authorization: Bearer $GW_KEY_MAIN" "$PID_gateway" "$UPP"
fi
if [ -n "${GWN:-}" ]; then
    set_scen sy-passthrough-noaudit "http://127.0.0.1:$GWN/v1/chat/completions" "$BENCH_CONF/chat.json" \
        "Authorization: Bearer $GW_KEY_NOAUDIT" "$PID_gateway_noaudit" "$UPP"
    set_scen sy-translate-noaudit "http://127.0.0.1:$GWN/v1/chat/completions" "$BENCH_CONF/chat-translate.json" \
        "Authorization: Bearer $GW_KEY_NOAUDIT" "$PID_gateway_noaudit" "$UPP"
fi
if [ -n "${GWS:-}" ]; then
    set_scen sy-passthrough-sqlite "http://127.0.0.1:$GWS/v1/chat/completions" "$BENCH_CONF/chat.json" \
        "Authorization: Bearer $GW_KEY_SQLITE" "$PID_gateway_sqlite" "$UPP"
    set_scen sy-translate-sqlite "http://127.0.0.1:$GWS/v1/chat/completions" "$BENCH_CONF/chat-translate.json" \
        "Authorization: Bearer $GW_KEY_SQLITE" "$PID_gateway_sqlite" "$UPP"
fi
if [ -n "${PK:-}" ]; then
    set_scen portkey "http://127.0.0.1:$PK/v1/chat/completions" "$BENCH_CONF/chat.json" \
        "$UPKEY|x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:$UP/v1" "$PID_portkey" "$UPP"
    set_scen portkey-translate "http://127.0.0.1:$PK/v1/chat/completions" "$BENCH_TMP/messages.json" \
        "x-api-key: sk-bench-upstream-key|$UPKEY|x-portkey-provider: anthropic|x-portkey-custom-host: http://127.0.0.1:$UP/v1" \
        "$PID_portkey" "$UPP"
fi
ACTIVE=()
for s in "${SCEN[@]}"; do
    [ -n "$s" ] || continue
    [ -n "${URL[$s]:-}" ] || die "unknown scenario $s"
    ACTIVE+=("$s")
done

hdr_args() { # scenario -> curl/openloop -H arguments, one per line
    local IFS='|' h
    for h in ${HDRS[$1]}; do printf -- '-H\n%s\n' "$h"; done
}

# Each scenario answers 200 before anything is measured.
for s in "${ACTIVE[@]}"; do
    mapfile -t H < <(hdr_args "$s")
    code=$(curl -s -o "$BENCH_TMP/check-$s.json" -w '%{http_code}' "${URL[$s]}" "${H[@]}" \
        -H 'Content-Type: application/json' --data-binary @"${BODY[$s]}")
    [ "$code" = 200 ] || die "$s answered $code: $(head -c 300 "$BENCH_TMP/check-$s.json")"
    IFS='|' read -r -a HL <<<"${HDRS[$s]}"
    make_lua "$BENCH_TMP/$s.lua" "${BODY[$s]}" "${HL[@]}"
done
log "scenarios: ${ACTIVE[*]} (answer sizes: $(for s in "${ACTIVE[@]}"; do printf '%s=%s ' "$s" "$(wc -c <"$BENCH_TMP/check-$s.json")"; done))"

# ---- 1. saturation ----
run_wrk() { # scenario seconds -> "rps requests non2xx errors"
    local out
    out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${2}s" --timeout 10s -s "$BENCH_TMP/$1.lua" "${URL[$1]}")
    echo "$out" >>"$BENCH_TMP/wrk-$1.log"
    local rps req non2xx sock
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
    req=$(echo "$out" | awk '/requests in/ {print $1}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    sock=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}')
    echo "${rps:-0} ${req:-0} ${non2xx:-0} ${sock:-0}"
}
if [ "$WARMUP" != 0 ]; then
    for s in "${ACTIVE[@]}"; do
        run_wrk "$s" "$WARMUP" >/dev/null
    done
fi
RUNS=$BENCH_TMP/runs.tsv
printf 'kind\tround\tscenario\trps\trequests\tcpu_us_per_req\tnon2xx\terrors\n' >"$RUNS"
n=${#ACTIVE[@]}
for r in $(seq "$REPEAT"); do
    for i in $(seq 0 $((n - 1))); do
        s=${ACTIVE[$(((i + r - 1) % n))]}
        bpid=""
        if [ -n "$BURN" ]; then
            "$BURN_BIN" --busy "${BURN%/*}" --period "${BURN#*/}" --duration "$(awk -v d="$DURATION" 'BEGIN {print d + 5}')" &
            bpid=$!
        fi
        c0=$(cpu_ticks ${PIDS[$s]})
        read -r rps req non2xx err < <(run_wrk "$s" "$DURATION")
        c1=$(cpu_ticks ${PIDS[$s]})
        if [ -n "$bpid" ]; then kill "$bpid" 2>/dev/null || true; wait "$bpid" 2>/dev/null || true; fi
        cpu=$(awk -v a="$c0" -v b="$c1" -v n="$req" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", n ? (b-a)*1e6/hz/n : 0}')
        printf 'sat\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$rps" "$req" "$cpu" "$non2xx" "$err" >>"$RUNS"
        log "round $r: $s: $rps req/s, $cpu us CPU/request${non2xx:+, non-2xx $non2xx}"
        [ "$non2xx" = 0 ] && [ "$err" = 0 ] || log "warning: $s had $non2xx non-2xx answers and $err socket errors"
    done
done

# ---- 2. latency at a fixed rate ----
median_rps() {
    awk -F'\t' -v s="$1" '$1=="sat" && $3==s {print $4}' "$RUNS" | sort -n |
        awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : 0}'
}
for r in $(seq "$REPEAT"); do
    for i in $(seq 0 $((n - 1))); do
        s=${ACTIVE[$(((i + r - 1) % n))]}
        rate=$RATE
        sat=$(median_rps "$s")
        half=$(awk -v x="$sat" 'BEGIN {printf "%d", x / 2}')
        [ "$half" -lt "$rate" ] && rate=$half
        [ "$rate" -ge 1 ] || rate=1
        mapfile -t H < <(hdr_args "$s")
        rt_on ${PIDS[$s]} ${UPPIDS[$s]}
        out=$(rt_run "$OPENLOOP" --url "${URL[$s]}" --rate "$rate" --duration "$LAT_DURATION" \
            --warmup "$LAT_WARMUP" -c "$OL_CONNS" --body-file "${BODY[$s]}" \
            -H 'Content-Type: application/json' "${H[@]}" --label "$s" \
            --hist "$BENCH_TMP/hist-$s-$r.tsv")
        rt_off ${PIDS[$s]} ${UPPIDS[$s]}
        line=$(echo "$out" | grep '^RESULT')
        kv() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }
        printf 'lat\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$rate" "$(kv p50_us)" \
            "$(kv p90_us)" "$(kv p99_us)" "$(kv p999_us)" "$(kv max_us)" "$(kv errors)" "$(kv backlog)" \
            >>"$BENCH_TMP/lat.tsv"
        log "round $r: $s at $rate req/s: p50 $(kv p50_us) us, p99 $(kv p99_us) us, p99.9 $(kv p999_us) us (errors $(kv errors), backlog $(kv backlog))"
    done
done

# ---- 3. peak RSS ----
for s in "${ACTIVE[@]}"; do
    printf 'rss\t%s\t%s\n' "$s" "$(hwm_kb ${PIDS[$s]})" >>"$BENCH_TMP/rss.tsv"
done

# ---- report ----
cp "$RUNS" "$BENCH_RESULTS/proxy-runs.tsv"
cat "$BENCH_TMP/lat.tsv" >>"$BENCH_RESULTS/proxy-runs.tsv"
python3 "$BENCH_ROOT/bench/report.py" proxy --runs "$RUNS" --lat "$BENCH_TMP/lat.tsv" \
    --rss "$BENCH_TMP/rss.tsv" --direct "$DIRECT" --hist-dir "$BENCH_TMP" --out "$BENCH_RESULTS" \
    --meta "upstream=$UPSTREAM repeat=$REPEAT duration=${DURATION}s wrk=-t$WRK_THREADS/-c$WRK_CONNS rate=$RATE lat_duration=${LAT_DURATION}s${BURN:+ burn=$BURN} rt=$(rt_ok && echo on || echo off) audit=$BENCH_AUDIT audit_store=$BENCH_AUDIT_STORE governance=${BENCH_GOVERNANCE:-0}"
