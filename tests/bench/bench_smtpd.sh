#!/bin/sh
# Submission throughput and latency, ntamsa vs a Debian Postfix submission
# instance set up the same way (STARTTLS required, SASL PLAIN via cyrus
# sasldb, mail routed to the discard transport: both measure "accepted
# durably into the queue"), measured in one run on this machine with
# tests/bench/bench_smtpd_loadgen.c; then 1000 idle TLS sessions' resident
# memory.  Addresses: ntamsa 127.0.2.1, Postfix 127.0.2.2.  Prints figures;
# never fails on a number.
#   SESS (8) MSGS (100) SIZE (2048) CONNS (25) IDLE (1000)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${NTAMSA_REL_BIN:-$ROOT/ntamsa}
LG=$ROOT/build/rel/bench/bench_smtpd_loadgen
SESS=${SESS:-8} MSGS=${MSGS:-100} SIZE=${SIZE:-2048} CONNS=${CONNS:-25} IDLE=${IDLE:-1000}
PW=bench-password-1
T=$(mktemp -d /tmp/bench_smtpd.XXXXXX)
chmod 755 "$T"		# Postfix's daemons run as postfix and must reach their dirs
PF_DAEMON_DIR=$(postconf -h -d daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)
NPID=""
IDLE_PID=""

