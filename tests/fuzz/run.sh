#!/bin/sh
# Bounded fuzzing of every libe2e fuzz target.
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]
#
# Configures and builds the libFuzzer targets with clang (ASan + UBSan) in
# their own build directory ($FUZZ_BUILD_DIR, default
# ${TMPDIR:-/tmp}/libe2e-fuzz-build), then runs each target for SECONDS
# (default 60) on a scratch copy of its seed corpus, with a per-input timeout
# and a memory limit. Prints the executions per target; exits non-zero when
# any target crashed, leaked, timed out or ran out of memory (the input that
# did it is kept under the build directory's tests/fuzz/artifacts/).
set -eu

secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-open parse guard_load keyring signer pubkey trust update}
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-${TMPDIR:-/tmp}/libe2e-fuzz-build}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	echo "run.sh: configuring $build"
	CC=${FUZZ_CC:-clang} "$srcdir/configure" -q --enable-fuzzing
fi
progs=
for t in $targets; do
	progs="$progs tests/fuzz/fuzz_$t"
done
mkdir -p tests/fuzz
# shellcheck disable=SC2086
if ! make -s -j"$jobs" $progs >tests/fuzz/build.log 2>&1; then
	cat tests/fuzz/build.log >&2
	echo "run.sh: build failed" >&2
	exit 1
fi

mkdir -p tests/fuzz/artifacts
failed=0
total=0
printf '%-12s %12s %8s  %s\n' target executions seconds result
for t in $targets; do
	work=tests/fuzz/work/$t
	log=tests/fuzz/$t.log
	rm -rf "$work"
	mkdir -p "$work"
	# New inputs go to the scratch directory (first); the seeds in the
	# source tree are only read.
	if ./tests/fuzz/fuzz_$t -max_total_time="$secs" -timeout="$timeout" \
		-rss_limit_mb="$rss" -print_final_stats=1 \
		-artifact_prefix="tests/fuzz/artifacts/$t-" \
		"$work" "$srcdir/tests/fuzz/corpus/$t" >"$log" 2>&1; then
		result=ok
	else
		result="FAILED (see $build/$log)"
		failed=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	execs=${execs:-0}
	total=$((total + execs))
	printf '%-12s %12s %8s  %s\n' "$t" "$execs" "$secs" "$result"
	if [ "$result" != ok ]; then
		grep -E 'ERROR|SUMMARY|oracle failed|Test unit written' "$log" |
			head -n 8 || true
	fi
done
printf '%-12s %12s\n' total "$total"
exit $failed
