#!/bin/sh
# The libe2e demo: end-to-end payload security through an unmodified broker.
#
#   sh scripts/demo.sh [BUILDDIR]        (default: $BUILD, else ./build)
#
# Starts a private mosquitto on a free loopback port, enrols the members of a
# group with e2e-keygen (an admin key, the members' own key pairs), runs
# e2e-sub and a streaming e2e-pub that get their keys from the admin's key
# updates through the broker, rotates the key mid-stream (one admin command,
# no copying, no restart, nothing lost), plays the attacker with broker
# access: a replayed, a tampered, a plaintext and an old-key message, each
# refused with its reason; and revokes a member. Everything it starts is
# stopped by PID on exit; its files live in a temporary directory that is
# removed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILD:-$top/build}}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
bin=$build/cli
for tool in e2e-pub e2e-sub e2e-keygen; do
	if [ ! -x "$bin/$tool" ]; then
		echo "demo: $bin/$tool is not built (run scripts/build.sh first)" >&2
		exit 1
	fi
done
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
for tool in "$MOSQUITTO" mosquitto_pub mosquitto_sub; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "demo: $tool not found (sh scripts/install-deps.sh demo)" >&2
		exit 1
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-demo.XXXXXX")
broker_pid='' sub_pid='' pub_pid='' spy_pid='' display_pid=''
cleanup() {
	exec 3>&- 2>/dev/null || true
	for pid in $pub_pid $sub_pid $display_pid $spy_pid $broker_pid; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $pub_pid $sub_pid $display_pid $spy_pid $broker_pid; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then
	say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
	say() { printf '\n%s\n' "$*"; }
fi
run() { printf '   $ %s\n' "$*" | sed "s|$bin/||"; "$@" >/dev/null; }
# wait_for FILE TEXT [COUNT]: until FILE has COUNT lines containing TEXT
# (at most 15 s).
wait_for() {
	i=0
	while :; do
		n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
		[ "${n:-0}" -ge "${3:-1}" ] && break
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "demo: gave up waiting for '$2' in $1" >&2
			cat "$1" >&2
			exit 1
		fi
		sleep 0.1
	done
}
# What the subscriber printed, one line per accepted message.
show_accepted() {
	sed -n 's/^{"topic":"\([^"]*\)","payload":"\([^"]*\)".*"key_id":"\([0-9a-f]*\)".*"counter":\([0-9]*\).*/   subscriber accepted  \1  "\2"   (key \3, message #\4)/p' \
		"$work/sub.out" | sed -n "$1,\$p"
}
# envelope N FILE: the Nth envelope the spy saw, as raw bytes.
envelope() {
	grep '^demo/' "$work/spy.out" | sed -n "$1p" | cut -d' ' -f2 |
		python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' >"$2"
}
show_rejected() {
	grep -- ' rejected ' "$work/sub.err" | sed -n "$1,\$p" |
		sed 's/^/      /'
}

cd "$work"
cat <<EOF
libe2e demo. An MQTT broker routes messages by topic and sees every payload;
TLS protects each hop, not the broker itself. Here the broker is treated as
untrusted: payloads are sealed by the publisher and opened only by holders of
the keys, and anything the broker changes, replays or invents is refused.
(Work files in $work, removed at the end.)
EOF

say "1. A private mosquitto broker on loopback (the untrusted middle)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + $$ % 30000)))
{
	[ "$(id -u)" = 0 ] && echo "user root"
	echo "listener $port 127.0.0.1"
	echo "allow_anonymous true"
	echo "log_dest file $work/broker.log"
} >broker.conf
"$MOSQUITTO" -c broker.conf >/dev/null 2>&1 &
broker_pid=$!
wait_for broker.log "running"
echo "   mosquitto (PID $broker_pid) listens on 127.0.0.1:$port"
conn="-h 127.0.0.1 -p $port"

say "2. Keys through the broker: an admin and the members of group 'plant'"
run "$bin/e2e-keygen" signer new -s admin.sec -p admin.pub --no-passphrase
run "$bin/e2e-keygen" keyring init -K admin.ring
first_key=$("$bin/e2e-keygen" keyring list -K admin.ring | cut -d' ' -f1)
echo "   the group's first key: $first_key (XChaCha20-Poly1305), on the admin only"
for m in pub sub display; do
	printf '   $ e2e-keygen member init -s %s.member -p %s.line --no-passphrase\n' $m $m
	line=$("$bin/e2e-keygen" member init -s $m.member -p $m.line --no-passphrase)
	echo "     $m's public key, the one thing it hands to the admin: $line" | cut -c1-90
	run "$bin/e2e-keygen" admin enrol --members plant.members --group plant -p "$line" $m
done
printf '   $ e2e-keygen admin publish --members plant.members -K admin.ring -s admin.sec\n'
"$bin/e2e-keygen" admin publish --members plant.members -K admin.ring \
	-s admin.sec --host 127.0.0.1 --port "$port" | sed 's/^/     retained update on /'
echo "   (each sealed to one member's key, signed by the admin; no keyring copied)"
member() { echo "-K $1.ring --member-key $1.member --admin-key admin.pub --group plant"; }

say "3. Subscriber, publisher, and a spy with broker access"
# shellcheck disable=SC2086,SC2046
"$bin/e2e-sub" $conn -t 'demo/#' -q 1 $(member sub) --json -d \
	>sub.out 2>sub.err &
sub_pid=$!
wait_for sub.err "key update 1 applied"
echo "   e2e-sub -t 'demo/#' --member-key sub.member ... --json      (PID $sub_pid)"
echo "     $(grep 'key update 1 applied' sub.err | sed 's/^e2e-sub: //')"
# shellcheck disable=SC2086,SC2046
"$bin/e2e-sub" $conn -t 'demo/#' -q 1 $(member display) --json \
	>display.out 2>display.err &
display_pid=$!
wait_for display.err "key update 1 applied"
echo "   e2e-sub ... --member-key display.member   (PID $display_pid, a second member)"
# shellcheck disable=SC2086
mosquitto_sub $conn -t 'demo/#' -t spy/ready -F '%t %x' >spy.out 2>/dev/null &
spy_pid=$!
# The spy says nothing when it is subscribed: knock until it hears.
i=0
until grep -q '^spy/ready' spy.out; do
	i=$((i + 1))
	[ $i -le 150 ] || { echo "demo: the spy did not subscribe" >&2; exit 1; }
	# shellcheck disable=SC2086
	mosquitto_pub $conn -t spy/ready -m knock
	sleep 0.1
done
mkfifo feed
# shellcheck disable=SC2086,SC2046
"$bin/e2e-pub" $conn -t demo/sensors/door -q 1 -l $(member pub) -d \
	<feed >pub.out 2>pub.err &
pub_pid=$!
exec 3>feed
wait_for pub.err "key update 1 applied"
echo "   e2e-pub -t demo/sensors/door -l --member-key pub.member ...  (PID $pub_pid, one message per line)"
echo "   mosquitto_sub -t 'demo/#'                    (the spy: sees what the broker sees)"

say "4. Three readings, sealed with key $first_key"
for reading in "door closed" "door open" "door closed"; do
	echo "$reading" >&3
done
wait_for sub.out '"payload"' 3
show_accepted 1
echo "   what the broker (and the spy) saw of the first one:"
grep '^demo/' spy.out | head -n 1 | cut -c1-100 | sed 's/^/   /; s/$/.../'
echo "   = magic fd, flags, key id, timestamp, sender, sequence, salt, ciphertext, tag"

say "5. Key rotation mid-stream: one command on the admin's side, nothing on the members'"
printf '   $ e2e-keygen admin rotate --members plant.members -K admin.ring -s admin.sec --lead 3 --grace 3\n'
plan=$("$bin/e2e-keygen" admin rotate --members plant.members -K admin.ring \
	-s admin.sec --host 127.0.0.1 --port "$port" --lead 3 --grace 3 | grep '^key ')
echo "     $plan"
new_key=$(echo "$plan" | cut -d' ' -f2)
t_switch=$(echo "$plan" | cut -d' ' -f5 | tr -d ,)
wait_for sub.err "key update 2 applied"
wait_for pub.err "key update 2 applied"
echo "   every member holds $new_key now (the subscriber: $(grep 'key update 2 applied' sub.err | sed 's/^e2e-sub: key update 2 applied: //'))"
echo "   a reading before T, still sealed with $first_key:"
echo "door open" >&3
wait_for sub.out '"payload"' 4
show_accepted 4
while [ "$(date +%s)" -le "$t_switch" ]; do sleep 0.2; done
echo "   T has passed: the publisher seals with $new_key by itself"
echo "door closed" >&3
wait_for sub.out '"payload"' 5
show_accepted 5
echo "   and $first_key is disabled at T + 3 s by its schedule"
while [ "$(date +%s)" -le $((t_switch + 3)) ]; do sleep 0.2; done
if grep -q 'connection lost' sub.err pub.err; then
	echo "   (a connection was lost during the demo)"
else
	echo "   neither tool reconnected or reloaded: the rotation needed no restart"
fi

say "6. The attacker with broker access"
echo "   a) records a genuine message as it goes by, then sends it again"
echo "door open" >&3
wait_for sub.out '"payload"' 6
show_accepted 6
wait_for spy.out '^demo/' 6
envelope 6 last.bin
# shellcheck disable=SC2086
mosquitto_pub $conn -t demo/sensors/door -f last.bin
wait_for sub.err ' rejected ' 1
show_rejected 1
echo "   b) changes one byte (the sequence number, to dodge the replay check)"
cp last.bin tampered.bin
byte=$(od -An -tu1 -j25 -N1 last.bin | tr -d ' ')
# shellcheck disable=SC2059 # an octal escape built on purpose
printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
	dd of=tampered.bin bs=1 seek=25 conv=notrunc 2>/dev/null
# shellcheck disable=SC2086
mosquitto_pub $conn -t demo/sensors/door -f tampered.bin
wait_for sub.err ' rejected ' 2
show_rejected 2
echo "   c) injects a plaintext command"
# shellcheck disable=SC2086
mosquitto_pub $conn -t demo/sensors/door -m '{"door":"unlock"}'
wait_for sub.err ' rejected ' 3
show_rejected 3
echo "   d) replays a message sealed with the retired key $first_key"
envelope 1 old.bin
# shellcheck disable=SC2086
mosquitto_pub $conn -t demo/sensors/door -f old.bin
wait_for sub.err ' rejected ' 4
show_rejected 4
echo "   and genuine traffic still flows:"
echo "door closed" >&3
wait_for sub.out '"payload"' 7
show_accepted 7

say "7. Revocation: the member 'display' is removed"
run "$bin/e2e-keygen" admin remove --members plant.members --host 127.0.0.1 --port "$port" display
printf '   $ e2e-keygen admin rotate --members plant.members -K admin.ring -s admin.sec --lead 2 --grace 2\n'
plan=$("$bin/e2e-keygen" admin rotate --members plant.members -K admin.ring \
	-s admin.sec --host 127.0.0.1 --port "$port" --lead 2 --grace 2 | grep '^key ')
echo "     $plan (to the remaining members only)"
t_switch=$(echo "$plan" | cut -d' ' -f5 | tr -d ,)
wait_for sub.err "key update 3 applied"
wait_for pub.err "key update 3 applied"
echo "   the subscriber: $(grep 'key update 3 applied' sub.err | sed 's/^e2e-sub: //'); display: none"
while [ "$(date +%s)" -le "$t_switch" ]; do sleep 0.2; done
echo "door open" >&3
wait_for sub.out '"payload"' 8
show_accepted 8
wait_for display.err 'unknown-key'
echo "   the removed member opens nothing sealed after T:"
grep -- 'unknown-key' display.err | tail -n 1 | sed 's/^/      /'

say "8. Done"
exec 3>&-
wait "$pub_pid" 2>/dev/null || true
pub_pid=
cat <<EOF
   The subscriber printed 8 genuine messages, each exactly once, across two
   key switches (a rotation and a revocation), with its keys delivered by
   the broker, and refused 4 forgeries with a stable reason each: replay,
   bad-tag, not-e2e, disabled-key. The broker saw only ciphertext.
   Stopping the subscribers, the spy and the broker (by PID), removing $work.
EOF
