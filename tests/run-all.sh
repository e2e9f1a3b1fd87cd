#!/bin/sh
# Runs every test of ntamsa and ends with "N passed, N failed".
#
# Test programs speak one of two languages:
#   cmocka unit tests (build/asan/tests/test_*): their summary lines count;
#   scripts (tests/integration/*, tests/e2e/run.sh, tests/fuzz/run.sh, eval):
#     one line per case, "PASS: name", "FAIL: name" or "SKIP: name why".
# A program that exits non-zero without reporting a failure counts as one.
# Set ONLY=unit|integration|e2e|fuzz|eval to run one group.
set -u
cd "$(dirname "$0")/.."

# The integration tests and the e2e network use fixed loopback addresses
# and ports: a second full run on this machine (another clone, another
# engineer) waits for the first instead of colliding with it.  flock -o
# holds the lock itself and gives none of it to the tests, so a daemon a
# test leaked cannot keep it.
if [ -z "${NTAMSA_TESTS_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	export NTAMSA_TESTS_LOCKED=1
	echo "run-all: waiting for /tmp/ntamsa-tests.lock if another run holds it"
	exec flock -w 3600 -o /tmp/ntamsa-tests.lock sh "$0" "$@"
fi

export ASAN_OPTIONS="abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
export NTAMSA_TEST_BIN="$PWD/build/asan/ntamsa"
export NTAMSA_REL_BIN="$PWD/ntamsa"

LOGDIR=build/test-logs
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
passed=0; failed=0; skipped=0; failures=""

note_fail() { failed=$((failed + 1)); failures="$failures
  $1"; }

run_cmocka() {
	t=$1; name=$(basename "$t"); log="$LOGDIR/$name.log"
	"$t" >"$log" 2>&1; rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0}; f=${f:-0}
	passed=$((passed + p))
	if [ "$f" -gt 0 ]; then
		failed=$((failed + f))
		failures="$failures
  $name: $f failed (log $log)"
	elif [ $rc -ne 0 ]; then
		note_fail "$name: exit $rc (log $log)"
	fi
	echo "unit $name: $p passed, $f failed"
}

run_script() {
	label=$1; shift; log="$LOGDIR/$label.log"
	"$@" >"$log" 2>&1; rc=$?
	p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); s=$(grep -c '^SKIP: ' "$log")
	passed=$((passed + p)); skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failed=$((failed + f))
		grep '^FAIL: ' "$log" | while read -r l; do echo "  $label $l"; done
		failures="$failures
  $label: $f failed (log $log)"
	elif [ $rc -ne 0 ]; then
		note_fail "$label: exit $rc without a FAIL line (log $log)"
		tail -5 "$log"
	fi
	echo "$label: $p passed, $f failed, $s skipped"
}

want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

if want unit; then
	for t in build/asan/tests/test_*; do
		[ -x "$t" ] && run_cmocka "$t"
	done
fi
if want integration; then
	for t in tests/integration/t_*; do
		[ -x "$t" ] && run_script "integration-$(basename "$t")" "$t"
	done
fi
if want e2e && [ -x tests/e2e/run.sh ]; then
	run_script e2e tests/e2e/run.sh
fi
if want fuzz && [ -x tests/fuzz/run.sh ]; then
	run_script fuzz tests/fuzz/run.sh
fi
if want eval && [ -f tests/corpus/eval.py ]; then
	run_script eval python3 tests/corpus/eval.py --check "$NTAMSA_REL_BIN" tests/corpus
fi

[ -n "$failures" ] && printf '\nfailures:%s\n' "$failures"
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
