# Sourced by every tests/e2e script: where the network lives and its fixed
# addresses.  Everything under $E2E_DIR is made at run time and thrown away.
E2E_SRC=$(cd "$(dirname "$0")" && pwd)
E2E_TOP=$(cd "$E2E_SRC/../.." && pwd)
# Postfix's daemons (user postfix) and virtual(8) (user nobody) must reach
# the queue and Maildirs: every directory above them needs o+x.  A clone in
# /root (mode 700, as in CI) does not allow that: use /var/tmp there.
e2e_walkable() {
	_p=$1
	while [ "$_p" != / ] && [ -n "$_p" ]; do
		[ -n "$(find "$_p" -maxdepth 0 -perm -o+x 2>/dev/null)" ] || return 1
		_p=$(dirname "$_p")
	done
}
if [ -z "${E2E_DIR:-}" ]; then
	if e2e_walkable "$E2E_TOP"; then E2E_DIR=$E2E_TOP/build/e2e; else E2E_DIR=/var/tmp/ntamsa-e2e; fi
fi
export E2E_SRC E2E_TOP E2E_DIR

E2E_NS_ADDR=127.0.10.53          # NSD: root, test. and every leaf zone
E2E_MSA_ADDR=127.0.30.1          # ntamsa's submission ports and portal
E2E_PROVIDER_ID=ntamsa-e2e-provider          # nta.provider_id (ours)
E2E_RX_PROVIDER=e2e-receiving-provider       # provider= in the recipients' records
E2E_OU_MARKER=NTA7516-TEST-MARKER
E2E_DKIM_DOMAIN=sender.test
E2E_DKIM_SELECTOR=e2e
E2E_PORTAL_AFTER=${E2E_PORTAL_AFTER:-10}   # seconds (nta.portal_after)
export E2E_NS_ADDR E2E_MSA_ADDR E2E_PROVIDER_ID E2E_RX_PROVIDER E2E_OU_MARKER
export E2E_DKIM_DOMAIN E2E_DKIM_SELECTOR E2E_PORTAL_AFTER

NTAMSA_BIN=${NTAMSA_TEST_BIN:-$E2E_TOP/build/asan/ntamsa}
[ -x "$NTAMSA_BIN" ] || NTAMSA_BIN=$E2E_TOP/ntamsa
NTAMSA_CONF=$E2E_DIR/ntamsa/ntamsa.conf
UNBOUND_CONF=$E2E_DIR/unbound.conf
export NTAMSA_BIN NTAMSA_CONF UNBOUND_CONF

# IPv6 receivers need ::1 on lo; a machine (or container) without IPv6
# runs the rest, and run.sh says SKIP for the IPv6 scenarios.
# E2E_IPV6=0 in the environment forces the IPv4-only run (to test it).
if [ -n "${E2E_IPV6:-}" ]; then :
elif ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then E2E_IPV6=1
else E2E_IPV6=0; fi
export E2E_IPV6
# IPv6 receivers' names, one per line (receivers whose address has a colon).
e2e_rx_v6() { grep -v '^#' "$E2E_SRC/receivers.tsv" | awk -F'\t' '$2 ~ /:/ { print $1 }'; }
# Receivers: "name addr cert mode" lines, comments dropped.
e2e_receivers() {
	grep -v '^#' "$E2E_SRC/receivers.tsv" | grep -v '^$' |
		awk -F'\t' -v v6="$E2E_IPV6" 'v6 == 1 || $2 !~ /:/'
}
# Scenarios: "domain dns health health_rx clean_rx notify_rx dns_channel note"
# lines; without IPv6, none that needs an IPv6 receiver.
e2e_scenarios() {
	grep -v '^#' "$E2E_SRC/scenarios.tsv" | grep -v '^$' |
		awk -F'\t' -v v6="$E2E_IPV6" -v rx="$(e2e_rx_v6 | tr '\n' ' ')" '
		BEGIN { n = split(rx, r, " "); for (i = 1; i <= n; i++) six[r[i]] = 1 }
		v6 == 1 || !(($4 in six) || ($5 in six) || ($6 in six))'
}
# Address of a receiver by name.
e2e_rx_addr() { e2e_receivers | awk -F'\t' -v n="$1" '$1 == n { print $2 }'; }

# Every process of the network still running: Postfix processes (their
# environment has MAIL_CONFIG=$E2E_DIR/rx/...), and NSD, ntamsa or a Postfix
# master whose command line names a path under $E2E_DIR.  Never a shell or
# an editor that merely names such a path.
e2e_daemons() {
	{
		grep -lz "^MAIL_CONFIG=$E2E_DIR/rx/" /proc/[0-9]*/environ 2>/dev/null |
			sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'
		for _p in $(pgrep -f "$E2E_DIR/"); do
			case $(cat "/proc/$_p/comm" 2>/dev/null) in nsd* | ntamsa* | master) echo "$_p" ;; esac
		done
	} | sort -u
}
