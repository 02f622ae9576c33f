#!/bin/sh
# The committed guard cases are exactly what gen_guard_cases.py writes.
set -u
: "${top_srcdir:?}" "${PYTHON3:?}"
out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT
if ! "$PYTHON3" "$top_srcdir/tests/vectors/gen_guard_cases.py" >"$out"; then
	echo "check_guard_cases: gen_guard_cases.py failed" >&2
	exit 1
fi
if ! cmp -s "$out" "$top_srcdir/tests/vectors/guard-cases.json"; then
	echo "check_guard_cases: tests/vectors/guard-cases.json differs from" \
	     "the generator's output; regenerate it:" >&2
	echo "  $PYTHON3 tests/vectors/gen_guard_cases.py > tests/vectors/guard-cases.json" >&2
	diff "$out" "$top_srcdir/tests/vectors/guard-cases.json" | head -20 >&2
	exit 1
fi
echo "check_guard_cases: guard-cases.json matches gen_guard_cases.py"
