#!/bin/sh
# The end-to-end suite: brings the test network up (up.sh), runs every
# tests/e2e/t_*.sh and t_*.py check, tears the network down (down.sh, also
# when a check fails or the run is interrupted) and checks that no process
# of it is left.  Prints PASS/FAIL/SKIP lines; exits non-zero on failure.
# E2E_ONLY="t_a.sh t_b.sh" limits the checks to those.
set -u
. "$(dirname "$0")/env.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: e2e needs root (ports 25 and 53 on loopback, Postfix users)"
	exit 0
fi

# One network at a time on this machine (fixed addresses): a second run
# (another clone, another engineer) waits for the first.  Nothing started
# from here inherits fd 9 (9>&-), so daemons cannot keep the lock.
exec 9>/tmp/ntamsa-e2e.lock
if ! flock -w 900 9; then
	echo "FAIL: e2e-lock another e2e run held /tmp/ntamsa-e2e.lock for 15 minutes"
	exit 1
fi

down() { "$E2E_SRC/down.sh" 9>&-; }
child=""
# Interrupted: stop the running check (and what it started) before down.
stop_child() { [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null; child=""; }
trap 'stop_child; down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

if "$E2E_SRC/up.sh" 9>&-; then
	echo "PASS: e2e-up"
else
	echo "FAIL: e2e-up network did not come up (see output above)"
	exit 1
fi
. "$E2E_DIR/env"
[ "$E2E_IPV6" = 1 ] || for r in $(e2e_rx_v6); do
	echo "SKIP: e2e-ipv6-$r no ::1 on lo here: its scenarios are left out"
done

rc=0
for t in "$E2E_SRC"/t_*.sh "$E2E_SRC"/t_*.py; do
	[ -x "$t" ] || continue
	# E2E_ONLY="t_dns.sh t_receivers.sh" runs just those (by hand).
	if [ -n "${E2E_ONLY:-}" ]; then
		case " $E2E_ONLY " in *" $(basename "$t") "*) ;; *) continue ;; esac
	fi
	echo "# $(basename "$t")"
	t0=$(date +%s)
	# In the background, so that a signal to run.sh interrupts the wait.
	out=$E2E_DIR/out.$(basename "$t")
	"$t" 9>&- >"$out" 2>&1 &
	child=$!
	st=0
	wait "$child" || st=$?
	child=""
	cat "$out"
	# A script that dies (a syntax error, say) must not pass for quiet.
	if [ $st -ne 0 ]; then
		rc=1
		grep -q '^FAIL: ' "$out" || echo "FAIL: e2e-script-$(basename "$t") exited $st without a FAIL line"
	fi
	echo "# $(basename "$t"): $(($(date +%s) - t0)) s"
done

if down; then
	left=$(e2e_daemons)
	if [ -z "$left" ]; then
		echo "PASS: e2e-teardown"
	else
		echo "FAIL: e2e-teardown processes left: $left"; rc=1
	fi
else
	echo "FAIL: e2e-teardown down.sh could not stop everything"; rc=1
fi
trap - EXIT
exit $rc
