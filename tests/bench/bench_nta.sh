#!/bin/sh
# bench_nta.sh - NTA records parsed+validated per second (one core, target
# >= 1 million) and cached `nta check` latency against a signed test zone
# (dnsnet on 127.0.2.53; needs root for port 53, else that part is skipped).
set -u
cd "$(dirname "$0")/../.."
b=build/rel/bench/bench_nta
[ -x "$b" ] || make -s "$b" || exit 1
taskset -c 0 "$b" parse 2 2>/dev/null || "$b" parse 2

if [ "$(id -u)" != 0 ] || ! command -v nsd >/dev/null; then
	echo "nta-check-dns: skipped (needs root and nsd)"
	exit 0
fi
tmp=$(mktemp -d /tmp/bench_nta.XXXXXX)
trap 'python3 tests/e2e/dnsnet/dnsnet.py down --work "$tmp/net" >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/zones"
cat >"$tmp/zones/bench.test.zone" <<'Z'
; dnsnet: signed
@ TXT "v=NTA7516-1;startdate=2024-01;enddate=2099-12;provider=bench"
@ MX 10 mx
mx A 127.0.2.25
_25._tcp.mx TLSA 3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1
Z
python3 tests/e2e/dnsnet/dnsnet.py up --zones "$tmp/zones" --work "$tmp/net" --addr 127.0.2.53 || exit 1
{ printf '[server]\ndata_dir = %s\n\n' "$tmp"; cat "$tmp/net/dns.conf"; } >"$tmp/ntamsa.conf"
"$b" dns "$tmp/ntamsa.conf" bench.test 2000
# The whole command, a fresh process each time: start-up + cold cache.
if [ -x ./ntamsa ] && ./ntamsa -c "$tmp/ntamsa.conf" nta check bench.test >/dev/null 2>&1; then
	t0=$(date +%s%N)
	for i in 1 2 3 4 5; do ./ntamsa -c "$tmp/ntamsa.conf" nta check bench.test >/dev/null; done
	t1=$(date +%s%N)
	echo "nta-check-cli: $(( (t1 - t0) / 5000000 )) ms per 'ntamsa nta check' (fresh process, cold cache, 5 runs)"
fi
