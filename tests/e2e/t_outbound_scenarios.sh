#!/bin/sh
# End-to-end delivery on the e2e network (tests/e2e/up.sh must have run):
# for each scenario of scenarios.tsv, health mail is submitted to our own
# ntamsa instance (submission and outbound source address 127.0.60.30, data
# in a private temp dir) and must take the expected channel and arrive at
# the expected receiver, or never arrive anywhere (DANE mismatch, STARTTLS
# stripped, bogus DNS, ...).  Checks the attempt log (ntamsa log export)
# and, on NTA channels, the rewritten header (X-NTA7516, Bijlage A gone,
# DKIM-Signature present).
#
# Prints PASS/FAIL/SKIP lines; kills what it starts (trap EXIT).
set -u
. "$(dirname "$0")/env.sh"

if [ ! -f "$E2E_DIR/env" ] || [ ! -f "$NTAMSA_CONF" ]; then
	echo "SKIP: outbound-scenarios e2e network not up (tests/e2e/up.sh)"
	exit 0
fi
. "$E2E_DIR/env"
[ -x "$NTAMSA_BIN" ] || { echo "SKIP: outbound-scenarios no ntamsa binary"; exit 0; }
if ! dig +time=2 +tries=1 +short "@$E2E_NS_ADDR" SOA test. >/dev/null 2>&1; then
	echo "SKIP: outbound-scenarios e2e DNS at $E2E_NS_ADDR not answering"
	exit 0
fi

ADDR=127.0.60.30
W=$(mktemp -d /tmp/ntamsa-e2e-outbound-XXXXXX)
SERVE_PID=
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 $2"; fails=$((fails + 1)); }

# Our instance: the network's config with our own data, addresses and a
# short portal_after (the portal-after scenarios are flushed once past it).
PORTAL_AFTER=12
conf=$W/ntamsa.conf
sed -e "s|^data_dir = .*|data_dir = $W/data|" \
	-e "s|^submission = .*|submission = $ADDR:587|" \
	-e "s|^submissions = .*|submissions = $ADDR:465|" \
	-e "s|^bind = .*|bind = $ADDR|" \
	-e "s|^listen = .*|listen = $ADDR:8443|" \
	-e "s|^portal_after = .*|portal_after = ${PORTAL_AFTER}s\ncompliant_domain = $E2E_DKIM_DOMAIN|" \
	"$NTAMSA_CONF" >"$conf"
mkdir -p "$W/data"
N() { "$NTAMSA_BIN" -c "$conf" "$@"; }
N keys init >"$W/keys.log" 2>&1 || { fail outbound-setup "keys init: $(tail -1 "$W/keys.log")"; exit 1; }
echo "e2e-secret-pw" | N user add "alice@$E2E_DKIM_DOMAIN" >"$W/user.log" 2>&1 ||
	{ fail outbound-setup "user add: $(tail -1 "$W/user.log")"; exit 1; }
"$NTAMSA_BIN" -c "$conf" serve >"$W/serve.log" 2>&1 &
SERVE_PID=$!
i=0
until swaks --server "$ADDR:587" --quit-after EHLO >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { fail outbound-setup "serve did not listen: $(tail -3 "$W/serve.log")"; exit 1; }
	kill -0 "$SERVE_PID" 2>/dev/null || { fail outbound-setup "serve died: $(tail -3 "$W/serve.log")"; exit 1; }
	sleep 0.1
done

sleep 0.5
if grep -q "event=deliver-idle" "$W/serve.log"; then
	echo "SKIP: outbound-scenarios deliver worker not built in (placeholder)"
	exit 0
fi

# submit TO TOKEN: a health message (forced secure) with a Bijlage A header.
submit() {
	swaks --server "$ADDR:587" -tls --auth PLAIN --auth-user "alice@$E2E_DKIM_DOMAIN" \
		--auth-password e2e-secret-pw --from "alice@$E2E_DKIM_DOMAIN" --to "$1" \
		--header "Subject: [veilig] uitslag $2" --header "X-NTA7516-Classify: secure" \
		--header "Organization: Huisartsenpraktijk Test" \
		--body "Token $2: patient geboren 01-02-1960, BSN 123456782, HbA1c verhoogd." \
		>"$W/swaks-$2.log" 2>&1
}

# state of the recipient ADDR in the queue (json lines): "state channel attempts"
rstate() {
	N queue list --json 2>/dev/null | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["recipient"] == sys.argv[1]:
        print(r["state"], r["channel"] or "-", r["attempts"]); break
' "$1"
}

