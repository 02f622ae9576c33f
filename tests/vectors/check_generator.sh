#!/bin/sh
# The committed vectors are exactly what the independent generator produces
# (the generator also checks itself against the XChaCha draft's vectors and
# opens every vector with its own reference opener).
set -u
: "${top_srcdir:?}" "${PYTHON3:?}"
out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT
if ! "$PYTHON3" "$top_srcdir/tests/vectors/gen_vectors.py" >"$out"; then
	echo "check_generator: gen_vectors.py failed" >&2
	exit 1
fi
if ! cmp -s "$out" "$top_srcdir/tests/vectors/envelope-v1.json"; then
	echo "check_generator: tests/vectors/envelope-v1.json differs from" \
	     "the generator's output; regenerate it:" >&2
	echo "  $PYTHON3 tests/vectors/gen_vectors.py > tests/vectors/envelope-v1.json" >&2
	diff "$out" "$top_srcdir/tests/vectors/envelope-v1.json" | head -20 >&2
	exit 1
fi
echo "check_generator: envelope-v1.json matches gen_vectors.py"
