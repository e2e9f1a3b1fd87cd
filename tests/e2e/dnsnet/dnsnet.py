#!/usr/bin/env python3
"""dnsnet: a DNSSEC-signed DNS hierarchy on loopback, built at test time.

Interface (also in README.md next to this file):

  dnsnet.py up   --zones SRC --work DIR --addr 127.0.53.1
  dnsnet.py down --work DIR
  dnsnet.py status --work DIR          exit 0 when NSD runs

up builds, from the zone source files in SRC, the zones ".", "test." and one
leaf zone per file, signs them with keys generated into DIR (nothing secret
is committed), starts NSD on ADDR port 53 (pid file DIR/nsd.pid) and writes:

  DIR/root.key      trust anchor: the root's DS, zone-file format
                    (dns.trust_anchor)
  DIR/root.hints    root hints naming ns.test. at ADDR (dns.root_hints)
  DIR/dns.conf      a ready [dns] section for an ntamsa config
                    (trust anchor, hints, and the unbound options a loopback
                    network needs: do-not-query-localhost: no,
                    local-zone: test. transparent)
  DIR/zones/        the zone files as served (signed ones: *.signed)
  DIR/nsd.log       NSD's log

Zone source files: SRC/<name>.zone for a leaf zone <name>, a direct child
of test. (e.g. "secure.test.zone" serves "secure.test.").  The first line may
declare the leaf's kind; default signed:

  ; dnsnet: signed     DS in test., correct signatures   -> secure
  ; dnsnet: unsigned   no DS in test., no signatures     -> insecure
  ; dnsnet: broken     DS in test., signatures corrupted -> bogus
  ; dnsnet: expired    DS in test., RRSIG validity in the past -> bogus

The rest is ordinary zone-file text with $ORIGIN set to the leaf and $TTL
300: write any TXT, MX, A, AAAA, TLSA, CNAME records (relative or absolute
names).  SOA and NS (ns.test.) are added by dnsnet; do not write them.
In "broken" zones every signature except the DNSKEY's is corrupted.

NSD needs port 53 (root hints carry no port), so this runs as root.
Requires Debian packages nsd and ldnsutils.
"""
import argparse
import base64
import os
import shutil
import signal
import subprocess
import sys
import time

TLD = "test."
NS = "ns.test."


def sh(argv, cwd=None):
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("dnsnet: %s failed: %s" % (" ".join(argv), r.stderr.strip()))
    return r.stdout


def keygen(kdir, zone):
    """One combined signing key (KSK flag) per zone: enough for tests."""
    base = sh(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone],
              cwd=kdir).strip()
    return os.path.join(kdir, base)


def ds_of(keybase):
    """DS record text (SHA-256) for a key, via ldns-key2ds."""
    kdir = os.path.dirname(keybase)
    out = sh(["ldns-key2ds", "-n", "-2", keybase + ".key"], cwd=kdir)
    return out.strip()


def soa(zone):
    return ("@ 300 IN SOA %s hostmaster.%s 1 3600 600 86400 300\n"
            "@ 300 IN NS %s\n" % (NS, zone if zone != "." else "", NS))


def sign(zfile, zone, keybase, kind):
    out = zfile + ".signed"
    argv = ["ldns-signzone", "-o", zone, "-f", out]
    if kind == "expired":
        # Valid in 2020 only: every RRSIG is past its expiration.
        argv += ["-i", "20200101000000", "-e", "20200201000000"]
    else:
        now = int(time.time())
        argv += ["-i", str(now - 3600), "-e", str(now + 30 * 86400)]
    sh(argv + [zfile, keybase])
    if kind == "broken":
        corrupt(out)
    return out


