#!/bin/sh
# Outbound delivery throughput over DANE-verified TLS, ntamsa vs Postfix
# (smtp_tls_security_level = dane), same load, same receiver, one run.
#
#   DNS: a signed zone bench.test (MX, A, TLSA 3 1 1 of the receiver's key)
#        served by NSD via tests/e2e/dnsnet on 127.0.60.53; Postfix gets a
#        validating unbound on 127.0.60.54 (in a private mount namespace
#        whose /etc/resolv.conf points there; the system file is untouched).
#   Receiver: Postfix on 127.0.60.25:25, STARTTLS, discard transport.
#   ntamsa: messages queued first (deliver points at a closed port), then
#        released at once; time from `ntamsa serve` start (start-up of the
#        daemon included) until every recipient is delivered.
#   Postfix: same count queued with defer_transports = smtp, then released
#        (defer_transports cleared, postqueue -f); time until the receiver
#        logged them all.  smtp_tls_connection_reuse = yes (tlsproxy).
# Prints figures; never fails on a number.  Needs root (port 25/53).
#   MSGS (200)  SIZE (4096)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${NTAMSA_REL_BIN:-$ROOT/ntamsa}
LG=$ROOT/build/rel/bench/bench_smtpd_loadgen
MSGS=${MSGS:-200} SIZE=${SIZE:-4096}
NS=127.0.60.53 UB=127.0.60.54 RX=127.0.60.25 MSA=127.0.60.31 PFS=127.0.60.26
PF_DAEMON_DIR=$(postconf -h -d daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)
T=$(mktemp -d /tmp/bench_outbound.XXXXXX)
chmod 755 "$T"
NPID="" UBPID=""

