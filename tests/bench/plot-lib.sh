#!/bin/sh
# Draw the library benchmark (CSV from bench_lib --csv) with gnuplot:
# left, seal+open throughput of libe2e and of the raw libsodium primitives
# across payload sizes; right, the ratio libe2e / raw per mode.
#
#   tests/bench/plot-lib.sh perf-lib.csv perf-lib.png
set -eu
csv=$1
png=$2
command -v gnuplot >/dev/null 2>&1 || {
	echo "plot-lib.sh: gnuplot not found (Debian: gnuplot-nox)" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One file per mode: its seal+open rows.
for m in aead mac aead+sig mac+sig sig; do
	awk -F, -v m="$m" '$1 == "lib" && $2 == m && $3 == "seal+open"' \
		"$csv" >"$tmp/$m.csv"
done
if [ ! -s "$tmp/aead.csv" ]; then
	echo "plot-lib.sh: no envelope figures in $csv (bench_lib --only?): no plot"
	exit 0
fi
sel() {
	printf '%s/%s.csv' "$tmp" "$1"
}
gnuplot <<GP
set terminal pngcairo size 1400,560 font ",10"
set output '$png'
set datafile separator ','
set multiplot layout 1,2 title "libe2e vs raw libsodium, seal+open, median of runs"
set logscale x 2
set xtics ("16 B" 16, "64 B" 64, "256 B" 256, "1 KiB" 1024, "16 KiB" 16384, \
	   "64 KiB" 65536, "1 MiB" 1048576)
set xlabel 'payload'
set key top left
set grid
set logscale y 10
set ylabel 'MB/s (payload bytes)'
set title 'throughput'
plot "$(sel aead)" using 4:7 with linespoints lw 2 lc 1 pt 7 title 'aead (libe2e)', \
     "$(sel aead)" using 4:8 with linespoints lw 1 lc 1 dt 2 pt 6 title 'aead (raw)', \
     "$(sel mac)" using 4:7 with linespoints lw 2 lc 2 pt 7 title 'mac (libe2e)', \
     "$(sel mac)" using 4:8 with linespoints lw 1 lc 2 dt 2 pt 6 title 'mac (raw)', \
     "$(sel aead+sig)" using 4:7 with linespoints lw 2 lc 3 pt 7 title 'aead+sig (libe2e)', \
     "$(sel aead+sig)" using 4:8 with linespoints lw 1 lc 3 dt 2 pt 6 title 'aead+sig (raw)', \
     "$(sel mac+sig)" using 4:7 with linespoints lw 2 lc 4 pt 7 title 'mac+sig (libe2e)', \
     "$(sel mac+sig)" using 4:8 with linespoints lw 1 lc 4 dt 2 pt 6 title 'mac+sig (raw)'
unset logscale y
set ylabel 'time libe2e / time raw'
set title 'ratio (1 = as fast as the raw primitive)'
set key bottom left
set yrange [0.5:1.25]
plot "$(sel aead)" using 4:9 with linespoints lw 2 lc 1 pt 7 title 'aead', \
     "$(sel mac)" using 4:9 with linespoints lw 2 lc 2 pt 7 title 'mac', \
     "$(sel aead+sig)" using 4:9 with linespoints lw 2 lc 3 pt 7 title 'aead+sig', \
     "$(sel mac+sig)" using 4:9 with linespoints lw 2 lc 4 pt 7 title 'mac+sig', \
     "$(sel sig)" using 4:9 with linespoints lw 2 lc 5 pt 7 title 'sig only', \
     1.0 with lines lc rgb 'black' dt 3 notitle, \
     1.10 with lines lc rgb 'red' dt 2 title 'target at 64 B (1.10)', \
     1.03 with lines lc rgb 'dark-red' dt 4 title 'target at 16 KiB (1.03)'
unset multiplot
GP
echo "plot-lib.sh: wrote $png"
