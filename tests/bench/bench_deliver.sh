#!/bin/sh
# Delivery throughput over DANE-verified TLS with connection reuse: ntamsa's
# deliver worker vs Debian's Postfix relaying the same load with
# smtp_tls_security_level = dane, to the same receiving Postfix, in one run.
#
#   signed DNS (tests/e2e/dnsnet, NSD 127.0.2.53): bench.test. with a valid
#     NTA record, MX mx.bench.test -> 127.0.2.25, TLSA 3 1 1 of its key
#   receiver: a Postfix (tests/e2e/postfix.sh) on 127.0.2.25:25, STARTTLS,
#     delivering into one Maildir; the finish line for both runs
#   ntamsa: submission 127.0.2.24:10587, outbound from 127.0.2.24
#   Postfix relay: 127.0.2.26:25, smtp_dns_support_level = dnssec, dane,
#     smtp_tls_connection_reuse = yes; it learns DNSSEC from an unbound
#     daemon on 127.0.2.54 (glibc's stub trusts its AD bit), through a
#     resolv.conf bind-mounted in a private mount namespace (unshare -m), so
#     the system's resolver is never touched
#
# Each side first queues N messages (SIZE octets, health mail forced with
# X-NTA7516-Classify: secure so ntamsa uses the `dane` channel; CLASS=clean
# for regular mail, where DANE is enforced too), then the clock runs from the
# start of delivery until the receiver's Maildir holds them all:
#   ntamsa: submitted while the receiver is down (the deliver worker defers
#     each after a refused connection), stopped, `ntamsa queue flush`, the
#     receiver started, `ntamsa serve`; the clock runs from the deliver
#     worker's start (its log line), the daemon's start-up is shown apart
#   Postfix: submitted into the hold queue (check_client_access static:HOLD),
#     then the clock runs from `postsuper -H ALL; postqueue -f`; run twice:
#     Debian's default concurrency (up to 20 connections per destination)
#     and one connection (the cost per message apart from parallelism);
#     ntamsa's own parallelism is shown from its deliver-start log line
# Prints messages/s for both, the ratio, and connection reuse: TLS handshakes
# and connections the receiver logged during each run.  Never fails on a
# number.  Run as root (ports 25/53 on loopback, Postfix's users, unshare).
# ntamsa's figures are cross-checked against its stored attempt records
# (`ntamsa log export`, the proof of delivery): delivered records and
# their auth result (dane-ee expected).
#   N (1000; MSGS is accepted too) SIZE (2048) SESS (4 injecting sessions)
#   CLASS (health|clean) WORKERS (outbound.workers, default 8)
#   ROUNDS (2; the best rate of each side is compared: the machine is shared)
#   TIMEOUT (300 s per delivery run) KEEP_TMP (keep the work dir)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${NTAMSA_REL_BIN:-$ROOT/ntamsa}
LOAD=$ROOT/tests/bench/bench_deliver_load.py
N=${N:-${MSGS:-1000}} SIZE=${SIZE:-2048} SESS=${SESS:-4} CLASS=${CLASS:-health} TIMEOUT=${TIMEOUT:-300}
ROUNDS=${ROUNDS:-2}
NS=127.0.2.53 RES=127.0.2.54 MSA=127.0.2.24 RX=127.0.2.25 RELAY=127.0.2.26
PW=bench-deliver-pw
FROM=bench@zender.test RCPT=rcpt@bench.test
PF_DAEMON_DIR=$(postconf -h -d daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)

skip() { echo "bench_deliver: skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "run as root (ports 25 and 53, Postfix's users, unshare)"
[ -x "$BIN" ] || skip "$BIN missing (make)"
for c in nsd ldns-signzone unbound postfix postsuper postqueue unshare openssl python3; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip "$c missing (make deps-test)"
done
case $CLASS in health|clean) ;; *) skip "CLASS must be health or clean" ;; esac

T=$(mktemp -d /tmp/bench_deliver.XXXXXX)
chmod 755 "$T"		# Postfix's daemons and virtual(8) (nobody) reach their dirs
E2E_DIR=$T
export E2E_DIR
. "$ROOT/tests/e2e/postfix.sh"
SERVE_PID="" UB_PID="" DNS_UP=0 BG_PID=""

