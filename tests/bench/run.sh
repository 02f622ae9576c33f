#!/bin/sh
# Run the library benchmark in a build directory and draw its plot.
#
#   tests/bench/run.sh [--docs] [BUILD-DIR] [-- bench_lib options]
#
# BUILD-DIR (default: the current directory) must be a configured build of
# this tree; bench_lib is built there if needed. Figures go to
# BUILD-DIR/tests/bench/perf-lib.{txt,csv,png}; with --docs the plot is also
# copied to docs/perf-lib.png in the source tree.
set -eu
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
docs=0
if [ "${1:-}" = --docs ]; then
	docs=1
	shift
fi
build=.
if [ $# -gt 0 ] && [ "$1" != -- ]; then
	build=$1
	shift
fi
[ "${1:-}" = -- ] && shift
cd "$build"
make -s tests/bench/bench_lib
tests/bench/bench_lib --csv tests/bench/perf-lib.csv "$@" \
	>tests/bench/perf-lib.txt
cat tests/bench/perf-lib.txt
sh "$srcdir/tests/bench/plot-lib.sh" tests/bench/perf-lib.csv \
	tests/bench/perf-lib.png
if [ $docs = 1 ]; then
	cp tests/bench/perf-lib.png "$srcdir/docs/perf-lib.png"
	echo "run.sh: copied the plot to $srcdir/docs/perf-lib.png"
fi
