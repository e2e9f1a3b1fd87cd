#!/bin/sh
# `ntamsa nta check --connect` against the receivers of the e2e network:
#   1. for every scenario of scenarios.tsv, the channel health mail would
#      take now (column health: portal-after = "deferred" on a first try,
#      its secure channel fails; the portal comes only after
#      nta.portal_after) and the channel of regular mail (column clean_rx:
#      "-" = deferred, else regular);
#   2. the TLS facts of the probes: DANE-EE / DANE-TA authority, the peer
#      certificate's SHA-256 (computed here with openssl from the test PKI),
#      TLS 1.2+, OU marker found / missing, STARTTLS missing, the text output;
#   3. the probe sends only EHLO/STARTTLS/EHLO/QUIT: every session from the
#      probe's own source address in the receivers' Postfix logs has no other
#      command, and no Maildir holds a message received from that address.
# Lives in the e2e run (run.sh) rather than tests/integration: up.sh takes
# fixed addresses (NSD 127.0.10.53, receivers 127.0.20.x) and starts by
# tearing down any network already there, so a second copy cannot run
# beside the e2e suite.
set -u
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/lib.sh"

if [ ! -x "$NTAMSA_BIN" ] || ! "$NTAMSA_BIN" nta check --help 2>&1 | grep -q -- --connect; then
	skip nta-connect "no ntamsa with nta check --connect (make asan)"
	exit 0
fi

# A config of our own whose only change is the source address, so that the
# receivers' logs tell this probe's sessions from every other test's.
PROBE_ADDR=127.0.30.7
W=$E2E_DIR/nta-connect
rm -rf "$W"
mkdir -p "$W"
sed "s|^bind = .*|bind = $PROBE_ADDR|" "$NTAMSA_CONF" >"$W/ntamsa.conf"
grep -q "^bind = $PROBE_ADDR\$" "$W/ntamsa.conf" || { fail nta-connect-setup "no outbound.bind line in $NTAMSA_CONF"; exit 1; }

# Messages a receiver took from the probe's address (its Received: line names it).
probe_mail() { grep -rlF "[$PROBE_ADDR]" "$E2E_DIR"/rx/*/mail 2>/dev/null | wc -l; }
# Sessions from the probe's address logged since mark_logs (byte offsets,
# so that an earlier run on the same network does not count).
mark_logs() {
	for _l in "$E2E_DIR"/rx/*/maillog; do
		[ -f "$_l" ] && echo "$_l $(wc -c <"$_l")"
	done >"$W/log-offsets"
}
probe_sessions() {
	while read -r _l _off; do
		tail -c +$((_off + 1)) "$_l"
	done <"$W/log-offsets" | grep -F "disconnect from unknown[$PROBE_ADDR]"
}
mark_logs

# check_json DOMAIN: runs the probe once, keeps its JSON in $W/DOMAIN.json.
check_json() {
	timeout 120 "$NTAMSA_BIN" -c "$W/ntamsa.conf" nta check --connect --json "$1" \
		>"$W/$1.json" 2>"$W/$1.err"
}
# jq-like access without jq: python3 expression over j (the JSON object).
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$W/$1.json" "$2" 2>/dev/null; }

# 1. The channels, every scenario.
while IFS='	' read -r dom _ health _ clean_rx _ _ _; do
	case $health in
	portal-after) want=deferred ;;
	*) want=$health ;;
	esac
	if [ "$clean_rx" = - ]; then want_reg=deferred; else want_reg=regular; fi
	check_json "$dom"
	got=$(jget "$dom" 'j["connect"]["health"]["channel"]')
	why=$(jget "$dom" 'j["connect"]["health"]["reason"]')
	check "connect-health-$dom" "want '$want', got '$got' ($why) $(head -c 200 "$W/$dom.err")" [ "$got" = "$want" ]
	got=$(jget "$dom" 'j["connect"]["regular"]["channel"]')
	why=$(jget "$dom" 'j["connect"]["regular"]["reason"]')
	check "connect-regular-$dom" "want '$want_reg', got '$got' ($why)" [ "$got" = "$want_reg" ]
done <<EOF
$(e2e_scenarios)
EOF

# 2. The facts of the probes.
sha_of() { openssl x509 -in "$E2E_DIR/pki/$1.pem" -outform DER | sha256sum | cut -d' ' -f1; }
good=$(sha_of good)
# first health probe: "address result authority usage tls-version sha256"
probe0() { jget "$1" '" ".join(str(p[k]) for p in j["connect"]["health"]["probes"][:1] for k in ("address","auth_result","dane_authority","dane_usage","tls_version","peer_sha256","ou","starttls_offered"))'; }
got=$(probe0 dane.test)
check connect-facts-dane-ee "got '$got'" sh -c 'case "$1" in "127.0.20.11 dane-ee "[0-9]*" 3 TLSv1."[23]" $2 not-checked True") exit 0 ;; esac; exit 1' - "$got" "$good"
got=$(probe0 dane-ta.test)
check connect-facts-dane-ta "got '$got'" sh -c 'case "$1" in "127.0.20.11 dane-ta "[0-9]*" 2 TLSv1."[23]" $2 not-checked True") exit 0 ;; esac; exit 1' - "$got" "$good"
got=$(probe0 dane-mismatch.test)
check connect-facts-dane-mismatch "got '$got'" sh -c 'case "$1" in "127.0.20.11 failed:"*" -1 -1  $2 not-checked True") exit 0 ;; esac; exit 1' - "$got" "$good"
# The reason of a failed certificate check, also when OpenSSL aborted the
# handshake there (never "tls-failed"): DANE mismatch, Bijlage C name, expiry.
reason0() { jget "$1" 'j["connect"]["health"]["probes"][0]["reason"]'; }
for _c in dane-mismatch.test:dane-mismatch bijlage-c-badname.test:hostname-mismatch \
    bijlage-c-expired.test:pkix-failed bijlage-b-noou.test:ou-mismatch; do
	got=$(reason0 "${_c%%:*}")
	check "connect-reason-${_c%%:*}" "want '${_c#*:}', got '$got'" [ "$got" = "${_c#*:}" ]
