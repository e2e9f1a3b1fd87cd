#!/bin/sh
# The signed test DNS, seen through validating resolvers with the test
# trust anchor and root hints (real recursion from the test root):
#   1. Debian's unbound-host: each scenario's records carry the DNSSEC state
#      and data the scenario is about;
#   2. `ntamsa nta check --json` (ntamsa's own resolver): TXT state and the
#      channel DNS alone decides (column dns_channel of scenarios.tsv).
set -u
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/lib.sh"

# unbound-host TYPE NAME -> its answer lines
uh() { timeout 30 unbound-host -C "$UNBOUND_CONF" -v -t "$1" "$2" 2>&1; }
# The validation state unbound-host reports: secure, insecure or bogus.
state_of() {
	case $1 in
	*"(BOGUS"*) echo bogus ;;
	*"(secure)"*) echo secure ;;
	*"(insecure)"*) echo insecure ;;
	*) echo "unknown" ;;
	esac
}

# 1. Every scenario's TXT answer has the state its zone kind promises.
while IFS='	' read -r dom kind _ _ _ _ _ _; do
	case $kind in
	signed) want=secure ;;
	unsigned) want=insecure ;;
	*) want=bogus ;;
	esac
	out=$(uh TXT "$dom")
	got=$(state_of "$out")
	check "dns-txt-state-$dom" "want $want, got $got: $(echo "$out" | head -2 | tr '\n' ' ')" [ "$got" = "$want" ]
done <<EOF
$(e2e_scenarios)
EOF

# 2. The records the scenarios are about.
tlsa_of() { uh TLSA "_25._tcp.$1" | sed -n 's/.* has TLSA record \([0-9]\) \([0-9]\) \([0-9]\) \([0-9A-Fa-f]*\) (secure)$/\1 \2 \3 \4/p' | tr 'A-F' 'a-f'; }
good=$(cat "$E2E_DIR/pki/good.tlsa311")
cadig=$(cat "$E2E_DIR/pki/ca.tlsa211")
got=$(tlsa_of mx.dane.test)
check dns-dane-tlsa311 "got '$got'" [ "$got" = "3 1 1 $good" ]
got=$(tlsa_of mx.dane-ta.test)
check dns-dane-ta-tlsa211 "got '$got'" [ "$got" = "2 1 1 $cadig" ]
got=$(tlsa_of mx.dane-mismatch.test)
check dns-dane-mismatch-tlsa "got '$got'" sh -c '[ -n "$1" ] && [ "$1" != "3 1 1 $2" ]' - "$got" "$good"

for d in bijlage-c bijlage-c-badname bijlage-c-cnonly bijlage-c-expired no-starttls old-tls-only; do
	mx=$(uh MX "$d.test")
	host=$(echo "$mx" | sed -n 's/.* mail is handled by [0-9]* \(.*\)\. (secure)$/\1/p')
	a=$(uh A "$host")
	tl=$(uh TLSA "_25._tcp.$host")
	check "dns-$d-bijlage-c-shape" "MX '$mx', A '$a', TLSA '$tl'" sh -c '
		[ -n "$1" ] && [ "$(echo "$2" | grep -c "has address 127.0.20.*(insecure)")" = 1 ] &&
		! echo "$3" | grep -q "has TLSA record"' - "$host" "$a" "$tl"
done
for d in bijlage-b bijlage-b-noou; do
	out=$(uh MX "$d.test")
	check "dns-$d-mx-insecure" "got '$out'" sh -c 'echo "$1" | grep -q "mail is handled by 10 mx.$2.test. (insecure)"' - "$out" "$d"
done

out=$(uh TXT nta-ntamx.test)
check dns-ntamx-record "got '$out'" sh -c 'echo "$1" | grep -q "ntamx=10 mx10.nta-ntamx.test;ntamx=20 mx20.nta-ntamx.test\" (secure)"' - "$out"
for h in mx10:127.0.20.20 mx20:127.0.20.21 mx:127.0.20.22; do
	out=$(uh A "${h%%:*}.nta-ntamx.test")
	check "dns-ntamx-${h%%:*}-address" "got '$out'" sh -c 'echo "$1" | grep -qF "has address $2 (secure)"' - "$out" "${h#*:}"
done

# The published TTL of nta-ttl-too-high is 86401: the authoritative answer
# and the RRSIG's Original TTL field (what R-NTA-4 checks) both say so.
out=$(dig +norec +dnssec +noall +answer @"$E2E_NS_ADDR" TXT nta-ttl-too-high.test)
ttl=$(echo "$out" | awk '$4 == "TXT" { print $2; exit }')
orig=$(echo "$out" | awk '$4 == "RRSIG" && $5 == "TXT" { print $8; exit }')
check dns-ttl-too-high "TTL '$ttl'" [ "$ttl" = 86401 ]
check dns-ttl-too-high-orig "RRSIG original TTL '$orig'" [ "$orig" = 86401 ]

n=$(uh TXT nta-three-records.test | grep -c 'v=NTA7516-1')
check dns-three-records "got $n NTA records" [ "$n" = 3 ]
n=$(uh TXT nta-overlap.test | grep -c 'v=NTA7516-1')
check dns-overlap-records "got $n NTA records" [ "$n" = 2 ]

out=$(uh TXT "$E2E_DKIM_SELECTOR._domainkey.$E2E_DKIM_DOMAIN")
check dns-dkim-key "got '$(echo "$out" | head -1 | cut -c1-120)'" sh -c 'echo "$1" | grep -q "v=DKIM1; k=rsa; p=.*(secure)"' - "$out"

# 3. ntamsa's own resolver, once `nta check` exists.
if [ ! -x "$NTAMSA_BIN" ] || "$NTAMSA_BIN" -c "$NTAMSA_CONF" nta check --json dane.test 2>&1 |
	grep -q "not implemented yet"; then
	skip nta-check "pending ntadns (ntamsa nta check not there)"
else
	while IFS='	' read -r dom kind _ _ _ _ dch _; do
		case $kind in
		signed) want=secure ;;
		unsigned) want=insecure ;;
		*) want=bogus ;;
		esac
		js=$(timeout 60 "$NTAMSA_BIN" -c "$NTAMSA_CONF" nta check --json "$dom" 2>"$E2E_DIR/nta-check-$dom.err")
		got=$(echo "$js" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["txt"]["state"], j["channel"])' 2>/dev/null)
		check "nta-check-$dom" "want '$want $dch', got '$got' ($(head -c 200 "$E2E_DIR/nta-check-$dom.err"))" \
			[ "$got" = "$want $dch" ]
	done <<EOF
$(e2e_scenarios)
EOF
	# ntamx: the NTA hosts are the ntamx ones, lowest first; the plain MX is not among them.
	got=$(timeout 60 "$NTAMSA_BIN" -c "$NTAMSA_CONF" nta check --json nta-ntamx.test 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["hosts_from"], " ".join(h["host"] for h in j["hosts"]))' 2>/dev/null)
	check nta-check-ntamx-hosts "got '$got'" [ "$got" = "ntamx mx10.nta-ntamx.test mx20.nta-ntamx.test" ]
	got=$(timeout 60 "$NTAMSA_BIN" -c "$NTAMSA_CONF" nta check --json nta-ttl-too-high.test 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["txt_original_ttl"], j["reason"])' 2>/dev/null)
	check nta-check-ttl-too-high "got '$got'" [ "$got" = "86401 ttl-too-high" ]
fi

exit $E2E_FAILED
