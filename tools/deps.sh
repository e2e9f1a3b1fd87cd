#!/bin/sh
# Installs the Debian packages ntamsa needs to build, run and test.
# Idempotent and quick when everything is present: dpkg is asked first,
# apt-get runs only for what is missing.
set -eu

BUILD="build-essential pkg-config libssl-dev libsodium-dev libsqlite3-dev
libunbound-dev libetpan-dev libcmocka-dev openssl sqlite3 dns-root-data
zlib1g-dev"
TEST="clang libclang-rt-14-dev python3 swaks nsd ldnsutils postfix
libmail-dkim-perl testssl.sh procps iproute2 bsdextrautils psmisc
unbound-host dnsutils"
# DKIM: an independent verifier for Ed25519 signatures (RFC 8463); Debian's
# Mail::DKIM 1.20230212 verifies RSA only.
TEST="$TEST python3-dkim python3-nacl"
# smtpd benchmark: the Postfix submission instance authenticates with cyrus sasldb.
TEST="$TEST sasl2-bin libsasl2-modules"
# delivery benchmark: Postfix gets DANE only from a validating resolver that
# sets AD (glibc stub -> unbound daemon on 127.0.2.54, never started by the package).
TEST="$TEST unbound"
# swaks speaks to the IPv6 e2e receiver (::1) only with IO::Socket::INET6.
TEST="$TEST libio-socket-inet6-perl"

want="$BUILD"
[ "${1:-}" = test ] && want="$BUILD $TEST"

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi

# Debian's postfix and nsd packages start system daemons on port 25/53 of
# every address; refuse service starts while installing so test instances
# on 127.0.x.y can bind, and keep postfix unconfigured.
rcd=/usr/sbin/policy-rc.d
made_rcd=0
if [ ! -e "$rcd" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$rcd"
	chmod 755 "$rcd"
	made_rcd=1
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
echo "deps: installing:$missing"
ok=0
if apt-get install -y -q --no-install-recommends $missing >/tmp/ntamsa-deps.log 2>&1; then
	ok=1
else
	apt-get update -q >>/tmp/ntamsa-deps.log 2>&1 || true
	apt-get install -y -q --no-install-recommends $missing >>/tmp/ntamsa-deps.log 2>&1 && ok=1
fi
[ $made_rcd = 1 ] && rm -f "$rcd"
if [ $ok != 1 ]; then
	tail -20 /tmp/ntamsa-deps.log >&2
	echo "deps: apt-get failed (log: /tmp/ntamsa-deps.log)" >&2
	exit 1
fi
# In case a package started a daemon anyway, stop the system instances.
for s in nsd postfix; do
	if command -v systemctl >/dev/null 2>&1; then systemctl stop "$s" >/dev/null 2>&1 || true; fi
done
pkill -x nsd 2>/dev/null || true
exit 0
