#!/bin/sh
# The README's first block ends with the demo (scripts/demo.sh), which
# test_readme.py cannot run as written (the block installs packages as root
# and builds the tree). Run the demo here on the build tree: it exits 0 and
# prints that every genuine message arrived once and every forgery was
# refused with its reason. Its own mosquitto on a free loopback port; HOME
# is a temporary directory.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
if [ ! -x "$top_builddir/cli/e2e-sub" ]; then
	echo "SKIP: $top_builddir/cli/e2e-sub not built (Paho MQTT C missing?)"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-demo-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
HOME=$tmp sh "$top_srcdir/scripts/demo.sh" "$top_builddir" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
if [ $rc -ne 0 ]; then
	echo "FAIL: scripts/demo.sh exited $rc"
	exit 1
fi
status=0
for want in \
	"rejected demo/sensors/door: replay: " \
	"rejected demo/sensors/door: bad-tag: " \
	"rejected demo/sensors/door: not-e2e: " \
	"rejected demo/sensors/door: disabled-key: " \
	"rejected demo/sensors/door: unknown-key: " \
	"key update 3 applied" \
	"The subscriber printed 8 genuine messages, each exactly once"; do
	if ! grep -qF -- "$want" "$tmp/out"; then
		echo "FAIL: the demo did not print: $want"
		status=1
	fi
done
[ $status -eq 0 ] && echo "PASS: the demo ran and printed what it promises"
exit $status