def corrupt(path):
    """Flip bits in every signature except the DNSKEY's (so the zone's key
    itself still validates and the failure is in the data: bogus)."""
    lines = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) > 12 and p[3] == "RRSIG" and p[4] != "DNSKEY":
                sig = bytearray(base64.b64decode("".join(p[12:])))
                sig[len(sig) // 2] ^= 0xff
                p = p[:12] + [base64.b64encode(bytes(sig)).decode()]
                line = "\t".join(p) + "\n"
            lines.append(line)
    with open(path, "w") as f:
        f.writelines(lines)


def leaf_kind(path):
    with open(path) as f:
        first = f.readline()
    if first.startswith(";") and "dnsnet:" in first:
        kind = first.split("dnsnet:", 1)[1].strip().split()[0]
        if kind not in ("signed", "unsigned", "broken", "expired"):
            sys.exit("dnsnet: %s: unknown kind %r" % (path, kind))
        return kind
    return "signed"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def up(a):
    work = os.path.abspath(a.work)
    zdir = os.path.join(work, "zones")
    kdir = os.path.join(work, "keys")
    if os.path.exists(os.path.join(work, "nsd.pid")):
        down(a)
    for d in (zdir, kdir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    os.chmod(kdir, 0o700)
    leaves = []
    for fn in sorted(os.listdir(a.zones)):
        if not fn.endswith(".zone"):
            continue
        name = fn[:-5].rstrip(".") + "."
        if not name.endswith("." + TLD) or name.count(".") != 2:
            sys.exit("dnsnet: %s: leaf zones are direct children of test." % fn)
        leaves.append((name, os.path.join(a.zones, fn)))

    served = []  # (zone, file)
    # Leaves first: the parent needs their DS.
    delegations = ""
    for name, src in leaves:
        kind = leaf_kind(src)
        rel = name[:-len(TLD) - 1]
        zf = os.path.join(zdir, name + "zone")
        with open(src) as f:
            body = f.read()
        write(zf, "$ORIGIN %s\n$TTL 300\n%s%s\n" % (name, soa(name), body))
        delegations += "%s 300 IN NS %s\n" % (rel, NS)
        if kind == "unsigned":
            served.append((name, zf))
            continue
        key = keygen(kdir, name)
        served.append((name, sign(zf, name, key, kind)))
        delegations += ds_of(key) + "\n"

    tkey = keygen(kdir, TLD)
    tf = os.path.join(zdir, "test.zone")
    write(tf, "$ORIGIN %s\n$TTL 300\n%sns 300 IN A %s\n%s" %
          (TLD, soa(TLD), a.addr, delegations))
    served.append((TLD, sign(tf, TLD, tkey, "signed")))

    rkey = keygen(kdir, ".")
    rf = os.path.join(zdir, "root.zone")
    write(rf, "$ORIGIN .\n$TTL 300\n%stest. 300 IN NS %s\n%s 300 IN A %s\n%s\n"
          % (soa("."), NS, NS, a.addr, ds_of(tkey)))
    served.append((".", sign(rf, ".", rkey, "signed")))

    write(os.path.join(work, "root.key"), ds_of(rkey) + "\n")
    write(os.path.join(work, "root.hints"),
          ". 3600000 IN NS %s\n%s 3600000 IN A %s\n" % (NS, NS, a.addr))
    write(os.path.join(work, "dns.conf"),
          "[dns]\ntrust_anchor = %s\nroot_hints = %s\n"
          "unbound_option = do-not-query-localhost: no\n"
          "unbound_option = local-zone: test. transparent\n"
          % (os.path.join(work, "root.key"), os.path.join(work, "root.hints")))

    conf = ["server:", "  ip-address: %s" % a.addr, "  port: 53",
            "  pidfile: %s/nsd.pid" % work, "  logfile: %s/nsd.log" % work,
            "  zonelistfile: %s/zone.list" % work,
            "  xfrdfile: %s/xfrd.state" % work, "  database: \"\"",
            "  username: \"\"", "  chroot: \"\"", "  server-count: 1",
            "  zonesdir: %s" % zdir, "  verbosity: 1",
            "remote-control:", "  control-enable: no"]
    for zone, path in served:
        conf += ["zone:", "  name: \"%s\"" % zone, "  zonefile: %s" % path]
    cpath = os.path.join(work, "nsd.conf")
    write(cpath, "\n".join(conf) + "\n")
    sh(["nsd-checkconf", cpath])
    sh(["nsd", "-c", cpath])
    for _ in range(100):
        if os.path.exists(os.path.join(work, "nsd.pid")) and probe(a.addr):
            return 0
        time.sleep(0.1)
    sys.exit("dnsnet: nsd did not come up (see %s/nsd.log)" % work)


def probe(addr):
    r = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "@" + addr,
                        "test.", "SOA"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return r.returncode == 0 and "ns.test." in r.stdout


def read_pid(work):
    try:
        with open(os.path.join(work, "nsd.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def down(a):
    work = os.path.abspath(a.work)
    pid = read_pid(work)
    if pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        os.unlink(os.path.join(work, "nsd.pid"))
    except FileNotFoundError:
        pass
    return 0


def status(a):
    pid = read_pid(os.path.abspath(a.work))
    if pid <= 0:
        return 1
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description="signed DNS test network")
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("--zones", required=True)
    u.add_argument("--work", required=True)
    u.add_argument("--addr", required=True)
    for n in ("down", "status"):
        s = sub.add_parser(n)
        s.add_argument("--work", required=True)
    a = p.parse_args()
    if a.cmd == "up" and not a.addr.startswith("127."):
        sys.exit("dnsnet: loopback addresses only")
    return {"up": up, "down": down, "status": status}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
