# bench/lib.sh - shared by the benchmark scripts (sourced, not run).
#
# Starts the servers a benchmark needs on loopback ports the kernel picks,
# each in its own session with its log in the run's temporary directory, and
# stops exactly those (by the PIDs it started) when the script exits, however
# it exits. Also: CPU time and peak RSS of a process tree from /proc, the
# scheduling switch for latency runs, and the wrk / openloop wrappers.
#
# Environment (all optional):
#   SWITCHYARD      the binary under test (default build/switchyard)
#   BENCH_KEEP=1    keep the temporary directory (logs, configs) after the run
#   BENCH_RT=0      do not run latency measurements under SCHED_RR (see rt_on)
#   BENCH_AUDIT     true|false: the gateway's audit log (default true)
#   BENCH_AUDIT_STORE  file|sqlite: where the audit log goes (default file:
#                   audit.store: file:..., the append-only audit file; sqlite:
#                   the SQLite store beside keys and spend)
#   BENCH_GOVERNANCE=1  authenticate with a virtual key that has a budget and
#                   an RPM limit (admin API, governance on) instead of a
#                   static key
#   BENCH_SMOKE=1   every script runs a few seconds only (CI)

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SY=${SWITCHYARD:-$BENCH_ROOT/build/switchyard}
OPENLOOP=$BENCH_ROOT/build/bench/openloop
STREAMS=$BENCH_ROOT/build/bench/streams
BENCH_CONF=$BENCH_ROOT/bench/configs
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_ROOT/bench/results}
PORTKEY_VERSION=$(sed -n 's/.*"@portkey-ai\/gateway": *"\([^"]*\)".*/\1/p' "$BENCH_ROOT/bench/package.json")
export BENCH_AUDIT=${BENCH_AUDIT:-true}
export BENCH_AUDIT_STORE=${BENCH_AUDIT_STORE:-file}
BENCH_PIDS=()

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# bench_init NAME: the run's temporary directory and the exit trap.
bench_init() {
    BENCH_TMP=$(mktemp -d "/tmp/switchyard-bench-$1.XXXXXX")
    export BENCH_TMP
    trap bench_cleanup EXIT
    trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR
    trap 'exit 130' INT TERM
    [ -x "$SY" ] || die "no binary at $SY (run make)"
}

