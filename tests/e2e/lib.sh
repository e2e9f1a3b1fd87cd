# Sourced by the tests/e2e/t_*.sh checks: result lines, receivers and their
# Maildirs, TLS probes, submission through ntamsa and the delivery
# assertions of the scenarios.  Needs env.sh sourced first and the network
# up (up.sh), normally through run.sh.

E2E_FAILED=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 $2"; E2E_FAILED=1; }
skip() { echo "SKIP: $1 $2"; }
# check NAME WHY CMD...: PASS when CMD succeeds, else FAIL with WHY.
check() { _n=$1 _w=$2; shift 2; if "$@"; then pass "$_n"; else fail "$_n" "$_w"; fi; }

# --- receivers -------------------------------------------------------------

rx_maildir() { echo "$E2E_DIR/rx/$1/mail/Maildir"; }

# Files in receiver $1's Maildir delivered to $2 that contain the line
# "Message-ID: $3" (header lines compared exactly, case-insensitive name).
rx_find() {
	_md=$(rx_maildir "$1")
	[ -d "$_md/new" ] || return 0
	grep -lix "Delivered-To: $2" "$_md"/new/* 2>/dev/null |
		xargs -r grep -lix "Message-ID: $3" 2>/dev/null
}

# Waits (up to $4 seconds, default 20) until rx_find finds the message;
# prints its file.  Waiting is not an assertion on speed: the bound only
# keeps a broken run from hanging.
rx_wait() {
	_i=0 _lim=$((${4:-20} * 10))
	while [ $_i -lt $_lim ]; do
		_f=$(rx_find "$1" "$2" "$3" | head -1)
		[ -n "$_f" ] && { echo "$_f"; return 0; }
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

# Every receiver whose Maildir holds the message (to find misdeliveries).
rx_holders() {
	for _r in $(e2e_receivers | cut -f1); do
		[ -n "$(rx_find "$_r" "$1" "$2")" ] && echo "$_r"
	done
	return 0
}

# The body of a message file (after the first empty line), CRLF-normalised.
msg_body() { sed '1,/^\r\{0,1\}$/d' "$1" | tr -d '\r'; }
# One header's values (name case-insensitive, unfolded).
msg_header() {
	sed '/^\r\{0,1\}$/q' "$1" | tr -d '\r' | awk -v h="$2" '
		BEGIN { h = tolower(h) ":" }
		/^[ \t]/ { if (on) v = v $0; next }
		{ if (on) print v; on = 0 }
		tolower(substr($0, 1, length(h))) == h { on = 1; v = substr($0, length(h) + 1); sub(/^[ \t]+/, "", v) }
		END { if (on) print v }'
}

# openssl s_client against receiver address $1 with STARTTLS; extra args
# follow.  Prints the session transcript (stdin closed at once).
tls_probe() {
	_a=$1; shift
	case $_a in *:*) _a="[$_a]" ;; esac
	timeout 10 openssl s_client -connect "$_a:25" -starttls smtp -servername mx \
		-CAfile "$E2E_DIR/pki/ca.pem" "$@" </dev/null 2>&1
}

# The EHLO answer of address $1, without TLS.
ehlo_of() {
	timeout 10 swaks --server "$1" --port 25 --quit-after EHLO --helo e2e.test 2>&1
}

# --- ntamsa ----------------------------------------------------------------

ntamsa() { "$NTAMSA_BIN" -c "$NTAMSA_CONF" "$@"; }

# True when the commands the scenario assertions read exist (a placeholder
# answers "not implemented yet"); else E2E_PENDING says what is missing.
ntamsa_ready() {
	[ -x "$NTAMSA_BIN" ] || { E2E_PENDING="no ntamsa binary (make asan)"; return 1; }
	for _c in "queue list" "log export" "serve"; do
		# shellcheck disable=SC2086
		if grep -q "cmd_${_c% *}.c - placeholder" "$E2E_TOP/msa/cmd_${_c% *}.c" 2>/dev/null; then
			E2E_PENDING="pending outbound (ntamsa ${_c} not implemented yet)"
			return 1
		fi
	done
	return 0
}

# Prepares ntamsa's store and a submission account, then runs the daemon in
# the background (pid file for down.sh).
E2E_USER=sender@$E2E_DKIM_DOMAIN
E2E_PASS=e2e-test-password-not-secret
ntamsa_start() {
	ntamsa keys init >"$E2E_DIR/ntamsa/keys-init.log" 2>&1 || return 1
	printf '%s\n' "$E2E_PASS" | ntamsa user add "$E2E_USER" \
		>"$E2E_DIR/ntamsa/user-add.log" 2>&1 || return 1
	# The binary itself, not the ntamsa() function: $! must be its pid.
	"$NTAMSA_BIN" -c "$NTAMSA_CONF" serve >"$E2E_DIR/ntamsa/serve.log" 2>&1 &
	echo $! >"$E2E_DIR/ntamsa/serve.pid"
	_i=0
	while [ $_i -lt 100 ]; do
		swaks --server "$E2E_MSA_ADDR" --port 587 --quit-after EHLO >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$E2E_DIR/ntamsa/serve.pid")" 2>/dev/null || return 1
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

# Writes a test message to file $1: recipient $2, Message-ID $3, kind $4
# (health|clean).  Health messages carry Bijlage A headers (R-HDR-2), a
# forged X-NTA7516 and the sender's X-NTA7516-Classify choice (R-CLS-2),
# none of which may leave on an NTA channel but ours.
msg_make() {
	if [ "$4" = health ]; then
		_subj="Uitslag bloedonderzoek patient"
		_extra="Organization: Huisartsenpraktijk E2E\r\nList-ID: <uitslagen.e2e.test>\r\nContent-Language: nl\r\nX-NTA7516: forged-by-client\r\nX-NTA7516-Classify: secure"
		_text="Geachte collega, bijgaand de uitslag van het bloedonderzoek van uw patient
(BSN 123456782, geboren 01-02-1960): HbA1c 64 mmol/mol, diagnose diabetes
mellitus type 2, medicatie metformine 500 mg. Met vriendelijke groet, huisarts."
	else
		_subj="Vergadering dinsdag"
		_extra="X-E2E: clean"
		_text="Hallo, de vergadering van dinsdag begint om tien uur in zaal 3. Groet."
	fi
	{
		printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n%b\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' \
			"$E2E_USER" "$2" "$_subj" "$(date -R)" "$3" "$_extra"
		printf '%s\n' "$_text" | sed 's/$/\r/'
	} >"$1"
}

# swaks ends DATA with CRLF.CRLF after the file, so a file ending in CRLF
# would arrive with an extra empty line: send it without its last CRLF
# (msg_make's files end in CRLF), and the receiver gets the file as is.
wire_copy() { head -c -2 "$1" >"$1.wire" && echo "@$1.wire"; }

# Submits message file $1 to recipient $2 through ntamsa's port 587.
msa_submit() {
	swaks --server "$E2E_MSA_ADDR" --port 587 --tls --auth PLAIN \
		--auth-user "$E2E_USER" --auth-password "$E2E_PASS" \
		--from "$E2E_USER" --to "$2" --data "$(wire_copy "$1")" >"$1.swaks" 2>&1
}

# "state channel attempts class" of recipient $1 from `ntamsa queue list --json`.
rcpt_state() {
	ntamsa queue list --json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if sys.argv[1] in (r.get("recipient"), r.get("rcpt")):
        print(r.get("state") or "-", r.get("channel") or "-", r.get("attempts", 0), r.get("class") or "-")
        break
' "$1"
}

# Waits (bounded, $2 seconds) until recipient $1 is final (delivered,
# bounced, portal) or has been tried at least $3 times; prints rcpt_state.
rcpt_wait() {
	_i=0 _lim=$(($2 * 5))
	while [ $_i -lt $_lim ]; do
		_s=$(rcpt_state "$1")
		case $_s in delivered\ *|bounced\ *|portal\ *) echo "$_s"; return 0 ;; esac
		set -- "$1" "$2" "$3" $_s
		[ "${6:-0}" -ge "$3" ] 2>/dev/null && { echo "$_s"; return 0; }
		sleep 0.2; _i=$((_i + 1))
	done
	echo "$_s"
	return 1
}

# Asserts the NTA properties of a delivered message file $1 against the
# submitted file $2 (R-HDR-1/2/3, R-FLOW-5); prints why on failure.
nta_props() {
	_why=""
	_x=$(msg_header "$1" X-NTA7516)
	[ "$_x" = "$E2E_PROVIDER_ID" ] || _why="$_why X-NTA7516 is '$_x', want only '$E2E_PROVIDER_ID';"
	for _h in Organization List-ID Content-Language X-NTA7516-Classify; do
		[ -z "$(msg_header "$1" "$_h")" ] || _why="$_why $_h left;"
	done
	_v=$(perl "$E2E_SRC/dkimverify.pl" --dns "$E2E_NS_ADDR" "$1" 2>&1) || _why="$_why DKIM $_v;"
	[ "$(msg_body "$1" | md5sum)" = "$(msg_body "$2" | md5sum)" ] || _why="$_why body differs;"
	[ -z "$_why" ] && return 0
	echo "$_why"
	return 1
}
