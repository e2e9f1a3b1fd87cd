#!/bin/sh
# DANE as published, checked with OpenSSL's own DANE code (openssl s_client
# -dane_tlsa_rrdata) against the receivers, independent of ntamsa: the TLSA
# records the validating resolver returns authenticate the receiver of the
# dane scenarios (DANE-EE for dane, DANE-TA for dane-ta, every nta-ntamx
# host) and fail for dane-mismatch.
set -u
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/lib.sh"

# dane_probe HOST ADDR: s_client with every secure TLSA record of HOST.
dane_probe() {
	recs=$(timeout 30 unbound-host -C "$UNBOUND_CONF" -v -t TLSA "_25._tcp.$1" 2>&1 |
		sed -n 's/.* has TLSA record \([0-9] [0-9] [0-9] [0-9A-Fa-f]*\) (secure)$/\1/p')
	[ -n "$recs" ] || { echo "no secure TLSA for $1"; return; }
	set -- "$1" "$2"
	args=""
	for r in $(echo "$recs" | tr ' ' '_'); do args="$args -dane_tlsa_rrdata $(echo "$r" | tr '_' ' ' | sed 's/ /\\ /g')"; done
	eval "timeout 10 openssl s_client -connect $2:25 -starttls smtp -servername $1 \
		-dane_tlsa_domain $1 -dane_ee_no_namechecks -verify_return_error $args" </dev/null 2>&1
}

for c in "dane mx.dane.test 127.0.20.11 EE" "dane-ta mx.dane-ta.test 127.0.20.11 TA" \
	"ntamx-mx20 mx20.nta-ntamx.test 127.0.20.21 EE" "ntamx-mx mx.nta-ntamx.test 127.0.20.22 EE"; do
	set -- $c
	out=$(dane_probe "$2" "$3")
	check "dane-probe-$1" "$(echo "$out" | grep -m1 -E 'Verification|verify error|no secure')" \
		sh -c 'echo "$1" | grep -q "^Verification: OK" && echo "$1" | grep -q "matched $2"' - "$out" "$4"
done
out=$(dane_probe mx.dane-mismatch.test 127.0.20.11)
check dane-probe-mismatch-fails "$(echo "$out" | grep -m1 -E 'Verification|verify error|no secure')" \
	sh -c 'echo "$1" | grep -q "no matching DANE TLSA records" && ! echo "$1" | grep -q "^Verification: OK"' - "$out"
exit $E2E_FAILED
