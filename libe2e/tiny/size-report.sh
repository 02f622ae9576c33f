#!/bin/sh
# Flash and stack figures of the tiny profile for Cortex-M0+ and Cortex-M4.
#
#   size-report.sh [--check]
#
# ARM_CC names the cross compiler (default arm-none-eabi-gcc); when it is
# empty or missing the report is skipped (exit 77, "skip" to automake).
# With --check the exit status is 1 when a figure exceeds its target:
# TINY_FLASH_MAX bytes of flash (default 3072) and TINY_STACK_MAX bytes of
# stack for one e2e_tiny_seal call (default 512).
#
# Method (libe2e/tiny/README.md, "Size and memory"):
#  - e2e_tiny.c is compiled with -Os -mthumb -mcpu=<cpu> -ffunction-sections
#    -fdata-sections -fstack-usage; the object may need nothing from a C
#    library but memcpy and memset;
#  - flash is text + data (arm-none-eabi-size) of a program whose only entry
#    is the function measured, linked with --gc-sections against
#    newlib-nano: everything the call needs, memcpy and memset included,
#    and nothing else (no vector table, no start-up code);
#  - stack is the deepest path through the call graph of that program, read
#    from its disassembly (every bl/b to a function), each function counted
#    with its frame: GCC's own figure from the .su file for e2e_tiny.c, and
#    for library functions the registers pushed plus any "sub sp" in their
#    code. An indirect call, recursion or a dynamic frame makes the figure
#    unknowable and the script fails rather than print a wrong one.
set -eu

check=0
[ "${1:-}" = "--check" ] && check=1
: "${ARM_CC=arm-none-eabi-gcc}"
flash_max=${TINY_FLASH_MAX:-3072}
stack_max=${TINY_STACK_MAX:-512}

if [ -z "$ARM_CC" ] || ! command -v "$ARM_CC" >/dev/null 2>&1; then
	echo "tiny-size: no ARM cross compiler (arm-none-eabi-gcc): skipped"
	exit 77
fi
prefix=${ARM_CC%gcc}
SIZE=${prefix}size
OBJDUMP=${prefix}objdump
NM=${prefix}nm

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tiny-size.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# flash ELF: text + data of a linked program.
flash()
{
	"$SIZE" -B "$1" | awk 'NR == 2 { print $1 + $2 }'
}

