#!/bin/sh
# bindings/js: the JavaScript package's node --test suite, run by make check
# through scripts/node-test.sh (npm ci from the committed lock file when
# needed, then node --test test/*.test.js; exit 77 when Node >= 18 or npm is
# missing).
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
exec sh "$here/../../scripts/node-test.sh" "$here" test/*.test.js
