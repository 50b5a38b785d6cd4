#!/usr/bin/env bash
# The whole suite: build, unit tests (normal and ASan+UBSan), JSONTestSuite,
# a short pass of every fuzz target, end-to-end tests against the real binary,
# and a few seconds of each benchmark script (make bench-smoke).
# Every step prints its own "N passed, N failed"; this script adds them up and
# ends with the total on one line. Exit status is non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
export SY_ROOT=$PWD
LOGDIR=build/test-logs
mkdir -p "$LOGDIR"
total_pass=0
total_fail=0
failed_steps=()

# run_step NAME CMD... : runs CMD, shows its output, and counts its summary line
# (the last "N passed, N failed"), or 1 pass / 1 fail from the exit status.
run_step() {
    local name=$1; shift
    local log="$LOGDIR/${name//\//_}.log"
    echo "== $name"
    "$@" >"$log" 2>&1
    local rc=$?
    local line
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ] && grep -qE '^# pass [0-9]+$' "$log"; then
        # node --test's TAP summary: "# pass N", "# fail N", "# cancelled N"
        # (a cancelled test, e.g. one that timed out, counts as failed).
        local np nf nc
        np=$(grep -E '^# pass [0-9]+$' "$log" | tail -n 1 | cut -d' ' -f3)
        nf=$(grep -E '^# fail [0-9]+$' "$log" | tail -n 1 | cut -d' ' -f3)
        nc=$(grep -E '^# cancelled [0-9]+$' "$log" | tail -n 1 | cut -d' ' -f3)
        line="$np passed, $((${nf:-0} + ${nc:-0})) failed"
    fi
    if [ -n "$line" ]; then
        local p f
        p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
        f=$(sed -E 's/^.* ([0-9]+) failed.*/\1/' <<<"$line")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    else
        if [ "$rc" -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    if [ "$f" -ne 0 ]; then
        failed_steps+=("$name")
        grep -E '^not ok|FAIL|failed|error|Error|ERROR' "$log" | head -n 40
        echo "   (full log: $log)"
    fi
    echo "   $p passed, $f failed"
}

JOBS=$(nproc 2>/dev/null || echo 2)
run_step build make -j"$JOBS" all unit asan
if [ "${total_fail}" -ne 0 ]; then
    tail -n 40 "$LOGDIR/build.log"
    echo "$total_pass passed, $total_fail failed"
    exit 1
fi

for t in build/normal/tests/test_*; do
    [ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
    run_step "unit/$(basename "$t")" "$t"
done
for t in build/asan/tests/test_*; do
    [ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
    run_step "asan/$(basename "$t")" env ASAN_OPTIONS=detect_leaks=1 "$t"
done

run_step fuzz make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-8}"

# The HTTP edge cases once more against the ASan+UBSan binary: memory errors
# in the server surface here even when every response looked right.
run_step "e2e-asan/test_http" env SY_BIN=build/switchyard-asan timeout 600 python3 tests/e2e/test_http.py

for t in tests/e2e/test_*.py; do
    [ -e "$t" ] || continue
    run_step "e2e/$(basename "$t" .py)" timeout 600 python3 "$t"
done
# The audit trail's acceptance once more on the append-only audit file.
run_step "e2e/test_audit-file" env SY_AUDIT_STORE=file timeout 600 python3 tests/e2e/test_audit.py
for t in tests/e2e/*.test.mjs; do
    [ -e "$t" ] || continue
    run_step "e2e/$(basename "$t" .test.mjs)" timeout 600 node --test "$t"
done

# The benchmark scripts, a few seconds each: they must run, whatever the figures.
run_step bench-smoke make -s bench-smoke

if [ ${#failed_steps[@]} -ne 0 ]; then
    echo "failed steps: ${failed_steps[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
