#!/bin/sh
# Run one npm package's node --test suite for make check:
#   sh scripts/node-test.sh PACKAGE_DIR TEST_FILE...   (test files relative to PACKAGE_DIR)
# Used by bindings/js/run-tests.sh, bindings/node-red/run-tests.sh and
# examples/browser/run-tests.sh. Installs the package's pinned dependencies
# (npm ci, from its package-lock.json) when node_modules is missing or older
# than the lock file, package.json or any file under the paths in
# NODE_TEST_DEPS (local packages copied in by install-links), then runs the
# tests with the TAP reporter (scripts/test-summary.sh counts its
# "# pass N" / "# fail N" / "# skipped N" lines).
# Exit 0 all passed, 1 a failure, 77 (automake's SKIP) when Node >= 18 or
# npm is missing or a test was skipped; under LIBE2E_TEST_STRICT=1 (CI)
# every skip is a failure.
set -u
here=$(cd "$1" && pwd) || exit 1
shift
skip=77
[ "${LIBE2E_TEST_STRICT:-0}" = 1 ] && skip=1
node=${NODE:-node}
# npm's cache and logs go beside node_modules, not into $HOME (make check
# gives the tests a home of their own and fails if anything is left there;
# a user's ~/.npm is not ours to fill either). Even "npm --version" logs.
npm_config_cache=$here/node_modules/.npm-cache
npm_config_update_notifier=false
export npm_config_cache npm_config_update_notifier
if ! command -v "$node" >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "SKIP: node or npm is not installed (scripts/install-deps.sh test installs them)"
	exit $skip
fi
if ! "$node" -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)'; then
	echo "SKIP: Node $("$node" --version) is older than 18"
	exit $skip
fi
echo "node $("$node" --version), npm $(npm --version)"
lock=$here/package-lock.json
stamp=$here/node_modules/.package-lock.json
stale=
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ "$here/package.json" -nt "$stamp" ]; then
	stale=1
else
	for d in ${NODE_TEST_DEPS:-}; do
		[ -n "$(cd "$here" && find "$d" -newer "$stamp" -type f 2>/dev/null | head -n 1)" ] && stale=1
	done
fi
if [ -n "$stale" ]; then
	npm ci --prefix "$here" --no-audit --no-fund --prefer-offline || {
		echo "FAIL: npm ci could not install the pinned dependencies"
		exit 1
	}
fi
cd "$here" || exit 1
out=$(mktemp "${TMPDIR:-/tmp}/e2e-js-test.XXXXXX") || exit 1
"$node" --test --test-reporter=tap "$@" >"$out" 2>&1
rc=$?
cat "$out"
skipped=$(sed -n 's/^# skipped \([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
rm -f "$out"
[ $rc -ne 0 ] && exit 1
[ "${skipped:-0}" -gt 0 ] && exit $skip
exit 0
