#!/bin/sh
# Generates the e2e network's test PKI into DIR (nothing of it is committed):
#   ca.pem/ca.key          the test CA (also outbound.ca_file)
#   <name>.pem/<name>.key  one leaf per entry of certs.tsv, signed by the CA
#   <name>.chain           key + leaf + CA, for Postfix smtpd_tls_chain_files
#                          (DANE-TA(2) needs the CA in the chain the server sends)
#   <name>.tlsa311         TLSA 3 1 1 data (SHA-256 of the leaf's SPKI)
#   ca.tlsa211             TLSA 2 1 1 data (SHA-256 of the CA's SPKI)
# EC P-256 keys: generating them takes milliseconds, RSA would take seconds.
# Usage: certs.sh DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir"
cd "$dir"

# openssl ca (not x509 -req) because it takes explicit start and end dates,
# which the expired certificate needs; OpenSSL 3.0's x509 has no -not_after.
cat >ca.cnf <<'EOF'
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = any_policy
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = yes
[ any_policy ]
commonName = supplied
organizationalUnitName = optional
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
rm -rf newcerts index.txt* serial*
mkdir newcerts
: >index.txt
echo 1000 >serial

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
spki256() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }

newkey ca.key
openssl req -new -x509 -key ca.key -out ca.pem -days 30 -sha256 \
	-subj "/O=ntamsa e2e/CN=ntamsa e2e test CA" -config ca.cnf -extensions v3_ca
spki256 ca.pem >ca.tlsa211

# certs.tsv: name  subject  SANs (comma list or -)  validity (days or expired)
grep -v '^#' "$here/certs.tsv" | while IFS='	' read -r name subj sans valid; do
	[ -n "$name" ] || continue
	newkey "$name.key"
	ext="v3_leaf"
	if [ "$sans" != "-" ]; then
		printf '[ v3_leaf_%s ]\nbasicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\nsubjectAltName = %s\n' \
			"$name" "$(echo "$sans" | sed 's/\([^,]*\)/DNS:\1/g')" >>ca.cnf
		ext="v3_leaf_$name"
	fi
	openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" -config ca.cnf
	if [ "$valid" = expired ]; then
		dates="-startdate 20200101000000Z -enddate 20210101000000Z"
	else
		dates="-days $valid"
	fi
	# shellcheck disable=SC2086
	openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -notext \
		-extensions "$ext" $dates -in "$name.csr" -out "$name.pem" 2>/dev/null
	cat "$name.key" "$name.pem" ca.pem >"$name.chain"
	spki256 "$name.pem" >"$name.tlsa311"
	rm -f "$name.csr"
done
# A digest that matches nothing, for the dane-mismatch scenario.
echo 0000000000000000000000000000000000000000000000000000000000000000 >wrong.tlsa311
chmod 600 ./*.key ./*.chain