# stack ELF SU ENTRY: worst-case stack of ENTRY, and the path, on one line.
stack()
{
	"$OBJDUMP" -d --no-show-raw-insn "$1" | awk -v entry="$3" -v su="$2" '
	BEGIN {
		while ((getline line < su) > 0) {
			n = split(line, f, "\t")
			k = split(f[1], name, ":")
			fn = name[k]
			frame[fn] = f[2]
			if (f[3] != "static" && f[3] != "dynamic,bounded")
				bad = bad " " fn "(" f[3] ")"
			fromsu[fn] = 1
		}
	}
	/^[0-9a-f]+ <[^>]+>:$/ {
		cur = $2
		gsub(/[<>:]/, "", cur)
		funcs[cur] = 1
		if (!(cur in frame))
			frame[cur] = 0
		next
	}
	cur == "" { next }
	{
		insn = $2
		if (insn ~ /^(push|stmdb)/ && (fromsu[cur] != 1)) {
			regs = $0
			sub(/^[^{]*\{/, "", regs)
			sub(/\}.*$/, "", regs)
			frame[cur] += 4 * split(regs, r, ",")
		}
		if (insn ~ /^sub/ && $3 ~ /^sp,/ && (fromsu[cur] != 1)) {
			imm = $0
			sub(/^.*#/, "", imm)
			sub(/[^0-9].*$/, "", imm)
			frame[cur] += imm + 0
		}
		if (insn ~ /^blx/ && $3 !~ /</)
			bad = bad " " cur "(indirect call)"
		if (insn ~ /^(bl|blx|b|b\.w|b\.n)$/ && $NF ~ /^<[^+>]+>$/) {
			t = $NF
			gsub(/[<>]/, "", t)
			if (t != cur)
				calls[cur] = calls[cur] " " t
		}
	}
	function deepest(fn, depth,    n, i, c, d, best, bestpath) {
		if (onpath[fn]) {
			bad = bad " " fn "(recursion)"
			return 0
		}
		onpath[fn] = 1
		best = 0
		bestpath = ""
		n = split(calls[fn], c, " ")
		for (i = 1; i <= n; i++) {
			d = deepest(c[i], depth + 1)
			if (d > best) {
				best = d
				bestpath = path[c[i]]
			}
		}
		onpath[fn] = 0
		path[fn] = fn "(" frame[fn] ")" (bestpath != "" ? " > " bestpath : "")
		return frame[fn] + best
	}
	END {
		if (!(entry in funcs)) {
			print "ERROR no function " entry
			exit
		}
		total = deepest(entry, 0)
		if (bad != "")
			print "ERROR" bad
		else
			print total " " path[entry]
	}'
}

status=0
printf '%-14s %-28s %6s %6s  %s\n' cpu measured flash stack "deepest path (frame bytes)"
for cpu in cortex-m0plus cortex-m4; do
	d=$tmp/$cpu
	mkdir -p "$d"
	(cd "$d" && "$ARM_CC" -std=c99 -Os -mthumb -mcpu=$cpu \
		-ffunction-sections -fdata-sections -fstack-usage \
		-Wall -Wextra -c "$here/e2e_tiny.c" -o e2e_tiny.o)
	# Freestanding: nothing from a C library but memcpy and memset.
	extra=$("$NM" -u "$d/e2e_tiny.o" |
		awk '$2 != "memcpy" && $2 != "memset" { printf " %s", $2 }')
	if [ -n "$extra" ]; then
		echo "tiny-size: $cpu: e2e_tiny.o needs more than memcpy and memset:$extra" >&2
		status=1
	fi
	for entry in e2e_tiny_seal e2e_tiny_verify "e2e_tiny_seal e2e_tiny_verify"; do
		undef=
		for e in $entry; do undef="$undef -Wl,-u,$e"; done
		elf=$d/$(echo "$entry" | tr ' ' '+').elf
		# shellcheck disable=SC2086
		"$ARM_CC" -mthumb -mcpu=$cpu -Os --specs=nano.specs \
			-nostartfiles -Wl,--gc-sections \
			-Wl,-e,${entry%% *} $undef "$d/e2e_tiny.o" -o "$elf"
		fl=$(flash "$elf")
		if [ "$entry" = "e2e_tiny_seal e2e_tiny_verify" ]; then
			printf '%-14s %-28s %6s %6s\n' "$cpu" "seal + verify" "$fl" -
			continue
		fi
		st=$(stack "$elf" "$d/e2e_tiny.su" "$entry")
		case $st in
		ERROR*)
			echo "tiny-size: $cpu $entry: cannot bound the stack:${st#ERROR}" >&2
			status=1
			continue
			;;
		esac
		printf '%-14s %-28s %6s %6s  %s\n' "$cpu" "$entry" "$fl" \
			"${st%% *}" "${st#* }"
		if [ "$entry" = e2e_tiny_seal ] && [ $check = 1 ]; then
			if [ "$fl" -gt "$flash_max" ]; then
				echo "tiny-size: $cpu: seal needs $fl bytes of flash, target $flash_max" >&2
				status=1
			fi
			if [ "${st%% *}" -gt "$stack_max" ]; then
				echo "tiny-size: $cpu: seal needs ${st%% *} bytes of stack, target $stack_max" >&2
				status=1
			fi
		fi
	done
done
[ $check = 1 ] && [ $status = 0 ] &&
	echo "tiny-size: within the targets ($flash_max bytes of flash, $stack_max bytes of stack for sealing)"
exit $status
