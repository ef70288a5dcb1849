#!/bin/sh
# run.sh BUILD TEST... - run cmocka test programs and print one summary line
# "N passed, N failed, N skipped" counted over all their test cases.
# Integration tests find the binary through HINOMI_BIN.  Each program runs
# under `timeout` so a stuck test cannot hang the machine or CI.
build=$1; shift
HINOMI_BIN="$(pwd)/$build/hinomi"; export HINOMI_BIN
# what LeakSanitizer does not report: the caches of libraries (lsan.supp)
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
out=$(mktemp)
pass=0; fail=0; skip=0; failed=""
for t in "$@"; do
	echo "== $t"
	timeout 900 "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
	pass=$((pass + ${p:-0})); skip=$((skip + ${s:-0}))
	if [ "$rc" -ne 0 ]; then
		# a crash or a failed group setup counts at least once
		fail=$((fail + ${f:-1})); failed="$failed $t"
	fi
done
rm -f "$out"
echo
[ -n "$failed" ] && echo "failed programs:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
