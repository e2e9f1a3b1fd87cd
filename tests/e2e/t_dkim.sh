#!/bin/sh
# The independent DKIM verifier (dkimverify.pl, Mail::DKIM) against the key
# published in the test DNS: a message signed with sender.test's e2e key
# passes, also after a receiving Postfix stored it (headers prepended); a
# changed body or a key the DNS does not publish fails.
set -u
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/lib.sh"

v() { perl "$E2E_SRC/dkimverify.pl" --dns "$E2E_NS_ADDR" "$1" 2>&1; }
tmp=$E2E_DIR/t_dkim
mkdir -p "$tmp"
key=$E2E_DIR/ntamsa/dkim-$E2E_DKIM_DOMAIN.key
id="<dkim-$$@e2e.test>"
to="dkim@dane.test"
msg_make "$tmp/plain.eml" "$to" "$id" clean
perl "$E2E_SRC/dkimverify.pl" --sign "$key" --domain "$E2E_DKIM_DOMAIN" \
	--selector "$E2E_DKIM_SELECTOR" "$tmp/plain.eml" >"$tmp/signed.eml"

got=$(v "$tmp/signed.eml")
check dkim-verify-pass "got '$got'" [ "$got" = "pass d=$E2E_DKIM_DOMAIN s=$E2E_DKIM_SELECTOR" ]

sed 's/zaal 3/zaal 4/' "$tmp/signed.eml" >"$tmp/tampered.eml"
got=$(v "$tmp/tampered.eml")
check dkim-verify-tampered-fails "got '$got'" sh -c 'case "$1" in fail*) exit 0;; esac; exit 1' - "$got"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/other.key" 2>/dev/null
perl "$E2E_SRC/dkimverify.pl" --sign "$tmp/other.key" --domain "$E2E_DKIM_DOMAIN" \
	--selector "$E2E_DKIM_SELECTOR" "$tmp/plain.eml" >"$tmp/otherkey.eml"
got=$(v "$tmp/otherkey.eml")
check dkim-verify-wrong-key-fails "got '$got'" sh -c 'case "$1" in fail*) exit 0;; esac; exit 1' - "$got"

got=$(v "$tmp/plain.eml")
check dkim-verify-unsigned-fails "got '$got'" sh -c 'case "$1" in fail*) exit 0;; esac; exit 1' - "$got"

# Through a real receiver: the Maildir copy still verifies.
if timeout 30 swaks --server "$(e2e_rx_addr rx-dane)" --port 25 --from "e2e@$E2E_DKIM_DOMAIN" \
	--to "$to" --tls --data "$(wire_copy "$tmp/signed.eml")" >"$tmp/swaks.log" 2>&1 &&
	f=$(rx_wait rx-dane "$to" "$id" 30); then
	got=$(v "$f")
	check dkim-verify-after-receiver "got '$got' for $f" [ "$got" = "pass d=$E2E_DKIM_DOMAIN s=$E2E_DKIM_SELECTOR" ]
else
	fail dkim-verify-after-receiver "message did not reach rx-dane (see $tmp/swaks.log)"
fi
exit $E2E_FAILED
