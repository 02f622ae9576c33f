#!/bin/sh
# bindings/node-red: the Node-RED nodes' tests (node-red-node-test-helper on
# a real Node-RED runtime, a real mosquitto, the built e2e-pub), run by make
# check through scripts/node-test.sh. The libe2e package is copied in from
# ../js (install-links, .npmrc): a change there reinstalls it.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
NODE_TEST_DEPS="../js/src ../js/package.json" exec sh "$here/../../scripts/node-test.sh" "$here" test/*.test.mjs
