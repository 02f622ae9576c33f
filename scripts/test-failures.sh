#!/bin/sh
# After a failed run, say which logs to read and show only those: the log
# of every test whose automake result (.trs) is FAIL, ERROR or XPASS, and
# of every fuzz target a fuzz summary (tests/fuzz/run.sh's table) marks
# FAILED; first their paths, then the last TEST_LOG_LINES lines (default
# 200) of each. Nothing of the tests that passed. Exits 1 when it found a
# failure, 0 when none.
#   scripts/test-failures.sh BUILDDIR... [FUZZ-SUMMARY]
set -u
lines=${TEST_LOG_LINES:-200}
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for a in "$@"; do
	if [ -d "$a" ]; then
		find "$a" -name '*.trs' | sort | while IFS= read -r trs; do
			if grep -Eq '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
				printf '%s\n' "${trs%.trs}.log"
			fi
		done
	elif [ -f "$a" ]; then
		sed -n 's/.* FAILED (see \(.*\))$/\1/p' "$a"
	fi
done >"$list"
if [ ! -s "$list" ]; then
	exit 0
fi
echo "FAILED: the logs of the tests that failed:"
sed 's/^/  /' "$list"
while IFS= read -r log; do
	echo "==== $log (last $lines lines)"
	tail -n "$lines" "$log"
done <"$list"
exit 1
