#!/usr/bin/env bash
# bench/ipr.sh - user-space instructions per request under callgrind.
#
#   bench/ipr.sh [--only S1,S2,...] [--requests N] [--connections C] [--no-record]
#
# Deterministic figures (the same binary and request give the same count,
# whatever else the machine is doing), so a regression shows as a number
# that moved. For each scenario the server process runs under
#   valgrind --tool=callgrind (every thread counted: workers, the audit and
#   store writers, the access log)
# and build/bench/openloop sends requests from outside valgrind:
#   1. W warm-up requests (pools connected, caches filled), then a dump;
#   2. 2 s with no requests, then a dump: the idle cost per second (timers);
#   3. N requests, C at a time, then a dump.
# instructions/request = (dump 3 - idle per second x its duration) / N.
#
#   sy-passthrough  switchyard serve (bench/configs/gateway.yaml), OpenAI -> OpenAI
#   sy-translate    the same, OpenAI -> Anthropic
#   nginx-proxy     nginx proxy_pass (master_process off, one process)
#   sim             switchyard sim answering the chat request directly
#   nginx-static    nginx returning the static body
# The upstream of the proxies is the sim, outside valgrind.
#
# With BENCH_AUDIT=false the Switchyard rows are named sy-...-noaudit; with the
# audit log in the append-only audit file (BENCH_AUDIT_STORE=file, the default)
# sy-...-auditfile; sy-passthrough and sy-translate are the audit log in
# SQLite (BENCH_AUDIT_STORE=sqlite), as every row before the audit file was.
#
# Appends one row per scenario to bench/results/ipr.tsv:
#   date commit scenario requests instructions_per_request connections
# (commit: git HEAD of this tree, "-dirty" when src/ has changes; override
# with BENCH_COMMIT).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ONLY="sy-passthrough,sy-translate,nginx-proxy,sim,nginx-static"
N=2000
W=200
CONNS=1
RECORD=1
IDLE=2
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    ONLY="sy-passthrough"
    N=20 W=3 RECORD=0 IDLE=0.3
fi
while [ $# -gt 0 ]; do
    case $1 in
    --only) ONLY=$2; shift 2 ;;
    --requests) N=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --no-record) RECORD=0; shift ;;
    *) echo "usage: $0 [--only S,...] [--requests N] [--connections C] [--no-record]" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || die "valgrind is not installed (sh scripts/deps.sh)"
bench_init ipr
COMMIT=${BENCH_COMMIT:-$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ -z "${BENCH_COMMIT:-}" ] && ! git -C "$BENCH_ROOT" diff --quiet HEAD -- src 2>/dev/null; then
    COMMIT="$COMMIT-dirty"
fi

SIM=$(free_port)
start_sim sim "$SIM"
UPKEY="Authorization: Bearer sk-bench-upstream-key"
curl -sf "http://127.0.0.1:$SIM/v1/chat/completions" -H "$UPKEY" -H 'Content-Type: application/json' \
    --data-binary @"$BENCH_CONF/chat.json" -o "$BENCH_TMP/chat-answer.json"
sed 's/"model":"claude-sonnet"/"model":"claude-sonnet-4-5"/' "$BENCH_CONF/chat-translate.json" >"$BENCH_TMP/messages.json"
curl -sf "http://127.0.0.1:$SIM/v1/messages" -H 'x-api-key: sk-bench-upstream-key' \
    -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \
    --data-binary @"$BENCH_TMP/messages.json" -o "$BENCH_TMP/messages-answer.json"

VG=(valgrind --tool=callgrind --collect-atstart=yes --dump-instr=no)

# Total instructions (Ir) in a callgrind output file.
ir_of() { awk '/^summary:/ {print $2} /^totals:/ {t=$2} END {if (t) print t}' "$1" | head -1; }

# measure NAME PID URL BODY HEADER...: the three phases against a process
# already running under callgrind with --callgrind-out-file=$BENCH_TMP/cg-NAME.%p.
measure() {
    local name=$1 pid=$2 url=$3 body=$4
    shift 4
    local H=() h
    for h in "$@"; do H+=(-H "$h"); done
    "$OPENLOOP" --url "$url" --requests "$W" -c "$CONNS" --body-file "$body" \
        -H 'Content-Type: application/json' "${H[@]}" --label warm --quiet >/dev/null
    callgrind_control -d "$pid" >/dev/null 2>&1
    local t0 t1 t2
    t0=$(date +%s.%N)
    sleep "$IDLE"
    callgrind_control -d "$pid" >/dev/null 2>&1
    t1=$(date +%s.%N)
    local out
    out=$("$OPENLOOP" --url "$url" --requests "$N" -c "$CONNS" --body-file "$body" \
        -H 'Content-Type: application/json' "${H[@]}" --label "$name" --quiet)
    callgrind_control -d "$pid" >/dev/null 2>&1
    t2=$(date +%s.%N)
    local ok
    ok=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="ok" {print $2}')
    [ "$ok" = "$N" ] || die "$name: only $ok of $N requests succeeded"
    # dumps are numbered .1 .2 .3 in the order taken
    local files
    mapfile -t files < <(ls -1 "$BENCH_TMP"/cg-"$name".*.[0-9]* | awk -F. '{print $NF "\t" $0}' |
        sort -n | cut -f2)
    local idle run
    idle=$(ir_of "${files[1]}")
    run=$(ir_of "${files[2]}")
    python3 -c "
idle, run, n = $idle, $run, $N
idle_s = $t1 - $t0
run_s = $t2 - $t1
ipr = (run - idle / idle_s * run_s) / n
print('%s\t%.0f\t%.0f\t%.0f' % ('$name', ipr, run / n, idle / idle_s))" >>"$BENCH_TMP/ipr.rows"
    log "$name: $(tail -1 "$BENCH_TMP/ipr.rows" | cut -f2) instructions/request ($N requests, $CONNS at a time)"
}

