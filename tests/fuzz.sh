#!/usr/bin/env bash
# Run each fuzz target for FUZZ_SECONDS over its committed seed corpus
# (fuzz/corpus/<target>/). New inputs go to a scratch directory, so the
# committed corpus only changes by hand. Prints "N passed, N failed".
set -u
pass=0; fail=0
for bin in "$@"; do
    name=$(basename "$bin")
    seeds="fuzz/corpus/${name#fuzz_}"
    work="build/fuzz/work/$name"
    mkdir -p "$work" "$seeds"
    if "$bin" -max_total_time="${FUZZ_SECONDS:-10}" -timeout=5 -rss_limit_mb=2048 \
        -print_final_stats=0 -artifact_prefix="build/fuzz/" "$work" "$seeds" \
        >"build/fuzz/$name.log" 2>&1; then
        echo "ok   $name ($(grep -Eo 'Done [0-9]+ runs' "build/fuzz/$name.log" | tail -1))"
        pass=$((pass + 1))
    else
        echo "FAIL $name"; tail -n 30 "build/fuzz/$name.log"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