# Receivers' Maildirs holding TOKEN (names, space separated).
found_at() {
	for d in "$E2E_DIR"/rx/*/mail; do
		grep -rl "Token $1:" "$d" >/dev/null 2>&1 && printf '%s ' "$(basename "$(dirname "$d")")"
	done
}
found_file() { grep -rl "Token $2:" "$E2E_DIR/rx/$1/mail" 2>/dev/null | head -1; }

# Wait (bounded) until RCPT has been tried N times or reached a final state.
wait_tried() {
	i=0
	while [ $i -lt 300 ]; do
		set -- "$1" $(rstate "$1")
		case "${2:-}" in delivered|bounced|portal) return 0 ;; esac
		[ "${4:-0}" -ge "${WANT_TRIES:-1}" ] && return 0
		i=$((i + 1))
		sleep 0.2
	done
	return 1
}

# submit_clean TO TOKEN: ordinary mail (no health information).
submit_clean() {
	swaks --server "$ADDR:587" -tls --auth PLAIN --auth-user "alice@$E2E_DKIM_DOMAIN" \
		--auth-password e2e-secret-pw --from "alice@$E2E_DKIM_DOMAIN" --to "$1" \
		--header "Subject: vergadering $2" \
		--body "Token $2: de vergadering van dinsdag begint om tien uur in zaal 3." \
		>"$W/swaks-$2.log" 2>&1
}

run=$(date +%s)
e2e_scenarios | while IFS='	' read -r dom dns health hrx crx nrx note; do
	echo "$dom $health $hrx $crx"
done >"$W/scen"
while read -r dom health hrx crx; do
	tok="h$run-$(echo "$dom" | tr -c 'a-z0-9\n' '-')"
	submit "health@$dom" "$tok" || fail "outbound-$dom-submit" "$(tail -2 "$W/swaks-$tok.log" | tr '\n' ' ')"
	submit_clean "clean@$dom" "c$tok" || fail "outbound-$dom-submit-clean" "$(tail -2 "$W/swaks-c$tok.log" | tr '\n' ' ')"
done <"$W/scen"
t_sub=$(date +%s)

check() {
	dom=$1 health=$2 hrx=$3 tok=$4
	set -- $(rstate "health@$dom")
	st=${1:-none} ch=${2:--}
	at=$(found_at "$tok")
	case "$health" in
	dane|bijlage-c|bijlage-b)
		if [ "$st" != delivered ] || [ "$ch" != "$health" ]; then
			fail "outbound-$dom-health" "got state=$st channel=$ch, want delivered over $health"
		elif [ "$at" != "$hrx " ]; then
			fail "outbound-$dom-health" "token found at '$at', want '$hrx '"
		else
			f=$(found_file "$hrx" "$tok")
			if ! grep -q "^X-NTA7516: $E2E_PROVIDER_ID" "$f"; then
				fail "outbound-$dom-health" "no X-NTA7516 header"
			elif grep -qi "^Organization:" "$f"; then
				fail "outbound-$dom-health" "Bijlage A header Organization left in"
			elif ! grep -q "^DKIM-Signature:" "$f"; then
				fail "outbound-$dom-health" "no DKIM-Signature"
			else
				pass "outbound-$dom-health $health to $hrx"
			fi
		fi ;;
	portal)
		if [ "$st" = portal ] && [ -z "$at" ]; then pass "outbound-$dom-health portal"
		else fail "outbound-$dom-health" "got state=$st at='$at', want portal, never delivered"; fi ;;
	portal-after)
		if [ "$st" = portal ] && [ -z "$at" ]; then pass "outbound-$dom-health portal after ${PORTAL_AFTER}s"
		else fail "outbound-$dom-health" "got state=$st at='$at', want portal after failures, never delivered"; fi ;;
	deferred)
		if [ "$st" = queued ] && [ -z "$at" ]; then pass "outbound-$dom-health deferred"
		else fail "outbound-$dom-health" "got state=$st at='$at', want queued (deferred), never delivered"; fi ;;
	*) echo "SKIP: outbound-$dom-health unknown expectation $health" ;;
	esac
}

# Ordinary mail: delivered to the expected receiver (opportunistic TLS, DANE
# enforced where usable TLSA exist), or never when it must not be.
check_clean() {
	dom=$1 crx=$2 tok=$3
	st=$(N queue list --json 2>/dev/null | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["recipient"] == sys.argv[1]:
        print(r["state"], r["class"]); break
' "clean@$dom")
	set -- $st
	[ "${2:-}" = health ] && { echo "SKIP: outbound-$dom-clean classified as health"; return; }
	at=$(found_at "$tok")
	if [ "$crx" = - ]; then
		if [ -z "$at" ] && [ "${1:-}" != delivered ]; then pass "outbound-$dom-clean never delivered"
		else fail "outbound-$dom-clean" "got state=${1:-} at='$at', want never delivered"; fi
	elif [ "${1:-}" = delivered ] && [ "$at" = "$crx " ]; then
		pass "outbound-$dom-clean regular to $crx"
	else
		fail "outbound-$dom-clean" "got state=${1:-} at='$at', want delivered to $crx"
	fi
}

# First round: every recipient tried once (or final).
while read -r dom health hrx crx; do
	wait_tried "health@$dom" || fail "outbound-$dom-health" "not tried in time"
	wait_tried "clean@$dom" || fail "outbound-$dom-clean" "not tried in time"
done <"$W/scen"
sleep 1
while read -r dom health hrx crx; do
	check_clean "$dom" "$crx" "ch$run-$(echo "$dom" | tr -c 'a-z0-9\n' '-')"
done <"$W/scen"
# Deferred (bogus DNS) is judged after the first round, before portal_after.
while read -r dom health hrx crx; do
	[ "$health" = deferred ] || continue
	tok="h$run-$(echo "$dom" | tr -c 'a-z0-9\n' '-')"
	check "$dom" "$health" "$hrx" "$tok"
done <"$W/scen"
# Portal-after scenarios: past nta.portal_after, retry now.
now=$(date +%s)
[ $((now - t_sub)) -le $PORTAL_AFTER ] && sleep $((PORTAL_AFTER + 1 - (now - t_sub)))
N queue flush >/dev/null
WANT_TRIES=2
while read -r dom health hrx crx; do
	[ "$health" = portal-after ] && { wait_tried "health@$dom" || true; }
done <"$W/scen"
sleep 1
while read -r dom health hrx crx; do
	[ "$health" = deferred ] && continue
	check "$dom" "$health" "$hrx" "h$run-$(echo "$dom" | tr -c 'a-z0-9\n' '-')"
done <"$W/scen"

# The attempt log: no content, and the DANE / ntamx facts recorded.
N log export --json >"$W/log.json" 2>"$W/log.err" || fail outbound-log-export "$(cat "$W/log.err")"
if grep -q "Token \|uitslag\|HbA1c\|Huisartsenpraktijk" "$W/log.json" "$W/serve.log"; then
	fail outbound-log-no-content "message content in the log export or the daemon log"
else
	pass outbound-log-no-content
fi
if grep '"domain":"dane.test"' "$W/log.json" | grep -q '"auth":"dane-ee".*"result":"delivered"'; then
	pass outbound-log-dane-authority
else
	fail outbound-log-dane-authority "no delivered dane-ee attempt for dane.test"
fi
if grep '"domain":"nta-ntamx.test"' "$W/log.json" | grep -q '"addr":"127.0.20.20"'; then
	pass outbound-ntamx-first-host-tried
else
	fail outbound-ntamx-first-host-tried "no attempt on the down ntamx=10 host"
fi
if grep '"domain":"dane-mismatch.test"' "$W/log.json" | grep -q '"result":"delivered"'; then
	fail outbound-dane-mismatch-never-delivers "a delivered attempt for dane-mismatch.test"
else
	pass outbound-dane-mismatch-never-delivers
fi
# A DANE mismatch is recognised as such (OpenSSL aborts that handshake) and
# is a security event; a certificate failure is named, never "tls-failed".
if grep '"domain":"dane-mismatch.test"' "$W/log.json" | grep -q '"result":"dane-mismatch"' &&
	grep -q "event=security-event reason=dane-mismatch" "$W/serve.log"; then
	pass outbound-dane-mismatch-security-event
else
	fail outbound-dane-mismatch-security-event "$(grep '"domain":"dane-mismatch.test"' "$W/log.json" | head -1 | cut -c1-300)"
fi
for _c in bijlage-c-badname.test:hostname-mismatch bijlage-c-expired.test:pkix-failed; do
	if grep "\"domain\":\"${_c%%:*}\"" "$W/log.json" | grep -q "\"result\":\"${_c#*:}\""; then
		pass "outbound-attempt-reason-${_c%%:*}"
	else
		fail "outbound-attempt-reason-${_c%%:*}" "no ${_c#*:} attempt: $(grep "\"domain\":\"${_c%%:*}\"" "$W/log.json" | head -1 | cut -c1-300)"
	fi
done
[ $fails -eq 0 ]