# Stop every server this script started: SIGTERM to its session (nginx's
# workers, node's helpers), then SIGKILL after 5 s.
bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    local i
    for i in $(seq 50); do
        local alive=0
        for pid in "${BENCH_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for pid in "${BENCH_PIDS[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    BENCH_PIDS=()
    if [ -n "${BENCH_TMP:-}" ] && [ -d "$BENCH_TMP" ]; then
        if [ "${BENCH_KEEP:-0}" = 1 ]; then
            log "kept $BENCH_TMP"
        else
            rm -rf "$BENCH_TMP"
        fi
    fi
    return 0
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
    local port=$1 limit=${2:-15} i
    for i in $(seq $((limit * 20))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# start_bg NAME CMD...: run CMD in its own session, output to NAME.log.
# Sets the variable PID_NAME.
start_bg() {
    local name=$1
    shift
    setsid "$@" >"$BENCH_TMP/$name.log" 2>&1 </dev/null &
    local pid=$!
    BENCH_PIDS+=("$pid")
    printf -v "PID_${name//-/_}" '%s' "$pid"
}

# The PIDs of a process and its children (nginx master and workers).
tree_pids() {
    local p
    for p in "$@"; do
        echo "$p"
        pgrep -P "$p" 2>/dev/null || true
    done
}

# CPU ticks (user + system, all threads) summed over the given PIDs.
cpu_ticks() {
    local total=0 p f
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        f=$(sed 's/^.*) //' "/proc/$p/stat")
        # after the command name: state is field 1, utime 12, stime 13
        total=$((total + $(echo "$f" | awk '{print $12 + $13}')))
    done
    echo $total
}
CLK_TCK=$(getconf CLK_TCK)

# Peak resident set (VmHWM, KiB) summed over the given PIDs.
hwm_kb() {
    local total=0 p v
    for p in "$@"; do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo $total
}

rss_kb() {
    local total=0 p v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo $total
}

# Latency runs happen on a machine other people share: a process that is
# runnable behind someone's compiler waits milliseconds for a CPU, which
# would drown the microseconds being measured. rt_on puts the processes of
# one measurement (load generator, proxy, upstream) under SCHED_RR for its
# duration; they block on I/O most of the time at the fixed rates used, so
# the rest of the machine keeps most of its CPU (and the kernel caps real-time
# tasks at 95% anyway). Saturation runs (wrk) stay at normal priority.
# BENCH_RT=0 turns this off; without CAP_SYS_NICE it is skipped.
rt_ok() {
    [ "${BENCH_RT:-1}" = 1 ] && chrt -r 1 true 2>/dev/null
}
rt_on() {
    rt_ok || return 0
    local p
    for p in "$@"; do chrt -a -r -p 10 "$p" >/dev/null 2>&1; done
}
rt_off() {
    rt_ok || return 0
    local p
    for p in "$@"; do chrt -a -o -p 0 "$p" >/dev/null 2>&1; done
}
rt_run() {
    if rt_ok; then chrt -r 10 "$@"; else "$@"; fi
}

# ---- servers ----

# start_sim NAME PORT [VAR=VALUE...]: switchyard sim with bench/configs/sim.yaml.
start_sim() {
    local name=$1 port=$2
    shift 2
    start_bg "$name" env BENCH_SIM_PORT="$port" "$@" "$SY" sim -c "$BENCH_CONF/sim.yaml"
    wait_port "$port" || die "$name did not start: $(tail -5 "$BENCH_TMP/$name.log")"
}

nginx_bin() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }
}

# Escape a JSON body for a single-quoted nginx string.
nginx_quote() {
    grep -q '\$' "$1" && die "body $1 holds a \$ (nginx would read a variable)"
    sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g" "$1"
}

# render_nginx TEMPLATE OUT VAR=VALUE...
render_nginx() {
    local tpl=$1 out=$2
    shift 2
    local user_line=""
    # As root, nginx would switch its workers to "nobody": keep the current user.
    [ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
    python3 - "$tpl" "$out" "USER_LINE=$user_line" "PREFIX=$BENCH_TMP/nginx" "$@" <<'PY'
import sys
tpl, out, *pairs = sys.argv[1:]
s = open(tpl).read()
for p in pairs:
    k, v = p.split('=', 1)
    if v.startswith('@file:'):
        v = open(v[6:]).read()
    s = s.replace('@' + k + '@', v)
open(out, 'w').write(s)
PY
}

# start_nginx_static NAME PORT CHAT_BODY_FILE MESSAGES_BODY_FILE [WORKERS] [MASTER on|off]
start_nginx_static() {
    local name=$1 port=$2 chat=$3 msgs=$4 workers=${5:-1} master=${6:-on}
    local ng
    ng=$(nginx_bin) || die "nginx is not installed (sh scripts/deps.sh)"
    mkdir -p "$BENCH_TMP/nginx"
    nginx_quote "$chat" >"$BENCH_TMP/nginx/$name-chat.q"
    nginx_quote "$msgs" >"$BENCH_TMP/nginx/$name-msgs.q"
    render_nginx "$BENCH_ROOT/bench/nginx/static.conf.in" "$BENCH_TMP/nginx/$name.conf" \
        "LISTEN=127.0.0.1:$port" "WORKERS=$workers" "MASTER=$master" \
        "CHAT_BODY=@file:$BENCH_TMP/nginx/$name-chat.q" \
        "MESSAGES_BODY=@file:$BENCH_TMP/nginx/$name-msgs.q"
    sed -i "s#static.pid#$name.pid#; s#static-error.log#$name-error.log#" "$BENCH_TMP/nginx/$name.conf"
    start_bg "$name" "$ng" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/$name.conf" -e stderr
    wait_port "$port" || die "$name did not start: $(tail -5 "$BENCH_TMP/$name.log")"
}

# start_nginx_proxy NAME PORT UPSTREAM_PORT [WORKERS] [MASTER on|off] [WRAPPER...]
start_nginx_proxy() {
    local name=$1 port=$2 up=$3 workers=${4:-1} master=${5:-on}
    shift 5 2>/dev/null || shift $#
    local ng
    ng=$(nginx_bin) || die "nginx is not installed (sh scripts/deps.sh)"
    mkdir -p "$BENCH_TMP/nginx"
    render_nginx "$BENCH_ROOT/bench/nginx/proxy.conf.in" "$BENCH_TMP/nginx/$name.conf" \
        "LISTEN=127.0.0.1:$port" "UPSTREAM=127.0.0.1:$up" "WORKERS=$workers" "MASTER=$master"
    sed -i "s#proxy.pid#$name.pid#; s#proxy-error.log#$name-error.log#" "$BENCH_TMP/nginx/$name.conf"
    start_bg "$name" "$@" "$ng" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/$name.conf" -e stderr
    wait_port "$port" 60 || die "$name did not start: $(tail -5 "$BENCH_TMP/$name.log")"
}

# start_gateway NAME PORT UPSTREAM_PORT [WRAPPER...]: switchyard serve with
# bench/configs/gateway.yaml. Sets GW_KEY to the key clients must send.
start_gateway() {
    local name=$1 port=$2 up=$3
    shift 3
    local master=""
    [ "${BENCH_GOVERNANCE:-0}" = 1 ] && master="sk-bench-master-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
    local audit_store=""
    case $BENCH_AUDIT_STORE in
    file) audit_store="file:$BENCH_TMP/$name-audit.log" ;;
    sqlite) ;;
    *) die "BENCH_AUDIT_STORE must be file or sqlite, not $BENCH_AUDIT_STORE" ;;
    esac
    start_bg "$name" env BENCH_GW_PORT="$port" BENCH_UPSTREAM_PORT="$up" \
        BENCH_MASTER_KEY="$master" BENCH_AUDIT_STORE_URL="$audit_store" "$@" \
        "$SY" serve -c "$BENCH_CONF/gateway.yaml"
    wait_port "$port" 60 || die "$name did not start: $(tail -5 "$BENCH_TMP/$name.log")"
    GW_KEY=sk-bench-static-key-0001
    if [ -n "$master" ]; then
        # A virtual key with limits far above what the run can spend, so the
        # checks run on every request without ever refusing one.
        curl -sf "http://127.0.0.1:$port/admin/teams" -H "Authorization: Bearer $master" \
            -H 'Content-Type: application/json' \
            -d '{"id":"bench","budgets":{"month":"1000000"},"rpm":100000000}' >/dev/null ||
            die "could not create the benchmark team"
        GW_KEY=$(curl -sf "http://127.0.0.1:$port/admin/keys" -H "Authorization: Bearer $master" \
            -H 'Content-Type: application/json' \
            -d '{"team":"bench","budgets":{"day":"100000"},"rpm":100000000,"tpm":1000000000}' |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') ||
            die "could not create the benchmark key"
        sleep 1 # governance.sync_interval: every worker sees the new key
    fi
}

