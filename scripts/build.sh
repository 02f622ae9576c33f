#!/bin/sh
# Configure and build libe2e out of tree in ${BUILD:-build}/.
#   scripts/build.sh [extra configure arguments...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
"$top/configure" -q "$@"
make -j"$(nproc 2>/dev/null || echo 2)"
