#!/bin/sh
# Scenario assertions through ntamsa itself (the network's config from
# up.sh, submission on 127.0.30.1:587), complementing the outbound
# engineer's t_outbound_scenarios.sh (channel and state of health mail):
#   - health mail on an NTA channel: only the expected receiver has it,
#     X-NTA7516 is ours alone (a client's forged one gone), the Bijlage A
#     headers and X-NTA7516-Classify are gone, DKIM verifies with an
#     independent verifier (Mail::DKIM, key from the test DNS), and the body
#     is byte-identical to what was submitted;
#   - health mail to a portal scenario: no receiver gets the content; the
#     notification reaches the normal MX (pending while outbound/portal is
#     missing);
#   - clean mail: delivered as regular mail to the scenario's clean_rx and
#     nowhere else, or never delivered (DANE mismatch, bogus DNS).
# Reports every check SKIP "pending outbound" while the commands it needs
# are placeholders.
set -u
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/lib.sh"
[ -f "$E2E_DIR/env" ] && . "$E2E_DIR/env"

all_skip() {
	while IFS='	' read -r dom _; do
		skip "scenario-$dom" "$1"
	done <<EOF
$(e2e_scenarios)
EOF
	exit 0
}
ntamsa_ready || all_skip "$E2E_PENDING"

stop_serve() {
	[ -f "$E2E_DIR/ntamsa/serve.pid" ] || return 0
	_p=$(cat "$E2E_DIR/ntamsa/serve.pid")
	kill "$_p" 2>/dev/null
	_i=0
	while [ $_i -lt 50 ] && kill -0 "$_p" 2>/dev/null; do sleep 0.1; _i=$((_i + 1)); done
	kill -9 "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	rm -f "$E2E_DIR/ntamsa/serve.pid"
}
trap stop_serve EXIT
trap 'exit 1' INT TERM
if ! ntamsa_start; then
	fail scenario-setup "ntamsa did not start: $(tail -3 "$E2E_DIR/ntamsa/serve.log" "$E2E_DIR/ntamsa/keys-init.log" "$E2E_DIR/ntamsa/user-add.log" 2>/dev/null | tr '\n' ' ')"
	exit 1
fi
sleep 0.5
grep -q "event=deliver-idle" "$E2E_DIR/ntamsa/serve.log" && all_skip "pending outbound (deliver worker is a placeholder)"

tmp=$E2E_DIR/t_scenarios
mkdir -p "$tmp"
run=$(date +%s)

# Submit one health and one clean message per scenario.
while IFS='	' read -r dom _ health _ _ _ _ _; do
	for k in health clean; do
		rc="$k-$run@$dom"
		msg_make "$tmp/$k-$dom.eml" "$rc" "<$k-$run-$dom@e2e.test>" $k
		msa_submit "$tmp/$k-$dom.eml" "$rc" ||
			fail "scenario-$dom-$k-submit" "$(grep -m1 -E '<~\* *[45]|\*\*\*' "$tmp/$k-$dom.eml.swaks")"
	done
done <<EOF
$(e2e_scenarios)
EOF

t_sub=$(date +%s)

