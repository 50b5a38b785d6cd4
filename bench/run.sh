#!/usr/bin/env bash
# `make bench`: run every benchmark in bench/ on this machine and print its
# figures. Each micro-benchmark binary (bench/*.c -> build/bench/*) prints a
# table with the reference it is measured against in the same run.
# BENCH_SMOKE=1 runs each briefly (CI's smoke check). Figures worth keeping go
# into BENCHMARKS.md with the command that produced them.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bench-build
status=0
for b in build/bench/*; do
    [ -x "$b" ] && [ -f "$b" ] && [ "${b%.d}" = "$b" ] || continue
    echo "== $(basename "$b")"
    if ! "$b" ${BENCH_SMOKE:+--smoke}; then
        echo "benchmark $(basename "$b") failed"
        status=1
    fi
done
exit $status
