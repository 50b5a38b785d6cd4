#!/usr/bin/env bash
# `make bench`: every benchmark in bench/, then the plots.
#
#   1. micro-benchmarks: each bench/*_bench.c (-> build/bench/*_bench) prints a
#      table with the reference it is measured against in the same run;
#   2. bench/proxy.sh    scenarios a-e side by side: throughput, latency at a
#                        fixed rate, CPU per request, peak RSS;
#   3. bench/ipr.sh      instructions per request under callgrind (appended to
#                        bench/results/ipr.tsv);
#   4. bench/streams.sh  10,000 concurrent SSE streams;
#   5. bench/plot.sh     one PNG per figure in bench/results/.
#
# BENCH_SMOKE=1 (`make bench-smoke`, CI) runs each for a few seconds to check
# that the scripts and tools work; its figures mean nothing and nothing under
# bench/results/ is written. Figures worth keeping go into BENCHMARKS.md with
# the command that produced them.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bench-build all
status=0
run() {
    echo "== $*"
    if ! "$@"; then
        echo "benchmark $1 failed"
        status=1
    fi
}
for b in build/bench/*_bench; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    run "$b" ${BENCH_SMOKE:+--smoke}
done
run bench/proxy.sh
run bench/ipr.sh
run bench/streams.sh
if [ "${BENCH_SMOKE:-0}" != 1 ]; then
    run bench/plot.sh
fi
[ $status = 0 ] && echo "bench: all benchmarks ran" || echo "bench: some benchmarks failed"
exit $status