stop_pid() { # a server started with start_bg: SIGTERM, wait, so callgrind writes its last file
    kill -TERM "$1" 2>/dev/null || true
    local i
    for i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

has() { [[ ",$ONLY," == *",$1,"* ]]; }

if has sy-passthrough || has sy-translate; then
    GW=$(free_port)
    start_gateway gw "$GW" "$SIM" "${VG[@]}" --callgrind-out-file="$BENCH_TMP/cg-gw.%p"
    # The same process serves both: passthrough first, then translation; each
    # gets its own dumps (files renamed after the fact).
    for s in sy-passthrough sy-translate; do
        has "$s" || continue
        body=$BENCH_CONF/chat.json
        [ "$s" = sy-translate ] && body=$BENCH_CONF/chat-translate.json
        rm -f "$BENCH_TMP"/cg-gw.*.[0-9]*
        measure gw "$PID_gw" "http://127.0.0.1:$GW/v1/chat/completions" "$body" "Authorization: Bearer $GW_KEY"
        label=$s
        [ "$BENCH_AUDIT" != false ] && [ "$BENCH_AUDIT_STORE" = file ] && label=$s-auditfile
        [ "$BENCH_AUDIT" = false ] && label=$s-noaudit
        sed -i "\$s/^gw\t/$label\t/" "$BENCH_TMP/ipr.rows"
        mkdir -p "$BENCH_TMP/keep-$s"
        mv "$BENCH_TMP"/cg-gw.*.[0-9]* "$BENCH_TMP/keep-$s/"
    done
    stop_pid "$PID_gw"
fi
if has nginx-proxy; then
    NGP=$(free_port)
    start_nginx_proxy ngp "$NGP" "$SIM" 1 off "${VG[@]}" --callgrind-out-file="$BENCH_TMP/cg-nginx-proxy.%p"
    measure nginx-proxy "$PID_ngp" "http://127.0.0.1:$NGP/v1/chat/completions" "$BENCH_CONF/chat.json" "$UPKEY"
    stop_pid "$PID_ngp"
fi
if has sim; then
    SIM2=$(free_port)
    start_bg simvg env BENCH_SIM_PORT="$SIM2" "${VG[@]}" --callgrind-out-file="$BENCH_TMP/cg-sim.%p" \
        "$SY" sim -c "$BENCH_CONF/sim.yaml"
    wait_port "$SIM2" 60 || die "sim under valgrind did not start"
    measure sim "$PID_simvg" "http://127.0.0.1:$SIM2/v1/chat/completions" "$BENCH_CONF/chat.json" "$UPKEY"
    stop_pid "$PID_simvg"
fi
if has nginx-static; then
    NGS=$(free_port)
    ng=$(nginx_bin)
    mkdir -p "$BENCH_TMP/nginx"
    nginx_quote "$BENCH_TMP/chat-answer.json" >"$BENCH_TMP/nginx/c.q"
    nginx_quote "$BENCH_TMP/messages-answer.json" >"$BENCH_TMP/nginx/m.q"
    render_nginx "$BENCH_ROOT/bench/nginx/static.conf.in" "$BENCH_TMP/nginx/ngs.conf" \
        "LISTEN=127.0.0.1:$NGS" WORKERS=1 MASTER=off \
        "CHAT_BODY=@file:$BENCH_TMP/nginx/c.q" "MESSAGES_BODY=@file:$BENCH_TMP/nginx/m.q"
    start_bg ngs "${VG[@]}" --callgrind-out-file="$BENCH_TMP/cg-nginx-static.%p" \
        "$ng" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/ngs.conf" -e stderr
    wait_port "$NGS" 60 || die "nginx under valgrind did not start"
    measure nginx-static "$PID_ngs" "http://127.0.0.1:$NGS/v1/chat/completions" "$BENCH_CONF/chat.json" "$UPKEY"
    stop_pid "$PID_ngs"
fi

echo
echo "| scenario | instructions / request | (raw, idle not subtracted) | idle instructions / s |"
echo "|---|---:|---:|---:|"
while IFS=$'\t' read -r s ipr raw idle; do
    printf '| %s | %s | %s | %s |\n' "$s" "$(printf "%'d" "$ipr")" "$(printf "%'d" "$raw")" "$(printf "%'d" "$idle")"
done <"$BENCH_TMP/ipr.rows"
echo "commit $COMMIT, $N requests per scenario, $CONNS at a time"
if [ "$RECORD" = 1 ]; then
    mkdir -p "$BENCH_RESULTS"
    [ -f "$BENCH_RESULTS/ipr.tsv" ] ||
        printf 'date\tcommit\tscenario\trequests\tinstructions_per_request\tconnections\n' >"$BENCH_RESULTS/ipr.tsv"
    while IFS=$'\t' read -r s ipr raw idle; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$COMMIT" "$s" "$N" "$ipr" "$CONNS" \
            >>"$BENCH_RESULTS/ipr.tsv"
    done <"$BENCH_TMP/ipr.rows"
fi