# Judge each.  Waits are bounded so that a broken run cannot hang.
while IFS='	' read -r dom _ health hrx crx nrx _ _; do
	# Clean mail.
	rc="clean-$run@$dom"
	id="<clean-$run-$dom@e2e.test>"
	st=$(rcpt_wait "$rc" 60 1)
	at=$(rx_holders "$rc" "$id" | tr '\n' ' ')
	if [ "$crx" = - ]; then
		case $st in
		delivered\ *) fail "scenario-$dom-clean" "delivered ($st), must not be" ;;
		*) [ -z "$at" ] && pass "scenario-$dom-clean-not-delivered" ||
			fail "scenario-$dom-clean" "content reached $at" ;;
		esac
	else
		f=$(rx_wait "$crx" "$rc" "$id" 30)
		set -- $st
		if [ "${1:-}" != delivered ] || [ "${2:-}" != regular ]; then
			fail "scenario-$dom-clean" "state '$st', want delivered regular"
		elif [ "$at" != "$crx " ]; then
			fail "scenario-$dom-clean" "found at '$at', want '$crx '"
		elif [ "$(msg_body "$f" | md5sum)" != "$(msg_body "$tmp/clean-$dom.eml" | md5sum)" ]; then
			fail "scenario-$dom-clean" "body differs"
		elif [ -n "$(msg_header "$f" X-NTA7516)" ]; then
			fail "scenario-$dom-clean" "regular mail carries X-NTA7516"
		else
			pass "scenario-$dom-clean-to-$crx"
		fi
	fi

	# Health mail.
	[ "$health" = portal-after ] && continue # judged below, after nta.portal_after
	rc="health-$run@$dom"
	id="<health-$run-$dom@e2e.test>"
	case $health in
	dane | bijlage-c | bijlage-b)
		st=$(rcpt_wait "$rc" 60 1)
		f=$(rx_wait "$hrx" "$rc" "$id" 30)
		at=$(rx_holders "$rc" "$id" | tr '\n' ' ')
		set -- $st
		if [ "${1:-}" != delivered ] || [ "${2:-}" != "$health" ]; then
			fail "scenario-$dom-health" "state '$st', want delivered $health"
		elif [ "$at" != "$hrx " ]; then
			fail "scenario-$dom-health" "found at '$at', want '$hrx '"
		elif why=$(nta_props "$f" "$tmp/health-$dom.eml"); then
			pass "scenario-$dom-health-nta-properties"
		else
			fail "scenario-$dom-health" "$why ($f)"
		fi
		# The attempt log: the delivering attempt names the channel, the
		# receiver's address and certificate, TLS 1.2+ and how it was
		# authenticated.
		cert=$(e2e_receivers | awk -F'\t' -v n="$hrx" '$1 == n { print $3 }')
		dig=$(openssl x509 -in "$E2E_DIR/pki/$cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
		case $dom in
		dane-ta.test) auth=dane-ta ;;
		*) case $health in dane) auth=dane-ee ;; bijlage-c) auth=pkix ;; *) auth=pkix+ou ;; esac ;;
		esac
		want="$health $(e2e_rx_addr "$hrx") $dig $auth delivered"
		got=$(ntamsa log export --json --domain "$dom" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("recipient") == sys.argv[1] and r.get("result") == "delivered":
        ok = r.get("tls_version") in ("TLSv1.2", "TLSv1.3")
        print(r.get("channel"), r.get("addr"), r.get("peer_cert_sha256"), r.get("auth"),
              r.get("result") if ok else "tls=" + str(r.get("tls_version")))
' "$rc")
		check "scenario-$dom-health-attempt-log" "got '$got', want '$want'" [ "$got" = "$want" ] ;;
	portal)
		st=$(rcpt_wait "$rc" 60 1)
		at=$(rx_holders "$rc" "$id" | tr '\n' ' ')
		if [ "${st%% *}" != portal ]; then
			fail "scenario-$dom-health" "state '$st', want portal"
		elif [ -n "$at" ]; then
			fail "scenario-$dom-health" "content reached $at"
		else
			pass "scenario-$dom-health-portal-no-content"
		fi
		# The notification: ordinary mail to the normal MX, without the content.
		md=$(rx_maildir "$nrx")
		n=$(grep -lix "Delivered-To: $rc" "$md"/new/* 2>/dev/null | head -1)
		if [ -n "$n" ]; then
			if grep -q "HbA1c\|metformine\|Uitslag bloedonderzoek" "$n"; then
				fail "scenario-$dom-notification" "the notification carries message content ($n)"
			else
				pass "scenario-$dom-notification-at-$nrx"
			fi
		elif [ ! -d "$E2E_TOP/outbound/portal" ]; then
			skip "scenario-$dom-notification" "pending portal (no notification mail yet)"
		else
			fail "scenario-$dom-notification" "no notification at $nrx"
		fi ;;
	deferred)
		st=$(rcpt_wait "$rc" 60 1)
		at=$(rx_holders "$rc" "$id" | tr '\n' ' ')
		case $st in
		delivered\ * | portal\ * | bounced\ *) fail "scenario-$dom-health" "state '$st', want deferred" ;;
		*) [ -z "$at" ] && pass "scenario-$dom-health-deferred" || fail "scenario-$dom-health" "content reached $at" ;;
		esac ;;
	esac
done <<EOF
$(e2e_scenarios)
EOF

# portal-after: never delivered by SMTP; once nta.portal_after has passed,
# the next attempt moves the recipient to the portal.
now=$(date +%s)
[ $((now - t_sub)) -le "$E2E_PORTAL_AFTER" ] && sleep $((E2E_PORTAL_AFTER + 1 - (now - t_sub)))
ntamsa queue flush >/dev/null 2>&1
while IFS='	' read -r dom _ health _ _ nrx _ _; do
	[ "$health" = portal-after ] || continue
	rc="health-$run@$dom"
	id="<health-$run-$dom@e2e.test>"
	st=$(rcpt_wait "$rc" 60 99)
	at=$(rx_holders "$rc" "$id" | tr '\n' ' ')
	if [ "${st%% *}" != portal ]; then
		fail "scenario-$dom-health" "state '$st', want portal after ${E2E_PORTAL_AFTER}s"
	elif [ -n "$at" ]; then
		fail "scenario-$dom-health" "content reached $at"
	else
		pass "scenario-$dom-health-portal-after-no-content"
	fi
	[ "$nrx" = - ] && continue
	n=$(grep -lix "Delivered-To: $rc" "$(rx_maildir "$nrx")"/new/* 2>/dev/null | head -1)
	if [ -n "$n" ]; then
		if grep -q "HbA1c\|metformine\|Uitslag bloedonderzoek" "$n"; then
			fail "scenario-$dom-notification" "the notification carries message content ($n)"
		else
			pass "scenario-$dom-notification-at-$nrx"
		fi
	elif [ ! -d "$E2E_TOP/outbound/portal" ]; then
		skip "scenario-$dom-notification" "pending portal (no notification mail yet)"
	else
		fail "scenario-$dom-notification" "no notification at $nrx"
	fi
done <<EOF
$(e2e_scenarios)
EOF

# nta-ntamx: health mail tried the ntamx hosts in priority order (10, the
# down one, first) and never the plain MX (R-NTA-6, R-FLOW-9).
got=$(ntamsa log export --json --domain nta-ntamx.test 2>/dev/null | python3 -c '
import json, sys
seq = []
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("recipient") == sys.argv[1]:
        seq.append("%s:%s" % (r.get("addr"), r.get("result")))
print(" ".join(seq))
' "health-$run@nta-ntamx.test")
check scenario-nta-ntamx-host-order "got '$got'" \
	sh -c 'case "$1" in "127.0.20.20:"*" 127.0.20.21:delivered") ! echo "$1" | grep -q 127.0.20.22 ;; *) exit 1 ;; esac' - "$got"

# Nothing of the content in ntamsa's own logs or export.
ntamsa log export --json >"$tmp/log.json" 2>&1
if grep -l "HbA1c\|metformine\|Uitslag bloedonderzoek\|Vergadering dinsdag" \
	"$tmp/log.json" "$E2E_DIR/ntamsa/serve.log" >/dev/null 2>&1; then
	fail scenario-no-content-in-logs "content in $(grep -l "HbA1c\|metformine\|Uitslag bloedonderzoek\|Vergadering dinsdag" "$tmp/log.json" "$E2E_DIR/ntamsa/serve.log" | tr '\n' ' ')"
else
	pass scenario-no-content-in-logs
fi
exit $E2E_FAILED