pf_kill() {	# stop a Postfix instance and whatever is left of it
	[ -d "$1" ] || return 0
	postfix -c "$1" stop >/dev/null 2>&1
	for p in $(grep -lzx "MAIL_CONFIG=$1" /proc/[0-9]*/environ 2>/dev/null |
	    sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'); do kill -9 "$p" 2>/dev/null; done
	pkill -9 -xf "$PF_DAEMON_DIR/master -c $1 -w" 2>/dev/null
}
cleanup() {
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null && wait "$NPID" 2>/dev/null
	[ -n "$UBPID" ] && kill "$UBPID" 2>/dev/null
	pf_kill "$T/rx/conf"
	pf_kill "$T/pf/conf"
	python3 tests/e2e/dnsnet/dnsnet.py down --work "$T/dns" >/dev/null 2>&1
	[ -n "${KEEP_TMP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || { echo "bench_outbound: needs root (ports 25/53)"; exit 0; }
for f in "$BIN" "$LG"; do
	[ -x "$f" ] || { echo "bench_outbound: $f missing (make all bench)"; exit 0; }
done
for c in nsd ldns-signzone unbound postfix unshare; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] ||
		{ echo "bench_outbound: $c missing"; exit 0; }
done

# ---- PKI, zone, DNS ----
mkdir -p "$T/zones" "$T/pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=mx.bench.test" -keyout "$T/pki/rx.key" -out "$T/pki/rx.pem" >/dev/null 2>&1
tlsa=$(openssl x509 -in "$T/pki/rx.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -hex | awk '{print $NF}')
cat >"$T/zones/bench.test.zone" <<EOF
; dnsnet: signed
@		MX	10 mx
mx		A	$RX
_25._tcp.mx	TLSA	3 1 1 $tlsa
EOF
python3 tests/e2e/dnsnet/dnsnet.py up --zones "$T/zones" --work "$T/dns" --addr "$NS" \
	>"$T/dnsnet.log" 2>&1 || { echo "bench_outbound: dnsnet up failed"; tail -3 "$T/dnsnet.log"; exit 0; }

# ---- receiver ----
pf_master_cf() {	# $1 = listen address or "", $2 = extra lines
	[ -n "$1" ] && echo "$1:25 inet n - n - - smtpd"
	cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
tlsproxy  unix  -       -       n       -       0       tlsproxy
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}
pf_dirs() {	# $1 = instance dir
	mkdir -p "$1/conf" "$1/data"
	chown postfix "$1/data"
	install -d -o root -g root -m 755 "$1/queue" "$1/queue/pid"
	for q in active bounce corrupt defer deferred flush hold incoming saved trace private; do
		install -d -o postfix -g root -m 700 "$1/queue/$q"
	done
	install -d -o postfix -g postdrop -m 710 "$1/queue/public"
	install -d -o postfix -g postdrop -m 730 "$1/queue/maildrop"
}
pf_main_cf() {	# $1 dir, $2 hostname
	cat <<EOF
compatibility_level = 3.6
queue_directory = $1/queue
data_directory = $1/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $2
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
biff = no
maillog_file_prefixes = $1
maillog_file = $1/maillog
EOF
}
pf_dirs "$T/rx"
pf_master_cf "$RX" >"$T/rx/conf/master.cf"
{
	pf_main_cf "$T/rx" rx.bench.test
	cat <<EOF
virtual_mailbox_domains = static:all
virtual_transport = discard:bench receiver
smtp_dns_support_level = disabled
smtpd_tls_security_level = may
smtpd_tls_chain_files = $T/pki/rx.key, $T/pki/rx.pem
EOF
} >"$T/rx/conf/main.cf"
"$PF_DAEMON_DIR/master" -c "$T/rx/conf" -w || { echo "bench_outbound: receiver did not start"; exit 0; }
rx_count() { grep -c 'status=sent (bench receiver)' "$T/rx/maillog" 2>/dev/null || echo 0; }

# Wait until $1 returns >= $2 (bounded); prints ms since $3 (default now).
wait_count() {
	t0=${3:-$(date +%s%N)} i=0
	while [ "$($1)" -lt "$2" ]; do
		i=$((i + 1)); [ $i -gt 6000 ] && { echo timeout; return 1; }
		sleep 0.05
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

# ---- ntamsa ----
mkdir -p "$T/n/data"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/n/dkim.key" 2>/dev/null
chmod 600 "$T/n/dkim.key"
n_conf() {	# $1 = outbound port
	cat <<EOF
[server]
hostname = msa.bench.test
data_dir = $T/n/data
submission = $MSA:587
submissions = $MSA:465
tls_cert = $T/pki/rx.pem
tls_key = $T/pki/rx.key
[log]
level = warn
[outbound]
port = $1
bind = $MSA
helo = msa.bench.test
[dkim]
selector = b
key = $T/n/dkim.key
EOF
	cat "$T/dns/dns.conf"
}
n_conf 2 >"$T/n/hold.conf"
n_conf 25 >"$T/n/go.conf"
N() { "$BIN" -c "$T/n/go.conf" "$@"; }
N keys init >/dev/null 2>&1 || { echo "bench_outbound: keys init failed"; exit 0; }
echo bench-pw | N user add load@bench-sender.test --rate 1000000/h >/dev/null 2>&1
n_serve() {
	"$BIN" -c "$1" serve >>"$T/n/serve.log" 2>&1 &
	NPID=$!
	i=0
	until swaks --server "$MSA:587" --quit-after EHLO >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
	done
}
n_stop() { kill "$NPID" 2>/dev/null; wait "$NPID" 2>/dev/null; NPID=""; }
n_state() { N queue list 2>/dev/null | grep -c " $1 "; }
n_deferred() { N queue list 2>/dev/null | grep -c ' queued .*attempts=[1-9]'; }
n_delivered() { n_state delivered; }

n_serve "$T/n/hold.conf" || { echo "bench_outbound: ntamsa did not start"; tail -3 "$T/n/serve.log"; exit 0; }
"$LG" -a "$MSA:587" -t starttls -u load@bench-sender.test -w bench-pw -f load@bench-sender.test \
	-r rcpt@bench.test -n 4 -k 1 -m $((MSGS / 4)) -s "$SIZE" >"$T/n/inject.log" 2>&1
queued=$((MSGS / 4 * 4))
wait_count n_deferred "$queued" >/dev/null
n_stop
N queue flush >/dev/null
base=$(rx_count)
t_go=$(date +%s%N)
n_serve "$T/n/go.conf" || { echo "bench_outbound: ntamsa did not restart"; exit 0; }
t_up=$(date +%s%N)
n_ms=$(wait_count n_delivered "$queued" "$t_go")
n_up=$(( ($(date +%s%N) - t_up) / 1000000 ))
n_stop
n_conns=$(N log export --domain bench.test --json | grep -c '"result":"delivered"')
n_auth=$(N log export --domain bench.test --json | grep '"result":"delivered"' | grep -c '"auth":"dane-ee"')

# ---- Postfix relaying with smtp_tls_security_level = dane ----
cat >"$T/unbound.conf" <<EOF
server:
	interface: $UB
	port: 53
	access-control: 127.0.0.0/8 allow
	root-hints: "$T/dns/root.hints"
	trust-anchor-file: "$T/dns/root.key"
	do-not-query-localhost: no
	local-zone: "test." transparent
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$T"
	pidfile: "$T/unbound.pid"
	use-syslog: no
	logfile: "$T/unbound.log"
EOF
unbound -c "$T/unbound.conf" &
UBPID=$!
printf 'nameserver %s\noptions edns0 trust-ad\n' "$UB" >"$T/resolv.conf"
pf_dirs "$T/pf"
pf_master_cf "" >"$T/pf/conf/master.cf"
{
	pf_main_cf "$T/pf" msa2.bench.test
	cat <<EOF
smtp_dns_support_level = dnssec
smtp_host_lookup = dns
smtp_tls_security_level = dane
smtp_tls_connection_reuse = yes
smtp_bind_address = $PFS
smtp_tls_loglevel = 1
defer_transports = smtp
EOF
} >"$T/pf/conf/main.cf"
# A private mount namespace: this Postfix (and its children) resolve through
# the validating unbound; nothing else on the machine is affected.
unshare -m sh -c "mount --bind '$T/resolv.conf' /etc/resolv.conf && '$PF_DAEMON_DIR/master' -c '$T/pf/conf' -w" ||
	{ echo "bench_outbound: sending Postfix did not start"; exit 0; }
body=$T/pf/msg
{
	printf 'From: load@bench-sender.test\nTo: rcpt@bench.test\nSubject: bench\n\n'
	head -c "$SIZE" /dev/zero | tr '\0' 'x' | fold -w 76
	echo
} >"$body"
i=0
while [ $i -lt "$queued" ]; do
	sendmail -C "$T/pf/conf" -f load@bench-sender.test rcpt@bench.test <"$body" || break
	i=$((i + 1))
done
pf_queued() { find "$T/pf/queue/deferred" "$T/pf/queue/active" "$T/pf/queue/incoming" -type f 2>/dev/null | wc -l; }
wait_count pf_queued "$queued" >/dev/null
base=$(rx_count)
rx_after_pf() { echo $(($(rx_count) - base)); }
postconf -c "$T/pf/conf" -e defer_transports= >/dev/null
postfix -c "$T/pf/conf" reload >/dev/null 2>&1
# Let qmgr restart with the new setting; otherwise the flush races the
# reload and some mail waits a whole queue_run_delay.
sleep 2
t_go=$(date +%s%N)
postqueue -c "$T/pf/conf" -f
p_ms=$(wait_count rx_after_pf "$queued" "$t_go")
p_dane=$(grep -c 'Verified TLS connection established' "$T/pf/maillog" 2>/dev/null || echo 0)

conns_from() { grep -c "connect from unknown\[$1\]" "$T/rx/maillog" 2>/dev/null || echo 0; }
rate() { [ "$2" = timeout ] && echo "-" || awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.1f", n * 1000 / (ms > 0 ? ms : 1) }'; }
echo "bench_outbound: $queued messages of $SIZE bytes to one DANE (3 1 1) receiver, connection reuse on"
echo "bench_outbound: ntamsa  $n_ms ms  $(rate "$queued" "$n_ms") msg/s  (delivered attempts $n_conns, dane-ee verified $n_auth, TCP connections $(conns_from "$MSA"))"
echo "bench_outbound: ntamsa  $n_up ms  $(rate "$queued" "$n_up") msg/s  counted from the daemon listening (start-up excluded, approx.)"
echo "bench_outbound: postfix $p_ms ms  $(rate "$queued" "$p_ms") msg/s  (smtp_tls_security_level=dane, verified TLS sessions logged $p_dane, TCP connections $(conns_from "$PFS"))"
