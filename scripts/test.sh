#!/bin/sh
# Build and run every test: the whole suite (unit, vectors, integration
# through a real mosquitto, Python binding, fuzz corpus regression), then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# every libFuzzer target for FUZZ_SECONDS (default 30) each.
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

echo "== unit tests under ASan+UBSan (build-asan/)"
if command -v clang >/dev/null 2>&1; then san_cc=clang; else san_cc=gcc; fi
BUILD=$top/build-asan sh scripts/build.sh CC=$san_cc --enable-sanitizers
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make -j2 check-unit) ||
	status=1
sh scripts/test-summary.sh build-asan sanitizers || true

echo "== fuzzing: every libFuzzer target for ${FUZZ_SECONDS:-30} s under ASan+UBSan (build-fuzz/)"
if command -v clang >/dev/null 2>&1; then
	FUZZ_BUILD_DIR=$top/build-fuzz sh tests/fuzz/run.sh "${FUZZ_SECONDS:-30}" ||
		status=1
else
	echo "clang is not installed: fuzzing skipped (scripts/install-deps.sh test installs it)"
fi

if [ $status -ne 0 ]; then
	echo "FAILED: see the *.log files named above" >&2
	for f in build/test-suite.log build-asan/test-suite.log; do
		[ -f "$f" ] && sed -n '1,200p' "$f" >&2
	done
fi
sh scripts/test-summary.sh build build-asan total
exit $status
