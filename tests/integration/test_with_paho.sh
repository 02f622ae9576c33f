#!/bin/sh
# ./configure --with-paho=DIR: the tools are built against the Paho MQTT C
# installed under DIR (DIR/include, DIR/lib), not the system's, and find it
# at run time through their RUNPATH (for a Paho built with
# PAHO_HIGH_PERFORMANCE: README, docs/PERFORMANCE.md). DIR here is made of
# links to the system's own Paho, so that the test needs nothing else; what
# it checks is that DIR, and only DIR, is used. A DIR without Paho is a
# configure error that names it.
set -u
: "${top_srcdir:?}"
cc=${CC:-cc}
lib=$($cc -print-file-name=libpaho-mqtt3as.so)
hdr=$(printf '#include <MQTTAsync.h>\n' | $cc -M -x c - 2>/dev/null |
	tr ' \\' '\n\n' | grep '/MQTTAsync\.h$' | head -n 1)
if [ "$lib" = libpaho-mqtt3as.so ] || [ -z "$hdr" ]; then
	echo "SKIP: the system has no Paho MQTT C to link to" >&2
	exit 77
fi
if [ -f "$top_srcdir/config.status" ]; then
	# configure refuses a second, out-of-tree build of a tree built in place.
	echo "SKIP: the source tree is configured in place (make distclean)" >&2
	exit 77
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, then a command that must succeed
	name=$1
	shift
	if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fail=1; fi
}

mkdir -p "$tmp/paho/include" "$tmp/paho/lib" "$tmp/empty/include" \
	"$tmp/empty/lib"
ln -s "$(dirname "$hdr")"/MQTT*.h "$tmp/paho/include/"
ln -s "$(dirname "$lib")"/libpaho-mqtt3*.so* "$tmp/paho/lib/"

configure() { # build dir, --with-paho value
	mkdir -p "$1" && (cd "$1" && "$top_srcdir/configure" --with-paho="$2" \
		--without-redis >configure.out 2>&1)
}

configure "$tmp/b" "$tmp/paho"
check "configure --with-paho=DIR succeeds" test $? -eq 0
want="PAHO_A_LIBS = -L$tmp/paho/lib -Wl,-rpath,$tmp/paho/lib -lpaho-mqtt3as"
check "the tools link with DIR/lib and its RUNPATH" \
	grep -q "^$want *\$" "$tmp/b/Makefile"
check "the headers come from DIR/include" \
	grep -qxF "PAHO_CPPFLAGS = -I$tmp/paho/include" "$tmp/b/Makefile"

make -C "$tmp/b" -j2 cli/e2e-pub >"$tmp/make.out" 2>&1
check "e2e-pub builds against DIR" test $? -eq 0
bin=$tmp/b/cli/.libs/e2e-pub
[ -f "$bin" ] || bin=$tmp/b/cli/e2e-pub
check "e2e-pub's RUNPATH holds DIR/lib" \
	sh -c "readelf -d '$bin' | grep -q 'R.*PATH.*$tmp/paho/lib'"
check "at run time e2e-pub loads Paho from DIR/lib" \
	sh -c "ldd '$bin' | grep -q 'libpaho-mqtt3as.so.1 => $tmp/paho/lib/'"

configure "$tmp/c" "$tmp/nowhere"
check "a DIR that does not exist is a configure error" test $? -ne 0
check "... that names DIR" grep -q "no directory $tmp/nowhere/include" \
	"$tmp/c/configure.out"
configure "$tmp/d" "$tmp/empty"
check "a DIR without Paho is a configure error" test $? -ne 0
check "... that names DIR" \
	grep -q -- "--with-paho=$tmp/empty: Paho MQTT C not found there" \
	"$tmp/d/configure.out"

[ $fail -eq 0 ] || { tail -n 20 "$tmp/make.out" "$tmp"/*/configure.out; }
exit $fail
