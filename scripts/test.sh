#!/bin/sh
# Build and run every test: the whole suite (unit, vectors, integration
# through a real mosquitto, Python binding, fuzz corpus regression), then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# every libFuzzer target for FUZZ_SECONDS (default 30) each. On failure it
# names the logs of the tests that failed and prints only those
# (scripts/test-failures.sh); the last line is the total of all three,
# fuzz targets included (scripts/test-summary.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
status=0

echo "== build and make check (build/)"
# CI (LIBE2E_TEST_STRICT=1) must build libe2e-redis and run its tests:
# a missing hiredis fails configure there instead of skipping them.
with_redis=
if [ "${LIBE2E_TEST_STRICT:-}" = 1 ]; then with_redis=--with-redis; fi
BUILD=$top/build sh scripts/build.sh $with_redis
(cd build && make -j2 check) || status=1
sh scripts/test-summary.sh build main || true

echo "== build without the optional parts (build-minimal/): the demo's configuration"
# scripts/install-deps.sh demo installs neither hiredis nor libsystemd: a
# Makefile that needs them to compile the tools breaks README command 1.
# Built and unit-tested here, so the suite above (everything installed)
# cannot hide such a break.
mkdir -p "$top/build-minimal"
if BUILD=$top/build-minimal sh scripts/build.sh --without-redis \
	--without-systemd --without-cjson; then
	(cd build-minimal && make -j2 check-unit) || status=1
	sh scripts/test-summary.sh build-minimal minimal || true
else
	echo "build-minimal: the build without hiredis, libsystemd and cJSON failed" >&2
	status=1
fi

echo "== unit tests under ASan+UBSan (build-asan/)"
if command -v clang >/dev/null 2>&1; then san_cc=clang; else san_cc=gcc; fi
BUILD=$top/build-asan sh scripts/build.sh CC=$san_cc --enable-sanitizers
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make -j2 check-unit) ||
	status=1
sh scripts/test-summary.sh build-asan sanitizers || true

echo "== fuzzing: every libFuzzer target for ${FUZZ_SECONDS:-30} s under ASan+UBSan (build-fuzz/)"
# run.sh's table, kept for the reports below (one line per target).
fuzz=$top/build-fuzz/fuzz-summary.txt
mkdir -p "$top/build-fuzz"
rm -f "$fuzz"
if command -v clang >/dev/null 2>&1; then
	# The table is shown as it is made and saved; run.sh's status passes
	# through a file (sh has no pipefail).
	# "|| echo $?": under set -e a failing run.sh would end the group
	# before it could write its status.
	{ FUZZ_BUILD_DIR=$top/build-fuzz sh tests/fuzz/run.sh \
		"${FUZZ_SECONDS:-30}" 2>&1 && echo 0 >"$fuzz.status" ||
		echo $? >"$fuzz.status"; } | tee "$fuzz"
	[ "$(cat "$fuzz.status")" -eq 0 ] || status=1
	rm -f "$fuzz.status"
else
	echo "clang is not installed: fuzzing skipped (scripts/install-deps.sh test installs it)"
fi

if [ $status -ne 0 ] && sh scripts/test-failures.sh build build-minimal build-asan "$fuzz" >&2; then
	echo "FAILED, but no test log records a failure: see the output above (a build step?)" >&2
fi
sh scripts/test-summary.sh build build-minimal build-asan "$fuzz" total
exit $status
