#!/bin/sh
# Generates the test PKI for test_outbound_smtpc into $1 (run time only;
# nothing here is committed).  ca = test root; leaves signed by it.
set -eu
d=$1
cd "$d"
cat >ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
organizationalUnitName = optional
[leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
CNF
: >index.txt
echo 01 >serial
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.key -out ca.pem -days 30 -subj "/CN=ntamsa test root" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
# leaf NAME SUBJECT SAN [startdate enddate]
leaf() {
	q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "$2"
	if [ $# -ge 5 ]; then
		SAN=$3 q openssl ca -batch -config ca.cnf -extensions leaf -cert ca.pem \
			-keyfile ca.key -in "$1.csr" -out "$1.crt" -notext \
			-startdate "$4" -enddate "$5"
	else
		SAN=$3 q openssl ca -batch -config ca.cnf -extensions leaf -cert ca.pem \
			-keyfile ca.key -in "$1.csr" -out "$1.crt" -notext -days 10
	fi
	cat "$1.crt" ca.pem >"$1.pem"
}
leaf good "/CN=mx.good.test" "DNS:mx.good.test"
leaf wild "/CN=wild" "DNS:mx*.good.test"
leaf fullwild "/CN=fullwild" "DNS:*.good.test"
leaf expired "/CN=mx.good.test" "DNS:mx.good.test" 20200101000000Z 20210101000000Z
leaf ou "/OU=other unit/OU=NTA7516-CERTIFIED/CN=mx.ou.test" "DNS:mx.ou.test"
leaf ounear "/OU=NTA7516-CERTIFIED-NOT/CN=mx.ou.test" "DNS:mx.ou.test"
# DANE-EE target: self-signed, a name nobody checks.
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout self.key -out self.crt -days 10 -subj "/CN=not-the-host"
cp self.crt self.pem
cp ca.pem ca.crt
