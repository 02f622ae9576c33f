#!/bin/sh
# The committed vectors are exactly what the independent generators produce
# (each generator also checks itself against published test values and
# opens every vector with its own reference opener): envelope-v1.json from
# gen_vectors.py, keydist-v1.json from gen_keydist.py.
set -u
: "${top_srcdir:?}" "${PYTHON3:?}"
out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT
status=0
for pair in gen_vectors.py:envelope-v1.json gen_keydist.py:keydist-v1.json; do
	gen=${pair%%:*}
	json=${pair#*:}
	if ! "$PYTHON3" "$top_srcdir/tests/vectors/$gen" >"$out"; then
		echo "check_generator: $gen failed" >&2
		status=1
		continue
	fi
	if ! cmp -s "$out" "$top_srcdir/tests/vectors/$json"; then
		echo "check_generator: tests/vectors/$json differs from" \
		     "the generator's output; regenerate it:" >&2
		echo "  $PYTHON3 tests/vectors/$gen > tests/vectors/$json" >&2
		diff "$out" "$top_srcdir/tests/vectors/$json" | head -20 >&2
		status=1
		continue
	fi
	echo "check_generator: $json matches $gen"
done
exit $status
