#!/bin/sh
# The receiving Postfix instances, probed with openssl s_client and swaks
# (no ntamsa involved): each offers the TLS and certificate its scenarios
# need, and drops what it accepts into its Maildir, body intact.
set -u
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/lib.sh"

addr() { e2e_rx_addr "$1"; }
ca=$E2E_DIR/pki/ca.pem

# TLS per receiver -----------------------------------------------------------
for r in rx-dane rx-pkix rx-badname rx-ou rx-expired rx-cnonly rx-ntamx20 rx-plainmx; do
	out=$(tls_probe "$(addr "$r")")
	case $r in
	rx-expired) want="Verify return code: 10 (certificate has expired)" ;;
	*) want="Verify return code: 0 (ok)" ;;
	esac
	check "rx-tls-verify-$r" "want '$want', got '$(echo "$out" | grep 'Verify return code' | head -1)'" \
		sh -c 'echo "$1" | grep -qF "$2"' - "$out" "$want"
	check "rx-tls13-$r" "no TLSv1.3: $(echo "$out" | grep -m1 'Protocol')" \
		sh -c 'echo "$1" | grep -q "^New, TLSv1.3"' - "$out"
done

leaf() { tls_probe "$(addr "$1")" -showcerts | awk '/BEGIN CERT/ { n++ } n == 1 { print } /END CERT/ && n == 1 { exit }'; }
hostcheck() { tls_probe "$(addr "$1")" -verify_hostname "$2" | grep -m1 'Verify return code'; }

got=$(hostcheck rx-pkix mx-c.unsigned-hosts.test)
check rx-pkix-name "got '$got'" [ "$got" = "Verify return code: 0 (ok)" ]
got=$(hostcheck rx-badname mx-badname.unsigned-hosts.test)
check rx-badname-mismatch "got '$got'" [ "$got" = "Verify return code: 62 (hostname mismatch)" ]
got=$(hostcheck rx-cnonly mx-cnonly.unsigned-hosts.test)
check rx-cnonly-cn-matches "got '$got'" [ "$got" = "Verify return code: 0 (ok)" ]
got=$(leaf rx-cnonly | openssl x509 -noout -ext subjectAltName 2>&1)
check rx-cnonly-no-san "got '$got'" sh -c 'echo "$1" | grep -q "No extensions"' - "$got"
got=$(leaf rx-ou | openssl x509 -noout -subject -nameopt multiline)
check rx-ou-marker "subject '$got'" sh -c 'echo "$1" | grep -q "organizationalUnitName *= $2"' - "$got" "$E2E_OU_MARKER"
got=$(leaf rx-pkix | openssl x509 -noout -subject -nameopt multiline)
check rx-pkix-no-ou "subject '$got'" sh -c '! echo "$1" | grep -q organizationalUnitName' - "$got"
got=$(leaf rx-expired | openssl x509 -noout -checkend 0 2>&1)
check rx-expired-cert "got '$got'" [ "$got" = "Certificate will expire" ]

# No STARTTLS / old TLS only ------------------------------------------------
got=$(ehlo_of "$(addr rx-nostarttls)")
check rx-nostarttls-no-starttls "EHLO offers STARTTLS or no answer" \
	sh -c 'echo "$1" | grep -q "250 " && ! echo "$1" | grep -qE "^<- +250[- ]STARTTLS"' - "$got"
got=$(ehlo_of "$(addr rx-dane)")
check rx-dane-offers-starttls "EHLO: $got" sh -c 'echo "$1" | grep -qE "^<- +250[- ]STARTTLS"' - "$got"

o=$(addr rx-oldtls)
for v in tls1_2 tls1_3; do
	out=$(tls_probe "$o" "-$v")
	check "rx-oldtls-refuses-$v" "handshake succeeded: $(echo "$out" | grep -m1 '^New, ')" \
		sh -c '! echo "$1" | grep -q "^New, TLSv1"' - "$out"
done
# Debian's OpenSSL 3 offers TLS 1.0/1.1 only at security level 0.
for v in tls1 tls1_1; do
	out=$(tls_probe "$o" "-$v" -cipher 'DEFAULT:@SECLEVEL=0')
	want=$(echo "$v" | sed 's/tls1_1/TLSv1.1/; s/tls1$/TLSv1/')
	check "rx-oldtls-speaks-$v" "got '$(echo "$out" | grep -m1 -E 'Protocol *:|error')'" \
		sh -c 'echo "$1" | grep -qE "^ *Protocol *: $2\$"' - "$out" "$want"
done

# The down host of nta-ntamx has no listener.
check rx-down-refuses "something listens on 127.0.20.20:25" \
	sh -c '! timeout 5 swaks --server 127.0.20.20 --port 25 --quit-after CONNECT >/dev/null 2>&1'

# Delivery into each Maildir -------------------------------------------------
tmp=$E2E_DIR/t_receivers
mkdir -p "$tmp"
while IFS='	' read -r r a c m; do
	id="<rx-$r-$$@e2e.test>"
	to="probe-$r@example.test"
	msg_make "$tmp/$r.eml" "$to" "$id" clean
	case $r/$m in
	rx-expired/*) tls="--tls" ;; # verification would fail, on purpose
	*/starttls) tls="--tls --tls-verify --tls-ca-path $ca" ;;
	*) tls="" ;; # no STARTTLS, or TLS that Debian's client refuses
	esac
	# shellcheck disable=SC2086
	if ! timeout 30 swaks --server "$a" --port 25 --from "e2e@sender.test" --to "$to" \
		$tls --data "$(wire_copy "$tmp/$r.eml")" >"$tmp/$r.swaks" 2>&1; then
		fail "rx-deliver-$r" "swaks failed: $(grep -m1 -E '\*\*\*|<~\* *[45]' "$tmp/$r.swaks")"
		continue
	fi
	f=$(rx_wait "$r" "$to" "$id" 30) || { fail "rx-deliver-$r" "not in $(rx_maildir "$r")/new"; continue; }
	if [ "$(msg_body "$f" | md5sum)" != "$(msg_body "$tmp/$r.eml" | md5sum)" ]; then
		fail "rx-deliver-$r" "body differs in $f"
		continue
	fi
	rcv=$(msg_header "$f" Received | head -1)
	case $m in
	starttls) echo "$rcv" | grep -q "using TLSv1.3" || { fail "rx-deliver-$r" "not over TLS 1.3: $rcv"; continue; } ;;
	*) echo "$rcv" | grep -q "using TLS" && { fail "rx-deliver-$r" "unexpected TLS: $rcv"; continue; } ;;
	esac
	pass "rx-deliver-$r"
done <<EOF
$(e2e_receivers)
EOF

exit $E2E_FAILED
