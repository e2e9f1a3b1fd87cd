#!/bin/sh
# Brings the e2e test network up under $E2E_DIR (default build/e2e):
#   test PKI (certs.sh), DKIM key of sender.test, the scenario zones signed
#   and served by NSD on 127.0.10.53 (dnsnet), one receiving Postfix per
#   line of receivers.tsv on 127.0.20.x:25, an unbound-host config and an
#   ntamsa config for the network ($E2E_DIR/ntamsa/ntamsa.conf).
# Writes $E2E_DIR/env (sh exports for the scenario scripts) and prints the
# bring-up time.  On failure it tears down what it started and exits 1.
# Run as root (port 25/53 on loopback, Postfix's own users).
set -eu
# Postfix's users must read configs and reach queues: no umask 077 here.
umask 022
. "$(dirname "$0")/env.sh"
. "$E2E_SRC/postfix.sh"

t0=$(date +%s%N)
fail() { echo "e2e-up: $*" >&2; "$E2E_SRC/down.sh" >/dev/null 2>&1 || true; exit 1; }
[ "$(id -u)" = 0 ] || { echo "e2e-up: run as root (ports 25 and 53)" >&2; exit 1; }
for c in postfix nsd ldns-signzone unbound-host swaks openssl perl dig; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] ||
		{ echo "e2e-up: $c missing (make deps)" >&2; exit 1; }
done

# A previous run that died without its trap may have left processes.
"$E2E_SRC/down.sh" >/dev/null 2>&1 || true
rm -rf "$E2E_DIR"
mkdir -p "$E2E_DIR/ntamsa/data" "$E2E_DIR/rx"
# virtual(8) runs as nobody and must reach its Maildir under here.
chmod 755 "$E2E_DIR" "$E2E_DIR/rx"
[ "$E2E_DIR" = "$E2E_TOP/build/e2e" ] && chmod o+x "$E2E_TOP/build"

sh "$E2E_SRC/certs.sh" "$E2E_DIR/pki" || fail "certificates"

# DKIM key of the sending domain, published in sender.test.
dkey=$E2E_DIR/ntamsa/dkim-$E2E_DKIM_DOMAIN.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dkey" 2>/dev/null ||
	fail "dkim key"
chmod 600 "$dkey"
p=$(openssl pkey -in "$dkey" -pubout -outform DER | base64 -w0)
# TXT character-strings hold at most 255 octets: split the record.
dkim_txt=$(printf 'v=DKIM1; k=rsa; p=%s' "$p" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')

t_pki=$(date +%s%N)

# Zone sources with the run-time values filled in.
y=$(date -u +%Y)
start=$(date -u -d "$(date -u +%Y-%m-15) -2 months" +%Y-%m)
zsrc=$E2E_DIR/zones-src
mkdir -p "$zsrc"
for z in "$E2E_SRC"/zones/*.zone; do
	sed -e "s|@START@|$start|g" -e "s|@END@|$((y + 2))-12|g" \
		-e "s|@PAST_START@|$((y - 3))-01|g" -e "s|@PAST_START_END@|$((y - 3))-12|g" \
		-e "s|@PAST_END_START@|$((y - 2))-01|g" -e "s|@PAST_END@|$((y - 2))-12|g" \
		-e "s|@FUTURE_START@|$((y + 1))-01|g" -e "s|@FUTURE_END@|$((y + 2))-12|g" \
		-e "s|@YEAR@|$y|g" -e "s|@PROVIDER@|$E2E_RX_PROVIDER|g" \
		-e "s|@TLSA_GOOD@|$(cat "$E2E_DIR/pki/good.tlsa311")|g" \
		-e "s|@TLSA_CA@|$(cat "$E2E_DIR/pki/ca.tlsa211")|g" \
		-e "s|@TLSA_WRONG@|$(cat "$E2E_DIR/pki/wrong.tlsa311")|g" \
		-e "s|@DKIM_SELECTOR@|$E2E_DKIM_SELECTOR|g" -e "s|@DKIM_TXT@|$dkim_txt|g" \
		"$z" >"$zsrc/$(basename "$z")"
done
grep -l '@[A-Z_]*@' "$zsrc"/*.zone >/dev/null 2>&1 && fail "unfilled placeholder in $zsrc"

python3 "$E2E_SRC/dnsnet/dnsnet.py" up --zones "$zsrc" --work "$E2E_DIR/dns" \
	--addr "$E2E_NS_ADDR" || fail "dnsnet up"
t_dns=$(date +%s%N)

# For unbound-host: real recursion from the test root, validated.
cat >"$UNBOUND_CONF" <<EOF
server:
	root-hints: "$E2E_DIR/dns/root.hints"
	trust-anchor-file: "$E2E_DIR/dns/root.key"
	do-not-query-localhost: no
	local-zone: "test." transparent
	interface-automatic: no
	outgoing-interface: $E2E_MSA_ADDR
	verbosity: 0
EOF

e2e_receivers | while IFS='	' read -r n a c m; do
	rx_make "$n" "$a" "$c" "$m" || exit 1
done || fail "receiver configuration"
# A fresh master needs about 2 s to come up (mostly waiting): start them
# all at once, then wait for each.
pids=""
for n in $(e2e_receivers | cut -f1); do
	rx_start "$n" &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=1; done
[ $bad = 0 ] || fail "a receiver did not start (logs $E2E_DIR/rx/*/maillog)"
t_rx=$(date +%s%N)

# The ntamsa configuration of the network.
cat >"$NTAMSA_CONF" <<EOF
# ntamsa config for the e2e network; written by tests/e2e/up.sh
[server]
hostname = msa.$E2E_DKIM_DOMAIN
data_dir = $E2E_DIR/ntamsa/data
submission = $E2E_MSA_ADDR:587
submissions = $E2E_MSA_ADDR:465
tls_cert = $E2E_DIR/pki/msa.pem
tls_key = $E2E_DIR/pki/msa.key

[outbound]
ca_file = $E2E_DIR/pki/ca.pem
port = 25
helo = msa.$E2E_DKIM_DOMAIN
bind = $E2E_MSA_ADDR
connect_timeout = 5s

[nta]
provider_id = $E2E_PROVIDER_ID
ou_markers = $E2E_OU_MARKER
portal_after = ${E2E_PORTAL_AFTER}s
# Our sending domain publishes its NTA record nowhere: declare it compliant.
compliant_domain = $E2E_DKIM_DOMAIN

[portal]
listen = $E2E_MSA_ADDR:8443
base_url = https://$E2E_MSA_ADDR:8443

[dkim]
selector = $E2E_DKIM_SELECTOR
key = $dkey
domain = $E2E_DKIM_DOMAIN $E2E_DKIM_SELECTOR $dkey

EOF
cat "$E2E_DIR/dns/dns.conf" >>"$NTAMSA_CONF"

cat >"$E2E_DIR/env" <<EOF
E2E_DIR='$E2E_DIR'; export E2E_DIR
NTAMSA_CONF='$NTAMSA_CONF'; export NTAMSA_CONF
UNBOUND_CONF='$UNBOUND_CONF'; export UNBOUND_CONF
EOF

t1=$(date +%s%N)
ms() { echo $((($2 - $1) / 1000000)); }
echo "e2e-up: network up in $(ms "$t0" "$t1") ms (pki $(ms "$t0" "$t_pki") ms, zones signed and NSD $(ms "$t_pki" "$t_dns") ms, $(e2e_receivers | wc -l) receivers $(ms "$t_dns" "$t_rx") ms)"