# Portkey's gateway from npm, version pinned in bench/package.json, installed
# under bench/node_modules (not committed). Returns 1 when npm cannot get it.
portkey_install() {
    local dir=$BENCH_ROOT/bench
    if [ -f "$dir/node_modules/@portkey-ai/gateway/package.json" ] &&
        grep -q "\"version\": \"$PORTKEY_VERSION\"" "$dir/node_modules/@portkey-ai/gateway/package.json"; then
        return 0
    fi
    command -v npm >/dev/null || return 1
    log "installing @portkey-ai/gateway@$PORTKEY_VERSION under bench/node_modules"
    (cd "$dir" && npm install --no-audit --no-fund --no-save --loglevel=error >/dev/null 2>&1) || return 1
}

# start_portkey NAME PORT: node on 127.0.0.1 only (bench/portkey-loopback.mjs
# makes the server's listen() bind loopback; by itself it binds every
# interface), production mode (no log UI).
start_portkey() {
    local name=$1 port=$2
    start_bg "$name" env NODE_ENV=production node --import "$BENCH_ROOT/bench/portkey-loopback.mjs" \
        "$BENCH_ROOT/bench/node_modules/@portkey-ai/gateway/build/start-server.js" \
        "--port=$port" --headless
    wait_port "$port" 30 || die "$name did not start: $(tail -5 "$BENCH_TMP/$name.log")"
}

# ---- load ----

# make_lua OUT BODY_FILE 'Header: value'...: a wrk script sending one POST.
make_lua() {
    local out=$1 body=$2
    shift 2
    {
        echo 'wrk.method = "POST"'
        echo "local f = io.open(\"$body\", \"rb\"); wrk.body = f:read(\"*a\"); f:close()"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        local h
        for h in "$@"; do
            echo "wrk.headers[\"${h%%: *}\"] = \"${h#*: }\""
        done
    } >"$out"
}
