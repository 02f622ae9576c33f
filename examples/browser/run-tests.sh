#!/bin/sh
# examples/browser: the page in a real headless Chromium (playwright-core on
# Debian's chromium), run by make check through scripts/node-test.sh. The
# libe2e package is copied in from bindings/js (install-links, .npmrc): a
# change there reinstalls it.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
NODE_TEST_DEPS="../../bindings/js/src ../../bindings/js/package.json" exec sh "$here/../../scripts/node-test.sh" "$here" test/*.test.js