done
got=$(probe0 bijlage-b.test)
check connect-facts-bijlage-b-ou "got '$got'" sh -c 'case "$1" in "127.0.20.14 pkix+ou -1 -1 TLSv1."[23]" $2 marker-found True") exit 0 ;; esac; exit 1' - "$got" "$(sha_of ou)"
got=$(probe0 bijlage-b-noou.test)
check connect-facts-bijlage-b-noou "got '$got'" sh -c 'case "$1" in "127.0.20.12 failed:ou -1 -1 TLSv1."[23]" $2 no-marker True") exit 0 ;; esac; exit 1' - "$got" "$(sha_of pkix)"
got=$(probe0 bijlage-c.test)
check connect-facts-bijlage-c "got '$got'" sh -c 'case "$1" in "127.0.20.12 pkix -1 -1 TLSv1."[23]" $2 not-checked True") exit 0 ;; esac; exit 1' - "$got" "$(sha_of pkix)"
got=$(jget no-starttls.test '" ".join(str(p[k]) for p in j["connect"]["health"]["probes"] for k in ("starttls_offered","tls","reason"))')
check connect-facts-no-starttls "got '$got'" [ "$got" = "False False no-starttls" ]
got=$(jget old-tls-only.test '" ".join(str(p[k]) for p in j["connect"]["health"]["probes"] for k in ("starttls_offered","tls","reason"))')
check connect-facts-old-tls "got '$got'" [ "$got" = "True False tls-failed" ]
# ntamx: the down first host is tried and fails, the second passes.
got=$(jget nta-ntamx.test '" ".join(p["address"] + ":" + p["verdict"] for p in j["connect"]["health"]["probes"])')
check connect-facts-ntamx-order "got '$got'" [ "$got" = "127.0.20.20:fail 127.0.20.21:pass" ]
# Regular mail to nta-ntamx uses the plain MX, never an ntamx host (R-FLOW-9).
got=$(jget nta-ntamx.test '" ".join(p["host"] for p in j["connect"]["regular"]["probes"])')
check connect-regular-ntamx-uses-mx "got '$got'" [ "$got" = "mx.nta-ntamx.test" ]
# Portal and bogus: the plan contacts nobody for health mail.
got=$(jget no-nta.test 'len(j["connect"]["health"]["probes"])')_$(jget bogus.test 'len(j["connect"]["health"]["probes"])')
check connect-no-probe-without-claim "got '$got'" [ "$got" = "0_0" ]

# Text output: the same verdict, one grep-able line each.
timeout 120 "$NTAMSA_BIN" -c "$W/ntamsa.conf" nta check --connect dane.test >"$W/dane.txt" 2>&1
check connect-text-dane "$(grep -E 'channel-now|verdict:' "$W/dane.txt" | tr '\n' ' ')" \
	sh -c 'grep -qx "health-channel-now: dane (tlsa-usable)" "$1" &&
		grep -qx "regular-channel-now: regular (tlsa-usable)" "$1" &&
		grep -qx "    peer-sha256: $2" "$1"' - "$W/dane.txt" "$good"
# Without --connect nothing of the probe appears (and no connection is made).
timeout 120 "$NTAMSA_BIN" -c "$W/ntamsa.conf" nta check --json dane.test >"$W/dane-noconnect.json" 2>&1
check connect-only-when-asked "$(head -c 200 "$W/dane-noconnect.json")" \
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit("connect" in j)' "$W/dane-noconnect.json"

# 3. Only EHLO/STARTTLS/EHLO/QUIT went out.  Postfix logs each session's
# commands at disconnect; wait (bounded) until the sessions are logged.
want_sessions=$(cat "$W"/*.json | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        j = json.loads(line)
        for k in ("health", "regular"):
            for p in j.get("connect", {}).get(k, {}).get("probes", []):
                # a refused connection (nothing listening) is not logged
                # nor one over IPv6: the IPv4 outbound.bind does not apply to
                # it, so its sessions come from ::1 as every other test does
                n += p["connect"] != "" and p["address"] != "127.0.20.20" and ":" not in p["address"]
                n += p["plaintext_retry"]
print(n)')
i=0
while [ $i -lt 100 ] && [ "$(probe_sessions | wc -l)" -lt "$want_sessions" ]; do
	sleep 0.1; i=$((i + 1))
done
probe_sessions >"$W/sessions.log"
got=$(wc -l <"$W/sessions.log")
check connect-sessions-logged "want $want_sessions sessions from $PROBE_ADDR, got $got" [ "$got" -ge "$want_sessions" ]
bad=$(sed 's/.*\]//' "$W/sessions.log" | tr ' ' '\n' | grep -v '^$' | cut -d= -f1 |
	grep -vx -e ehlo -e starttls -e quit -e commands | sort -u | tr '\n' ' ')
check connect-only-ehlo-starttls-quit "other commands seen: $bad" [ -z "$bad" ]
got=$(grep -c 'ehlo=2 starttls=1 quit=1 commands=4' "$W/sessions.log")
check connect-full-dialogue-seen "no session with ehlo=2 starttls=1 quit=1" [ "$got" -ge 1 ]
got=$(probe_mail)
check connect-no-mail-delivered "$got Maildir files received from $PROBE_ADDR" [ "$got" = 0 ]

exit $E2E_FAILED
