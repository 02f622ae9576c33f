#!/bin/sh
# Every benchmark, one after the other, with /proc/loadavg before and
# after each: the run that docs/PERFORMANCE.md is regenerated from.
#
#   tests/bench/bench_all.sh [--quick] [--only STEP,...] [--skip STEP,...]
#                            [--list] [BUILD-DIR]
#   make bench-all [BENCH_ALL_ARGS="--quick ..."]
#
# BUILD-DIR (default: the current directory) is a configured and built
# tree. Steps, in order (--list prints them with their commands):
#
#   lib            make bench-lib: library table and plot, guard timings
#   guard-counted  callgrind --cache-sim on the guard, 100 000 senders, in
#                  random and in fill order: instructions and L1 misses per
#                  check+commit
#   redis          make bench-redis: the in-memory guard against Redis's
#   redis-counted  bench_redis --counted: redis-server CPU per message
#   e2e            make bench-e2e: our tools, mosquitto's, the Paho pair
#   e2e-counted    bench_e2e.py --counted: instructions, syscalls per message
#   groups         make bench-groups: e2e-sub with its state in Redis
#   bridge         make bench-bridge: e2e-bridge against mosquitto's bridge
#   bridge-counted bench_bridge.py --counted: per message, per QoS
#   bridge-state   make bench-bridge-state: state FILE against redis://
#
# The Redis steps are skipped when the build has no bench_redis (configure
# without hiredis) or no redis-server was found. --quick runs each with
# small counts (a check that everything runs, minutes rather than hours;
# its figures are rough). Steps never run in parallel. Each step runs what
# its make target runs and keeps its output in BUILD-DIR/tests/bench/
# perf-STEP.txt (perf-lib also .csv and, with gnuplot, .png; perf-e2e.csv);
# `make bench-all` also keeps this whole log in tests/bench/perf-all.txt.
# Exit status: 0 when every step that ran succeeded (a step's exit status
# is kept, not lost in a pipe as the make targets' tee loses it).
#
# Environment: MAKE, PYTHON3, MOSQUITTO, REDIS_SERVER (make bench-all sets
# them from configure's findings).
set -u
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
quick=0
only=
skip=
list=0
build=.
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--only) only=$2; shift ;;
	--only=*) only=${1#--only=} ;;
	--skip) skip=$2; shift ;;
	--skip=*) skip=${1#--skip=} ;;
	--list) list=1 ;;
	-h | --help)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	-*) echo "bench_all: unknown option $1 (--help)" >&2; exit 2 ;;
	*) build=$1 ;;
	esac
	shift
done
cd "$build" || exit 2
build=$(pwd)
: "${MAKE:=make}" "${PYTHON3:=python3}" "${MOSQUITTO:=mosquitto}"
: "${REDIS_SERVER:=}"
export MOSQUITTO REDIS_SERVER

# Arguments of each step, full and --quick.
if [ $quick = 1 ]; then
	lib_args=--quick
	guard_count=100000
	redis_args="--messages 2000"
	e2e_args="--messages 5000 --runs 1 --sizes 64 --qos 0,1 --memory 20000"
	e2e_counted_args="--sizes 64 --qos 0,1 --counted-messages 100"
	groups_args="--messages 2000 --runs 1 --sizes 64 --members 1,2"
	bridge_args="--messages 2000 --runs 1 --sizes 64 --memory 20000"
	bridge_counted_args="--messages 1000 --sizes 64"
	bridge_state_args="--messages 2000 --runs 1"
else
	lib_args=
	guard_count=1000000
	redis_args=
	e2e_args=
	e2e_counted_args="--sizes 64 --qos 0,1 --counted-messages 300"
	groups_args=
	bridge_args=
	bridge_counted_args="--sizes 64"
	bridge_state_args=
fi

steps="lib guard-counted redis redis-counted e2e e2e-counted groups bridge
bridge-counted bridge-state"

# The command of a step, as it runs (eval) and as the log shows it: what
# its make target runs, but keeping the exit status (the targets' tee
# loses it). keep FILE CMD...: CMD's output on stdout and in FILE.
command_of() {
	py="\"\$PYTHON3\" \"\$srcdir/tests/bench"
	bd="--builddir \"\$build\""
	case $1 in
	lib) echo "keep tests/bench/perf-lib.txt tests/bench/bench_lib" \
		"$lib_args --csv tests/bench/perf-lib.csv && plot_lib" ;;
	guard-counted) echo "guard_counted $guard_count" ;;
	redis) echo "keep tests/bench/perf-redis.txt tests/bench/bench_redis" \
		"$redis_args" ;;
	redis-counted) echo "tests/bench/bench_redis --counted $redis_args" ;;
	e2e) echo "keep tests/bench/perf-e2e.txt $py/bench_e2e.py\" $bd" \
		"$e2e_args --csv tests/bench/perf-e2e.csv" ;;
	e2e-counted) echo "keep tests/bench/perf-e2e-counted.txt" \
		"$py/bench_e2e.py\" --counted $bd $e2e_counted_args" ;;
	groups) echo "keep tests/bench/perf-groups.txt" \
		"$py/bench_groups.py\" $bd $groups_args" ;;
	bridge) echo "keep tests/bench/perf-bridge.txt" \
		"$py/bench_bridge.py\" $bd $bridge_args" ;;
	bridge-counted) echo "keep tests/bench/perf-bridge-counted.txt" \
		"$py/bench_bridge.py\" --counted $bd $bridge_counted_args" ;;
	bridge-state) echo "keep tests/bench/perf-bridge-state.txt" \
		"$py/bench_bridge_state.py\" $bd $bridge_state_args" ;;
	esac
}

