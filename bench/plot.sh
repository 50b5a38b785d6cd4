#!/usr/bin/env bash
# bench/plot.sh [DIR] - one PNG per figure from the results in DIR
# (default bench/results), with gnuplot:
#
#   throughput.png      requests/s at saturation per scenario (proxy.tsv)
#   cpu.png             CPU microseconds per request (proxy.tsv)
#   rss.png             peak RSS per scenario (proxy.tsv)
#   latency.png         latency percentile curves at the fixed rate (latency-*.tsv)
#   added-latency.png   p50 / p99 / p99.9 added over direct (proxy.tsv)
#   ipr.png             instructions per request, latest commit (ipr.tsv)
#   ipr-history.png     instructions per request over the recorded commits (ipr.tsv)
#   streams.png         SSE event lateness percentiles, direct vs gateway (lateness-*.tsv)
#   streams-memory.png  RSS per concurrent stream (streams-*.txt)
#
# A figure whose input is missing is skipped.
set -euo pipefail
D=${1:-$(cd "$(dirname "$0")" && pwd)/results}
command -v gnuplot >/dev/null || { echo "plot: gnuplot is not installed (sh scripts/deps.sh)" >&2; exit 1; }
T=$(mktemp -d /tmp/switchyard-plot.XXXXXX)
trap 'rm -rf "$T"' EXIT
TERM_PNG="set terminal pngcairo size 960,540 font 'sans,10' noenhanced"
STYLE="set style fill solid 0.8 border -1; set boxwidth 0.6; set grid ytics; set key off; set xtics rotate by -25"
plotted=()

if [ -f "$D/proxy.tsv" ]; then
    # scenario rps rps_rounds vs_nginx cpu rss rate p50 p90 p99 p999 max add50 add99 add999
    grep -v '^#' "$D/proxy.tsv" | tail -n +2 >"$T/p.tsv"
    meta=$(head -1 "$D/proxy.tsv" | sed 's/^# //')
    gnuplot <<EOF
$TERM_PNG
$STYLE
set datafile separator "\t"
set output "$D/throughput.png"
set title "Requests per second at saturation (median of rounds)\n$meta"
set ylabel "requests/s"
set yrange [0:*]
plot "$T/p.tsv" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \
     "" using 0:2:(sprintf("%.0f", \$2)) with labels offset 0,0.8
set output "$D/cpu.png"
set title "CPU time per request (server processes, user+system)"
set ylabel "µs per request"
plot "$T/p.tsv" using 0:5:xtic(1) with boxes lc rgb "#cc6677", \
     "" using 0:5:(sprintf("%.1f", \$5)) with labels offset 0,0.8
set output "$D/rss.png"
set title "Peak RSS (VmHWM) of the server processes after the run"
set ylabel "MiB"
plot "$T/p.tsv" using 0:(\$6/1024):xtic(1) with boxes lc rgb "#228833", \
     "" using 0:(\$6/1024):(sprintf("%.1f", \$6/1024)) with labels offset 0,0.8
EOF
    plotted+=(throughput cpu rss)
    # added latency: scenarios with a figure
    awk -F'\t' '$13 != "–" && $13 != "" {print $1 "\t" $13 "\t" $14 "\t" $15}' "$T/p.tsv" >"$T/add.tsv"
    if [ -s "$T/add.tsv" ]; then
        gnuplot <<EOF
$TERM_PNG
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top left
set xtics rotate by -25
set datafile separator "\t"
set output "$D/added-latency.png"
set title "Latency added over direct to the upstream, at the fixed rate (open loop, CO-corrected)"
set ylabel "µs"
plot "$T/add.tsv" using 2:xtic(1) title "p50", "" using 3 title "p99", "" using 4 title "p99.9"
EOF
        plotted+=(added-latency)
    fi
fi

if ls "$D"/latency-*.tsv >/dev/null 2>&1; then
    plots=""
    for f in "$D"/latency-*.tsv; do
        n=$(basename "$f" .tsv)
        n=${n#latency-}
        plots="$plots${plots:+, }\"$f\" using (100/(100-\$1)):2 with lines lw 2 title \"$n\""
    done
    gnuplot <<EOF
$TERM_PNG
set grid
set logscale x
set logscale y
set key top left
set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)
set xlabel "percentile"
set ylabel "latency (µs, from the scheduled send)"
set title "Latency by percentile at the fixed rate (bench/openloop, coordinated-omission corrected)"
set output "$D/latency.png"
plot $plots
EOF
    plotted+=(latency)
