#!/bin/sh
# Tears the e2e network down: every receiving Postfix (by its config dir,
# also processes whose master died), NSD, and an ntamsa started by the
# scenario scripts (pid file $E2E_DIR/ntamsa/serve.pid).  Keeps $E2E_DIR
# for post-mortem reading; up.sh wipes it.  Exit 1 if anything survived.
set -u
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/postfix.sh"

[ -d "$E2E_DIR" ] || exit 0
if [ -f "$E2E_DIR/ntamsa/serve.pid" ]; then
	pid=$(cat "$E2E_DIR/ntamsa/serve.pid")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		i=0
		while [ $i -lt 50 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$E2E_DIR/ntamsa/serve.pid"
fi
rx_sweep
[ -d "$E2E_DIR/dns" ] && python3 "$E2E_SRC/dnsnet/dnsnet.py" down --work "$E2E_DIR/dns"

# Whatever still runs from a config or data path under $E2E_DIR (NSD's and
# ntamsa's children exit shortly after their parent: give them 3 s).
leftovers() { e2e_daemons; }
i=0
while [ $i -lt 30 ] && [ -n "$(leftovers)" ]; do sleep 0.1; i=$((i + 1)); done
left=$(leftovers)
if [ -n "$left" ]; then
	echo "e2e-down: killing leftovers:" $left >&2
	ps -o pid=,args= -p "$(echo $left | tr ' ' ',')" >&2 2>/dev/null
	kill -9 $left 2>/dev/null
	sleep 0.2
	left=$(leftovers)
	[ -z "$left" ] || { echo "e2e-down: still running:" $left >&2; exit 1; }
fi
exit 0