# bg CMD...: run CMD in the background and wait for it, so that a TERM
# reaches our trap at once (sh runs traps only between foreground commands,
# and not inside $(...)); CMD's output goes to $T/bg.out.
bg() {
	"$@" >"$T/bg.out" 2>&1 &
	BG_PID=$!
	wait "$BG_PID"
	BG_PID=""
}

stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	i=0
	while [ $i -lt 100 ] && kill -0 "$SERVE_PID" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=""
}

cleanup() {
	[ -n "$BG_PID" ] && kill "$BG_PID" 2>/dev/null
	stop_serve
	rx_stop relay
	rx_stop rx
	[ -n "$UB_PID" ] && kill "$UB_PID" 2>/dev/null && wait "$UB_PID" 2>/dev/null
	[ $DNS_UP = 1 ] && python3 "$ROOT/tests/e2e/dnsnet/dnsnet.py" down --work "$T/dns" >/dev/null 2>&1
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ms() { echo $((($2 - $1) / 1000000)); }
rate() { awk -v n="$1" -v m="$2" 'BEGIN { if (m > 0) printf "%.1f", n * 1000 / m; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# Lines of FILE after line FROM that match PATTERN.
count_after() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null | grep -c "$3"; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# settle FILE FROM PATTERN WANT: postlogd writes logs asynchronously and may
# lag the deliveries; wait (at most 20 s) until WANT matching lines arrived.
settle() {
	i=0
	while [ $i -lt 200 ] && [ "$(count_after "$1" "$2" "$3")" -lt "$4" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# ---- PKI, DNS ----
sh "$ROOT/tests/e2e/certs.sh" "$T/pki" >/dev/null 2>&1 || skip "tests/e2e/certs.sh failed"
mkdir -p "$T/zones"
y=$(date -u +%Y)
cat >"$T/zones/bench.test.zone" <<EOF
; dnsnet: signed
@	3600	TXT	"v=NTA7516-1;startdate=$((y - 1))-01;enddate=$((y + 2))-12;provider=bench-receiving-provider"
@	MX	10 mx
mx	A	$RX
_25._tcp.mx	TLSA	3 1 1 $(cat "$T/pki/good.tlsa311")
EOF
DNS_UP=1
python3 "$ROOT/tests/e2e/dnsnet/dnsnet.py" up --zones "$T/zones" --work "$T/dns" --addr "$NS" \
	>"$T/dnsnet.log" 2>&1 || { tail -5 "$T/dnsnet.log"; skip "dnsnet up failed"; }

# The validating resolver of the Postfix relay.
mkdir -p "$T/unbound"
cat >"$T/unbound/unbound.conf" <<EOF
server:
	interface: $RES
	port: 53
	interface-automatic: no
	outgoing-interface: $RES
	access-control: 127.0.0.0/8 allow
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$T/unbound"
	pidfile: "$T/unbound/unbound.pid"
	use-syslog: no
	logfile: "$T/unbound/unbound.log"
	verbosity: 1
	val-log-level: 2
	root-hints: "$T/dns/root.hints"
	trust-anchor-file: "$T/dns/root.key"
	do-not-query-localhost: no
	local-zone: "test." transparent
remote-control:
	control-enable: no
EOF
unbound -c "$T/unbound/unbound.conf" >"$T/unbound/stderr" 2>&1 &
UB_PID=$!

# ---- receiver ----
rx_make rx "$RX" good starttls || skip "receiver configuration"
# Many parallel deliveries from the relay: no per-client limits in the way.
printf 'smtpd_client_connection_count_limit = 0\nsmtpd_client_connection_rate_limit = 0\n' \
	>>"$T/rx/rx/conf/main.cf"
MAILDIR=$T/rx/rx/mail/Maildir/new

# ---- Postfix relay ----
P=$T/rx/relay
mkdir -p "$P/conf" "$P/queue" "$P/data"
chown postfix "$P/data"
{
	echo "$RELAY:25 inet n - n - - smtpd"
	rx_master_cf x | sed 1d
	echo "smtp      unix  -       -       n       -       -       smtp"
	echo "relay     unix  -       -       n       -       -       smtp"
	echo "tlsproxy  unix  -       -       n       -       0       tlsproxy"
	echo "pickup    fifo  n       -       n       60      1       pickup"
} >"$P/conf/master.cf"
cat >"$P/conf/main.cf" <<EOF
# bench relay: Debian's Postfix defaults, plus DANE and TLS connection reuse
compatibility_level = 3.6
queue_directory = $P/queue
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.zender.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
# Queue first: every message goes to the hold queue until released.
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_client_access static:HOLD, permit_mynetworks, reject
smtp_bind_address = $RELAY
smtp_helo_name = relay.zender.test
smtp_dns_support_level = dnssec
smtp_tls_security_level = dane
smtp_tls_connection_reuse = yes
smtp_tls_loglevel = 1
maillog_file = $P/maillog
maillog_file_prefixes = $P
EOF
printf 'nameserver %s\noptions trust-ad\n' "$RES" >"$T/resolv.conf"

start_relay() {
	rx_queue_dirs "$P/queue"
	# Only this master and its children see the bench resolver.
	unshare -m sh -c "mount --bind '$T/resolv.conf' /etc/resolv.conf &&
		exec '$PF_DAEMON_DIR/master' -c '$P/conf' -w"
}

wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		python3 -c "import socket; socket.create_connection(('$1', $2), 1).close()" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# ---- ntamsa ----
mkdir -p "$T/n/data"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/n/dkim.key" 2>/dev/null ||
	skip "dkim key"
chmod 600 "$T/n/dkim.key"
echo bench-receiving-provider >"$T/n/certified"
cat >"$T/n/ntamsa.conf" <<EOF
[server]
hostname = msa.zender.test
data_dir = $T/n/data
submission = $MSA:10587
submissions = $MSA:10465
tls_cert = $T/pki/msa.pem
tls_key = $T/pki/msa.key
[log]
level = info
[outbound]
port = 25
helo = msa.zender.test
bind = $MSA
connect_timeout = 5s
workers = ${WORKERS:-8}
[nta]
provider_id = ntamsa-bench
certified_providers = $T/n/certified
compliant_domain = zender.test
[portal]
listen = $MSA:18443
base_url = https://$MSA:18443
[dkim]
selector = bench
key = $T/n/dkim.key

EOF
cat "$T/dns/dns.conf" >>"$T/n/ntamsa.conf"
NT() { "$BIN" -c "$T/n/ntamsa.conf" "$@"; }
NT keys init >"$T/n/keys.log" 2>&1 || { cat "$T/n/keys.log"; skip "ntamsa keys init"; }
echo "$PW" | NT user add "$FROM" --rate 1000000/h >"$T/n/user.log" 2>&1 ||
	{ cat "$T/n/user.log"; skip "ntamsa user add"; }

start_serve() {	# LOG
	"$BIN" -c "$T/n/ntamsa.conf" serve >>"$1" 2>&1 &
	SERVE_PID=$!
}

# CPU seconds (user+system) a process has used so far.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo "?"; }

# wait_all WHAT: until the Maildir holds N more than $have0; sets got, t1.
wait_all() {
	bg python3 "$LOAD" wait "$MAILDIR" $((have0 + N)) "$TIMEOUT"
	w=$(cat "$T/bg.out")
	t1=$(echo "$w" | sed -n 's/.* at_ns \([0-9]*\)$/\1/p')
	got=$(($(echo "$w" | cut -d' ' -f2) - have0))
	[ "$got" -lt "$N" ] && echo "  $1 NOT all delivered within ${TIMEOUT}s"
}

best_ntamsa=0 best_postfix=0 best_postfix1conn=0
# best NAME RATE: keep the highest rate seen per side in best_NAME.
best() { eval "b=\${best_$1:-0}"; [ "$(awk -v a="$2" -v b="$b" 'BEGIN { print (a + 0 > b + 0) }')" = 1 ] && eval "best_$1=$2"; return 0; }

# ntamsa: queue N with the receiver down, then time the delivery.
n_run() {	# round
	rx_stop rx
	start_serve "$T/n/inject-$1.log"
	wait_port "$MSA" 10587 || { tail -5 "$T/n/inject-$1.log"; skip "ntamsa serve did not listen"; }
	bg python3 "$LOAD" inject "$MSA" 10587 "$N" "$SIZE" "$SESS" "$FROM" "$RCPT" "$CLASS" "$FROM" "$PW"
	out=$(cat "$T/bg.out")
	echo "  ntamsa        queueing: $out"
	stop_serve
	NT queue flush >"$T/n/flush.log" 2>&1 || { cat "$T/n/flush.log"; skip "ntamsa queue flush"; }
	# master -w returns once the receiver listens (no probe: it would count
	# as a connection).
	rx_start rx || skip "receiver did not start (log $T/rx/rx/maillog)"
	rx0=$(lines "$T/rx/rx/maillog")
	have0=$(ls "$MAILDIR" 2>/dev/null | wc -l)
	log=$T/n/serve-$1.log
	t0=$(date +%s%N)
	start_serve "$log"
	wait_all ntamsa
	dpid=$(sed -n 's/.*event=worker-start worker=deliver pid=\([0-9]*\).*/\1/p' "$log" | tail -1)
	dcpu=$(cpu_s "${dpid:-0}")
	stop_serve
	# The clock of the delivery proper starts when the worker is ready
	# (deliver-start); the process start-up before it is shown apart.
	ds=$(sed -n 's/^\([^ ]*\) .*event=deliver-start .*/\1/p' "$log" | head -1)
	tds=$(date -u -d "$ds" +%s%N 2>/dev/null || echo "$t0")
	settle "$T/rx/rx/maillog" "$rx0" "postfix/virtual.*status=sent" "$got"
	n_ms=$(ms "$tds" "$t1")
	n_rate=$(rate "$got" "$n_ms")
	best ntamsa "$n_rate"
	n_tls=$(count_after "$T/rx/rx/maillog" "$rx0" "TLS connection established from")
	n_conn=$(count_after "$T/rx/rx/maillog" "$rx0" "postfix/smtpd.*: connect from")
	n_dane=$(grep -c "event=delivered.*channel=dane" "$log")
	n_reg=$(grep -c "event=delivered.*channel=regular" "$log")
	n_workers=$(sed -n 's/.*event=deliver-start .*workers=\([0-9]*\).*/\1/p' "$log" | head -1)
	n_auth=$(grep "event=delivered" "$log" | sed -n 's/.* auth=\([^ ]*\).*/\1/p' | sort | uniq -c |
		awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')
	echo "  ntamsa        delivered $got/$N in $n_ms ms from deliver-start (+$(ms "$t0" "$tds") ms start-up of serve): $n_rate msgs/s; deliver worker CPU ${dcpu}s, workers=${n_workers:-1}"
	echo "                receiver: $n_conn connections, $n_tls TLS handshakes; deliver log: channel dane $n_dane, regular $n_reg, auth [$n_auth]"
	# The proof of delivery: attempt records of this round (all rounds so
	# far in the store; count the difference).
	NT log export --domain bench.test --json >"$T/n/export-$1.json" 2>/dev/null
	rec=$(grep -c '"result":"delivered"' "$T/n/export-$1.json")
	rec_ee=$(grep '"result":"delivered"' "$T/n/export-$1.json" | grep -c '"auth":"dane-ee"')
	echo "                attempt records (log export): delivered $((rec - ${rec_prev:-0})), of which auth dane-ee $((rec_ee - ${rec_ee_prev:-0}))"
	rec_prev=$rec rec_ee_prev=$rec_ee
	n_ee=$(grep -c "event=delivered.*auth=dane-" "$log")
	[ "$n_ee" -lt "$got" ] && echo "  WARNING: only $n_ee of $got ntamsa deliveries were DANE-authenticated"
}

# Postfix: queue N on hold, release, time the delivery.
pf_run() {	# label concurrency
	postconf -c "$P/conf" -e "smtp_destination_concurrency_limit=$2" &&
		postfix -c "$P/conf" reload >/dev/null 2>&1 || { echo "  $1: reload failed"; return 0; }
	sleep 1		# the new qmgr and smtp processes
	bg python3 "$LOAD" inject "$RELAY" 25 "$N" "$SIZE" "$SESS" "$FROM" "$RCPT" "$CLASS"
	out=$(cat "$T/bg.out")
	printf '  %-13s queueing: %s, %s held\n' "$1" "$out" "$(find "$P/queue/hold" -type f | wc -l)"
	rx0=$(lines "$T/rx/rx/maillog")
	pf0=$(lines "$P/maillog")
	have0=$(ls "$MAILDIR" 2>/dev/null | wc -l)
	t0=$(date +%s%N)
	postsuper -c "$P/conf" -H ALL >/dev/null 2>&1
	postqueue -c "$P/conf" -f
	wait_all "$1"
	settle "$T/rx/rx/maillog" "$rx0" "postfix/virtual.*status=sent" "$got"
	settle "$P/maillog" "$pf0" "postfix/smtp\[.*status=sent" "$got"
	p_ms=$(ms "$t0" "$t1")
	p_rate=$(rate "$got" "$p_ms")
	best "$(echo "$1" | tr -d -)" "$p_rate"
	p_tls=$(count_after "$T/rx/rx/maillog" "$rx0" "TLS connection established from")
	p_conn=$(count_after "$T/rx/rx/maillog" "$rx0" "postfix/smtpd.*: connect from")
	p_hs=$(count_after "$P/maillog" "$pf0" "postfix/tlsproxy.*Verified TLS connection established to")
	p_ver=$(count_after "$P/maillog" "$pf0" "postfix/smtp\[.*Verified TLS connection")
	p_reuse=$(count_after "$P/maillog" "$pf0" "postfix/smtp\[.*Verified TLS connection reused")
	printf '  %-13s delivered %s/%s in %s ms from release: %s msgs/s\n' "$1" "$got" "$N" "$p_ms" "$p_rate"
	echo "                receiver: $p_conn connections, $p_tls TLS handshakes; relay log: $p_hs DANE-verified handshakes (tlsproxy), $p_ver deliveries over DANE-verified TLS ($p_reuse on a reused connection)"
	# Postfix's dane level degrades to opportunistic TLS without DNSSEC.
	[ "$p_ver" -lt "$got" ] && echo "  WARNING: only $p_ver of $got $1 deliveries were DANE-verified (resolver: $T/unbound/unbound.log)"
}

echo "delivery over DANE (TLSA 3 1 1, signed bench.test.), $N x $SIZE-octet $CLASS messages, one recipient each, $ROUNDS rounds (CPU: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
start_relay || skip "relay did not start (log $P/maillog)"
wait_port "$RELAY" 25 || skip "relay does not listen"
r=1
while [ $r -le "$ROUNDS" ]; do
	echo " round $r"
	n_run "$r"
	if [ $r = 1 ]; then
		# A warm-up message, so that the relay's first-use costs (tlsmgr,
		# resolver cache) are not in its figures, as ntamsa's start-up
		# is not in its own.
		python3 "$LOAD" inject "$RELAY" 25 1 "$SIZE" 1 "$FROM" "$RCPT" "$CLASS" >/dev/null 2>&1
		postsuper -c "$P/conf" -H ALL >/dev/null 2>&1
		postqueue -c "$P/conf" -f
		have0=$(ls "$MAILDIR" 2>/dev/null | wc -l)
		python3 "$LOAD" wait "$MAILDIR" $((have0 + 1)) 30 >/dev/null
	fi
	# Debian's default: up to 20 connections per destination.
	pf_run postfix 20
	# One connection: the cost per message apart from parallelism.
	pf_run postfix-1conn 1
	r=$((r + 1))
done
echo " best of $ROUNDS: ntamsa $best_ntamsa msgs/s, postfix $best_postfix msgs/s, postfix-1conn $best_postfix1conn msgs/s"
echo " ratio msgs/s ntamsa/postfix = $(ratio "$best_ntamsa" "$best_postfix") (target >= 1), ntamsa/postfix-1conn = $(ratio "$best_ntamsa" "$best_postfix1conn")"
exit 0
