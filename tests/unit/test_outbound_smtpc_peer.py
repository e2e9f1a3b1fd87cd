#!/usr/bin/env python3
"""SMTP test peer for the outbound client tests (after Postfix's smtp-sink).

Usage: peer.py ADDR PORT CERTDIR OUTDIR
Behaviour per connection is chosen by the client's EHLO argument, a comma
list: cert=NAME (CERTDIR/NAME.pem + .key), tls=1.1 (TLS 1.1 only),
nostarttls, no8bit, size=N, mail=CODE, data=CODE, inject (bytes after 220
to STARTTLS).  RCPT local parts starting with "temp"/"perm" get 450/550.
Each accepted message is written, un-dot-stuffed, to OUTDIR/msg-N; the
peer prints "ready PORT" once listening (PORT 0 = any free port).
"""
import os
import socket
import socketserver
import ssl
import sys
import threading

ADDR, PORT, CERTDIR, OUTDIR = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
counter = [0]
lock = threading.Lock()


def opts_of(arg):
    o = {}
    for part in arg.split(","):
        k, _, v = part.partition("=")
        o[k] = v
    return o


class Handler(socketserver.StreamRequestHandler):
    def send(self, s):
        self.wfile.write(s.encode() + b"\r\n")
        self.wfile.flush()

    def tls(self, o):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        name = o.get("cert", "good")
        ctx.load_cert_chain(os.path.join(CERTDIR, name + ".pem"),
                            os.path.join(CERTDIR, name + ".key"))
        if o.get("tls") == "1.1":
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        elif o.get("tls") == "cbc":
            # TLS 1.2, ECDHE but CBC only: NCSC "voldoende", not "goed".
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers("ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA")
        elif o.get("tls") == "p521":
            # TLS 1.2 with a "goed" cipher, but key exchange on P-521 only,
            # a group outside the spec's list.
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
            ctx.set_ecdh_curve("secp521r1")
        self.request = ctx.wrap_socket(self.request, server_side=True)
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb")

    def handle(self):
        o, in_tls, rcpts = {}, False, []
        self.send("220 peer ESMTP test")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb == "EHLO":
                if not o:
                    o = opts_of(cmd[5:])
                ext = ["PIPELINING"]
                if "no8bit" not in o:
                    ext.append("8BITMIME")
                if "size" in o:
                    ext.append("SIZE " + o["size"])
                if not in_tls and "nostarttls" not in o:
                    ext.append("STARTTLS")
                lines = ["peer"] + ext
                if "endless" in o:
                    lines += ["X-PAD-%d" % i for i in range(int(o["endless"]))]
                for i, e in enumerate(lines):
                    self.send("250" + ("-" if i < len(lines) - 1 else " ") + e)
            elif verb == "STAR":
                if "inject" in o:
                    self.wfile.write(b"220 go ahead\r\n250 injected\r\n")
                    self.wfile.flush()
                else:
                    self.send("220 go ahead")
                try:
                    self.tls(o)
                except (ssl.SSLError, OSError):
                    return
                in_tls = True
            elif verb == "MAIL":
                rcpts = []
                self.send(o.get("mail", "250") + " sender ok")
            elif verb == "RCPT":
                local = cmd.split("<", 1)[1].lower()
                if local.startswith("temp"):
                    self.send("450 4.2.0 try later")
                elif local.startswith("perm"):
                    self.send("550 5.1.1 no such user")
                else:
                    rcpts.append(local)
                    self.send("250 rcpt ok")
            elif verb == "DATA":
                if not rcpts:
                    self.send("554 no valid recipients")
                    continue
                self.send("354 go")
                data = bytearray()
                while True:
                    l = self.rfile.readline()
                    if not l or l == b".\r\n":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    data += l
                code = o.get("data", "250")
                if code == "250":
                    with lock:
                        counter[0] += 1
                        n = counter[0]
                    with open(os.path.join(OUTDIR, "msg-%d" % n), "wb") as f:
                        f.write(bytes(data))
                self.send(code + " data done")
            elif verb == "RSET":
                rcpts = []
                self.send("250 reset")
            elif verb == "NOOP":
                self.send("250 ok")
            elif verb == "QUIT":
                self.send("221 bye")
                return
            else:
                self.send("502 unknown")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    if ":" in ADDR:
        address_family = socket.AF_INET6


srv = Server((ADDR, PORT), Handler)
print("ready %d" % srv.server_address[1], flush=True)
srv.serve_forever()