keep() {
	f=$1
	shift
	{
		"$@"
		echo $? >"$f.rc"
	} 2>&1 | tee "$f"
	rc=$(cat "$f.rc" 2>/dev/null || echo 1)
	rm -f "$f.rc"
	return "$rc"
}

# bench-lib's plot, when gnuplot is there (the figures do not need it).
plot_lib() {
	if command -v gnuplot >/dev/null; then
		sh "$srcdir/tests/bench/plot-lib.sh" tests/bench/perf-lib.csv \
			tests/bench/perf-lib.png
	else
		echo "bench_all: no gnuplot, tests/bench/perf-lib.png not drawn"
	fi
}

# Why a step cannot run here, or nothing.
unavailable() {
	case $1 in
	redis | redis-counted)
		[ -x tests/bench/bench_redis ] ||
			echo "no tests/bench/bench_redis (built without hiredis)"
		[ -n "$REDIS_SERVER" ] || echo "no redis-server" ;;
	groups | bridge-state)
		[ -n "$REDIS_SERVER" ] || echo "no redis-server" ;;
	guard-counted | e2e-counted | bridge-counted)
		command -v valgrind >/dev/null || echo "no valgrind" ;;
	esac
	case $1 in
	e2e-counted | bridge-counted)
		command -v strace >/dev/null || echo "no strace" ;;
	esac
}

in_list() { # in_list WORD LIST(comma-separated)
	case ",$2," in *",$1,"*) return 0 ;; esac
	return 1
}

for s in $(echo "$only,$skip" | tr , ' '); do
	in_list "$s" "$(echo $steps | tr ' ' ,)" && continue
	echo "bench_all: no step '$s' (--list)" >&2
	exit 2
done

# The guard under callgrind: per check+commit, from the totals of the
# collected function (guard_counted) divided by the count.
guard_counted() {
	guard_count=$1
	out=$(mktemp -d "${TMPDIR:-/tmp}/bench-all-guard.XXXXXX") || return 1
	rc=0
	printf '%-7s %8s %14s %12s %12s\n' order senders "instr/check" \
		"D1 miss/chk" "LL miss/chk"
	for order in random fill; do
		valgrind --tool=callgrind --cache-sim=yes \
			--toggle-collect=guard_counted \
			--callgrind-out-file="$out/cg.$order" \
			tests/bench/bench_lib --only guard --senders 100000 \
			--order $order --count $guard_count \
			>"$out/log.$order" 2>&1 || { rc=1; cat "$out/log.$order"; }
		awk -v n=$guard_count -v order=$order '
			/^events:/ { for (i = 2; i <= NF; i++) ev[$i] = i - 1 }
			/^(summary|totals):/ {
				d1 = $(ev["D1mr"] + 1) + $(ev["D1mw"] + 1)
				ll = $(ev["DLmr"] + 1) + $(ev["DLmw"] + 1)
				printf "%-7s %8d %14.0f %12.2f %12.2f\n", order,
				       100000, $(ev["Ir"] + 1) / n, d1 / n, ll / n
				exit
			}' "$out/cg.$order" || rc=1
	done
	rm -rf "$out"
	return $rc
}

if [ $list = 1 ]; then
	for s in $steps; do
		printf '%-15s %s\n' "$s" "$(command_of $s)"
	done
	echo
	echo "guard_counted N, for order in random and fill:"
	echo "  valgrind --tool=callgrind --cache-sim=yes" \
		"--toggle-collect=guard_counted tests/bench/bench_lib" \
		"--only guard --senders 100000 --order ORDER --count N"
	echo "keep FILE CMD: CMD's output also in FILE"
	echo "PYTHON3=$PYTHON3 srcdir=$srcdir build=$build"
	exit 0
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

summary=
failed=0
echo "bench_all: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), build $build," \
	"$([ $quick = 1 ] && echo quick || echo full) run," \
	"commit $(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo ?)"
echo "bench_all: PYTHON3=$PYTHON3 MOSQUITTO=$MOSQUITTO" \
	"REDIS_SERVER=${REDIS_SERVER:-none} srcdir=$srcdir"
echo "bench_all: $(nproc) CPUs, load average $(loadavg) at the start"
for s in $steps; do
	if [ -n "$only" ] && ! in_list $s "$only"; then continue; fi
	if in_list $s "$skip"; then continue; fi
	why=$(unavailable $s)
	echo
	echo "==== $s: $(command_of $s)"
	if [ -n "$why" ]; then
		echo "==== $s skipped: $(echo $why)"
		summary="$summary$(printf '%-15s %-16s %-16s %7s  %s' $s - - - \
			"skipped ($(echo $why))")
"
		continue
	fi
	before=$(loadavg)
	t0=$(date +%s)
	echo "==== $s: load average before: $before"
	eval "$(command_of $s)"
	rc=$?
	after=$(loadavg)
	t=$(($(date +%s) - t0))
	echo "==== $s: load average after: $after ($t s, exit status $rc)"
	[ $rc = 0 ] || failed=1
	summary="$summary$(printf '%-15s %-16s %-16s %6ss  %s' $s \
		"$(echo $before | tr ' ' /)" "$(echo $after | tr ' ' /)" $t \
		"$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")
"
done
echo
echo "bench_all: summary (load average 1/5/15 min before and after each)"
printf '%-15s %-16s %-16s %7s  %s\n' step before after time status
printf '%s' "$summary"
exit $failed
