#!/bin/sh
# Count test cases (not programs) from the logs of automake's test harness:
# cmocka's "[  PASSED  ] N test(s)" / "[  FAILED  ] N test(s)" lines and
# Python unittest's "Ran N tests" / "FAILED (failures=F, errors=E)", and
# node --test's TAP totals "# pass N", "# fail N", "# cancelled N",
# "# skipped N" (bindings/js). A program that failed without a failed case
# in its log (it stopped early: a crash, an install step, a timeout) counts
# as one failure, so a failing run never reads "0 failed". A FUZZ-SUMMARY
# file (tests/fuzz/run.sh's table, as scripts/test.sh saves it) counts one
# case per target: "ok" passed, "FAILED" failed; a fuzz build that failed
# counts as one failure.
#   scripts/test-summary.sh BUILDDIR... [FUZZ-SUMMARY] [LABEL]
set -u
dirs=""
label=""
fuzz=""
for a in "$@"; do
	if [ -z "$a" ]; then continue
	elif [ -d "$a" ]; then dirs="$dirs $a"
	elif [ -f "$a" ]; then fuzz="$fuzz $a"
	else label="$a"; fi
done
logs="$fuzz"
for d in $dirs; do
	logs="$logs $(find "$d" -name '*.log' ! -name test-suite.log ! -name config.log 2>/dev/null)"
done
# shellcheck disable=SC2086
awk -v label="$label" -v fuzz="$fuzz" '
function close_log() {
	if (progfailed && fail + pyfail == fails_before) fail++
	progfailed = 0; fails_before = fail + pyfail
}
FNR == 1 { close_log(); isfuzz = index(" " fuzz " ", " " FILENAME " ") > 0 }
isfuzz && /^[A-Za-z0-9_]+ +[0-9]+ +[0-9]+ +ok$/ { pass++; next }
isfuzz && /^[A-Za-z0-9_]+ +[0-9]+ +[0-9]+ +FAILED/ { fail++; next }
isfuzz && /^run\.sh: build failed/ { fail++; next }
isfuzz { next }
/^(FAIL|ERROR) .* \(exit status: [0-9]+\)$/ { progfailed = 1 }
/^\[  PASSED  \] [0-9]+ test/ { pass += $4 }
/^\[  FAILED  \] [0-9]+ test/ { fail += $4 }
/^\[  SKIPPED \] [0-9]+ test/ { skip += $4 }
/^Ran [0-9]+ tests? in/ { ran = $2; py += ran }
/^FAILED \(/ {
	n = 0; s = $0
	while (match(s, /(failures|errors)=[0-9]+/)) {
		part = substr(s, RSTART, RLENGTH); sub(/.*=/, "", part)
		n += part; s = substr(s, RSTART + RLENGTH)
	}
	pyfail += n
}
/^OK \(skipped=[0-9]+\)/ { t = $0; sub(/.*skipped=/, "", t); sub(/\).*/, "", t); pyskip += t }
/^PASS: [0-9]+ passed/ { pass += $2 }
/^# pass [0-9]+$/ { pass += $3 }
/^# (fail|cancelled) [0-9]+$/ { fail += $3 }
/^# skipped [0-9]+$/ { skip += $3 }
END {
	close_log()
	p = pass + py - pyfail - pyskip; f = fail + pyfail; s = skip + pyskip
	if (label != "") printf "%s: ", label
	printf "%d passed, %d failed, %d skipped\n", p, f, s
}' /dev/null $logs