cleanup() {
	[ -n "$IDLE_PID" ] && kill "$IDLE_PID" 2>/dev/null
	[ -n "$NPID" ] && kill -TERM "$NPID" 2>/dev/null && sleep 1
	[ -n "$NPID" ] && kill -KILL "$NPID" 2>/dev/null
	if [ -d "$T/pf/conf" ]; then
		postfix -c "$T/pf/conf" stop >/dev/null 2>&1
		sleep 1
		for p in $(grep -lzx "MAIL_CONFIG=$T/pf/conf" /proc/[0-9]*/environ 2>/dev/null |
		    sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'); do kill -9 "$p" 2>/dev/null; done
	fi
	[ -n "${KEEP_TMP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT INT TERM

for f in "$BIN" "$LG" "$ROOT/build/asan/tools/smtpd_store_tool"; do
	[ -x "$f" ] || { echo "bench_smtpd: $f missing (make all unit bench)"; exit 0; }
done
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null

# ---- ntamsa ----
mkdir -p "$T/n/data"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench.test \
	-days 2 -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
cat >"$T/n/ntamsa.conf" <<EOF
[server]
hostname = bench.test
data_dir = data
submission = 127.0.2.1:10587
submissions = 127.0.2.1:10465
tls_cert = $T/cert.pem
tls_key = $T/key.pem
max_sessions = $((IDLE + 100))
max_sessions_per_ip = $((IDLE + 100))
[log]
level = warn
EOF
"$ROOT/build/asan/tools/smtpd_store_tool" keys-init "$T/n/data" || exit 0
echo "$PW" | "$BIN" -c "$T/n/ntamsa.conf" user add load@example.org --rate 1000000/h || exit 0
"$BIN" -c "$T/n/ntamsa.conf" serve >"$T/n/serve.log" 2>&1 &
NPID=$!

# ---- Postfix: submission on 127.0.2.2:10587 ----
P=$T/pf
mkdir -p "$P/conf" "$P/queue" "$P/data"
chown postfix "$P/data"
cat >"$P/conf/master.cf" <<'EOF'
127.0.2.2:10587 inet n - n - - smtpd
  -o syslog_name=postfix/submission
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
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
cat >"$P/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $P/queue
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
myhostname = pf.bench.test
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks =
default_transport = discard
relay_transport = discard
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
maillog_file = $P/maillog
maillog_file_prefixes = $P
smtpd_tls_security_level = encrypt
smtpd_tls_chain_files = $T/key.pem, $T/cert.pem
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $P/conf
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
anvil_rate_time_unit = 60s
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
EOF
# Debian's libsasl2 looks in <cyrus_sasl_config_path>/sasl/smtpd.conf.
mkdir -p "$P/conf/sasl"
cat >"$P/conf/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $P/sasldb2
mech_list: PLAIN LOGIN
EOF
echo "$PW" | saslpasswd2 -p -c -f "$P/sasldb2" -u example.org load 2>/dev/null
chown postfix "$P/sasldb2" 2>/dev/null
install -d -o root -g root -m 755 "$P/queue" "$P/queue/pid"
for q in active bounce corrupt defer deferred flush hold incoming saved trace private; do
	install -d -o postfix -g root -m 700 "$P/queue/$q"
done
install -d -o postfix -g postdrop -m 710 "$P/queue/public"
install -d -o postfix -g postdrop -m 730 "$P/queue/maildrop"
PF_OK=1
"$PF_DAEMON_DIR/master" -c "$P/conf" -w 2>"$T/pf.err" || { PF_OK=0; echo "postfix: did not start: $(cat "$T/pf.err")"; }

wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		python3 -c "import socket,sys; socket.create_connection(('$1', $2), 1).close()" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
wait_port 127.0.2.1 10587 || { echo "ntamsa: did not start"; tail -5 "$T/n/serve.log"; exit 0; }
[ $PF_OK = 1 ] && { wait_port 127.0.2.2 10587 || PF_OK=0; }

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

run() {	# name args...
	name=$1; shift
	out=$("$LG" -u load@example.org -w "$PW" -f load@example.org -r sink@example.net "$@" 2>&1)
	echo "$name: $out" >&2
	echo "$out"
}

compare() {	# label loadgen-args...
	label=$1; shift
	# A warm-up session each, so neither pays first-use costs in the figures.
	run "warmup" -a 127.0.2.1:10587 -n 1 -m 2 -s "$SIZE" >/dev/null 2>&1
	[ $PF_OK = 1 ] && run "warmup" -a 127.0.2.2:10587 -n 1 -m 2 -s "$SIZE" >/dev/null 2>&1
	n=$(run "  ntamsa  $label" -a 127.0.2.1:10587 "$@")
	if [ $PF_OK = 1 ]; then
		p=$(run "  postfix $label" -a 127.0.2.2:10587 "$@")
		echo "  ratio   $label: msgs/s ntamsa/postfix = $(ratio "$(field "$n" msgs_per_s)" "$(field "$p" msgs_per_s)"), p99 ntamsa/postfix = $(ratio "$(field "$n" p99_ms)" "$(field "$p" p99_ms)")"
	fi
}

echo "smtpd submission, STARTTLS + AUTH PLAIN, $SIZE-octet messages (CPU: $(nproc) cores)"
compare "${SESS}x${MSGS} msgs/session" -n "$SESS" -k 1 -m "$MSGS" -s "$SIZE" 2>&1
compare "${SESS}x${CONNS} conns, 1 msg/conn" -n "$SESS" -k "$CONNS" -m 1 -s "$SIZE" 2>&1
# Implicit TLS on 465 for ntamsa alone (Postfix instance has no 465 here).
run "  ntamsa  ${SESS}x${MSGS} implicit TLS" -a 127.0.2.1:10465 -t tls -n "$SESS" -m "$MSGS" -s "$SIZE" >/dev/null

# ---- idle sessions ----
SPID=$(sed -n 's/.*event=worker-start worker=smtpd pid=\([0-9]*\).*/\1/p' "$T/n/serve.log" | tail -1)
if [ -z "$SPID" ]; then
	SPID=$(pgrep -P "$NPID" | head -1)
fi
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
before=$(rss "$SPID")
mkfifo "$T/hold"
"$LG" -a 127.0.2.1:10465 -t tls -I "$IDLE" <"$T/hold" >"$T/idle.out" 2>&1 &
IDLE_PID=$!
exec 9>"$T/hold"
i=0
while [ $i -lt 600 ] && ! grep -q idle-ready "$T/idle.out"; do sleep 0.1; i=$((i + 1)); done
after=$(rss "$SPID")
echo "idle TLS sessions: $(cat "$T/idle.out"); smtpd worker RSS ${before:-?} kB before, ${after:-?} kB with them ($(awk -v a="${after:-0}" 'BEGIN { printf "%.1f", a / 1024 }') MB)"
exec 9>&-
wait "$IDLE_PID" 2>/dev/null
IDLE_PID=""
exit 0