fi

if [ -f "$D/ipr.tsv" ]; then
    tail -n +2 "$D/ipr.tsv" >"$T/ipr-all.tsv"
    last=$(tail -1 "$T/ipr-all.tsv" | cut -f2)
    awk -F'\t' -v c="$last" '$2 == c {v[$3] = $5; o[$3] = NR} END {for (s in v) print o[s] "\t" s "\t" v[s]}' \
        "$T/ipr-all.tsv" | sort -n | cut -f2- >"$T/ipr.tsv"
    gnuplot <<EOF
$TERM_PNG
$STYLE
set datafile separator "\t"
set output "$D/ipr.png"
set title "User-space instructions per request under callgrind (commit $last)"
set ylabel "instructions / request"
set yrange [0:*]
plot "$T/ipr.tsv" using 0:2:xtic(1) with boxes lc rgb "#aa3377", \
     "" using 0:2:(sprintf("%.0f", \$2)) with labels offset 0,0.8
EOF
    plotted+=(ipr)
    # history: one line per scenario over the distinct commits, in file order
    awk -F'\t' '!($2 in seen) {seen[$2] = ++n} {print seen[$2] "\t" $2 "\t" $3 "\t" $5}' "$T/ipr-all.tsv" >"$T/hist.tsv"
    if [ "$(cut -f1 "$T/hist.tsv" | sort -u | wc -l)" -ge 1 ]; then
        plots=""
        for s in $(cut -f3 "$T/hist.tsv" | sort -u); do
            awk -F'\t' -v s="$s" '$3 == s' "$T/hist.tsv" >"$T/h-$s.tsv"
            plots="$plots${plots:+, }\"$T/h-$s.tsv\" using 1:4:xtic(2) with linespoints lw 2 title \"$s\""
        done
        gnuplot <<EOF
$TERM_PNG
set grid
set key outside right
set datafile separator "\t"
set logscale y
set xtics rotate by -30
set output "$D/ipr-history.png"
set title "Instructions per request by commit (bench/results/ipr.tsv)"
set ylabel "instructions / request"
plot $plots
EOF
        plotted+=(ipr-history)
    fi
fi

if ls "$D"/lateness-*.tsv >/dev/null 2>&1; then
    plots=""
    for f in "$D"/lateness-*.tsv; do
        n=$(basename "$f" .tsv)
        n=${n#lateness-}
        plots="$plots${plots:+, }\"$f\" using (100/(100-\$1)):(\$2/1000) with lines lw 2 title \"$n\""
    done
    gnuplot <<EOF
$TERM_PNG
set grid
set logscale x
set key top left
set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000)
set xlabel "percentile of events"
set ylabel "lateness (ms) against the upstream's schedule"
set arrow from 1,10 to 100000,10 nohead dt 2 lc rgb "red"
set label "10 ms" at 1.2,11 tc rgb "red"
set title "Concurrent SSE streams: how late each event arrives at the client"
set output "$D/streams.png"
plot $plots
EOF
    plotted+=(streams)
fi

if ls "$D"/streams-*.txt >/dev/null 2>&1; then
    cat "$D"/streams-*.txt | awk '$1 == "RSS" {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["label"] "/" v["name"] "\t" v["per_stream_b"] / 1024 }' | sort -u >"$T/mem.tsv"
    if [ -s "$T/mem.tsv" ]; then
        gnuplot <<EOF
$TERM_PNG
$STYLE
set datafile separator "\t"
set output "$D/streams-memory.png"
set title "RSS per concurrent SSE stream (run/process); target for the gateway: 32 KiB"
set ylabel "KiB per stream"
set yrange [0:*]
set arrow from graph 0, first 32 to graph 1, first 32 nohead dt 2 lc rgb "red"
plot "$T/mem.tsv" using 0:2:xtic(1) with boxes lc rgb "#ee7733", \
     "" using 0:2:(sprintf("%.1f", \$2)) with labels offset 0,0.8
EOF
        plotted+=(streams-memory)
    fi
fi
echo "plots in $D: ${plotted[*]:-none}"
