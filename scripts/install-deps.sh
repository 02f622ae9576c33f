#!/bin/sh
# Install what libe2e needs on Debian 12, as root.
#   scripts/install-deps.sh demo   build + run the demo (and man, for the
#                                  tools' pages: minimal Debian lacks it)
#   scripts/install-deps.sh test   also everything the test suite uses
#   scripts/install-deps.sh bench  also gnuplot for the benchmark plots
set -eu
what=${1:-test}
pkgs="ca-certificates build-essential autoconf automake libtool pkg-config
      libsodium-dev libpaho-mqtt-dev libcmocka-dev mosquitto mosquitto-clients
      openssl python3 man-db libcjson-dev"
# libcjson-dev: e2e-sub -F %J (the payload as JSON), with the parser
# mosquitto_sub uses; optional to configure (--without-cjson), wanted here.
case $what in
demo) ;;
test) pkgs="$pkgs python3-paho-mqtt python3-cryptography clang libclang-rt-14-dev
            python3-pip python3-setuptools python3-venv python3-mypy
            valgrind strace gcc-arm-none-eabi libnewlib-arm-none-eabi nodejs
            redis-server libhiredis-dev libssl-dev chromium faketime libsystemd-dev"
      # examples/browser's test drives Debian's chromium (headless) with
      # playwright-core from npm; it never downloads a browser of its own.
      # faketime: test_keydist_tools.py runs members with skewed clocks
      # (libfaketime preloaded; no test hook in libe2e).
      # libe2e-redis (docs/GROUPS.md) builds on libhiredis-dev, and on
      # libssl-dev for rediss://; its tests start their own redis-server
      # (the package's service is not used), with TLS for rediss://.
      # e2e-bridge tells systemd it is ready through libsystemd-dev's
      # sd_notify (optional: without it the unit is Type=simple).
      # bindings/js: Debian's nodejs (18) and npm (9). A nodejs that already
      # brings its own npm (and conflicts with Debian's npm package, as
      # other distributions' nodejs packages do) is kept as it is.
      command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm" ;;
bench) pkgs="$pkgs python3-paho-mqtt python3-cryptography gnuplot-nox" ;;
*) echo "usage: $0 demo|test|bench" >&2; exit 1 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (or with sudo)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $pkgs
