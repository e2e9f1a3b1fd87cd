"""Shared helpers for the smtpd integration tests (t_smtpd*): a private
server instance on 127.0.1.x, a raw SMTP client, PASS/FAIL reporting."""
import os, signal, socket, sqlite3, ssl, subprocess, sys, tempfile, time, atexit, shutil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("NTAMSA_TEST_BIN", os.path.join(ROOT, "build/asan/ntamsa"))
TOOL = os.environ.get("SMTPD_STORE_TOOL", os.path.join(ROOT, "build/asan/tools/smtpd_store_tool"))
FAILED = []


def _uncaught(etype, value, tb):
    """An error outside a case (set-up, a dead server) is a failure too."""
    import traceback
    traceback.print_exception(etype, value, tb)
    print("FAIL: %s unexpected error: %r" % (os.path.basename(sys.argv[0]), value), flush=True)


sys.excepthook = _uncaught


def result(name, ok, why=""):
    if ok:
        print("PASS: %s" % name, flush=True)
    else:
        print("FAIL: %s %s" % (name, why), flush=True)
        FAILED.append(name)


def memory_count(pid, marks):
    """Occurrences of each marker (name -> bytes) in the readable mappings
    of process pid (needs root).  ASan's huge reserved areas are skipped."""
    found = dict.fromkeys(marks, 0)
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            rng, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in rng.split("-"))
            if perms[0] != "r" or hi - lo > 256 * 1024 * 1024:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            for name, m in marks.items():
                found[name] += data.count(m)
    return found


def run(*args, stdin=None, check=True, env=None):
    p = subprocess.run(args, input=stdin, capture_output=True, env=env)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (args, p.returncode, p.stderr.decode(errors="replace")))
    return p


class Server:
    def __init__(self, ip, p587, p465, extra=""):
        self.ip, self.p587, self.p465 = ip, p587, p465
        self.dir = tempfile.mkdtemp(prefix="t_smtpd.")
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.data)
        self.proc = None
        self.cert("msa.test")
        self.conf = os.path.join(self.dir, "ntamsa.conf")
        with open(self.conf, "w") as f:
            f.write("[server]\nhostname = msa.test\ndata_dir = data\n"
                    "submission = %s:%d\nsubmissions = %s:%d\n"
                    "tls_cert = cert.pem\ntls_key = key.pem\n%s\n"
                    % (ip, p587, ip, p465, extra))
        run(TOOL, "keys-init", self.data)
        atexit.register(self.cleanup)

    def cert(self, cn):
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", "/CN=" + cn, "-days", "2",
            "-keyout", os.path.join(self.dir, "key.pem"), "-out", os.path.join(self.dir, "cert.pem"))

    def ntamsa(self, *args, stdin=None, check=True):
        env = dict(os.environ, NTAMSA_TEST_PWHASH_FAST="1")
        return run(BIN, "-c", self.conf, *args, stdin=stdin, check=check, env=env)

    def user(self, addr, pw, *opts):
        self.ntamsa("user", "add", addr, *opts, stdin=(pw + "\n").encode())

    def start(self, env=None, pass_fds=()):
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.conf, "serve"], stdout=self.log,
                                     stderr=self.log, start_new_session=True, env=env,
                                     pass_fds=pass_fds)
        for _ in range(300):
            try:
                socket.create_connection((self.ip, self.p587), 0.2).close()
                socket.create_connection((self.ip, self.p465), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError("server did not start; log %s" % self.log.name)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait()
        if sig == signal.SIGKILL:
            # The workers are in the same process group; make sure they are gone.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
        return rc

    def cleanup(self):
        self.stop()
        if os.environ.get("KEEP_TMP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def queued(self):
        db = sqlite3.connect(os.path.join(self.data, "ntamsa.db"), timeout=10)
        try:
            return db.execute("SELECT count(*) FROM messages WHERE state != 'incomplete'").fetchone()[0]
        finally:
            db.close()

    def read(self, msg_id):
        return run(TOOL, "read", self.data, msg_id).stdout


def tls_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class Raw:
    """A byte-exact SMTP client: what a test sends is what goes on the wire."""

    def __init__(self, srv, implicit=False, src=None):
        port = srv.p465 if implicit else srv.p587
        self.sock = socket.create_connection((srv.ip, port), 10,
                                             source_address=(src, 0) if src else None)
        self.buf = b""
        if implicit:
            self.sock = tls_ctx().wrap_socket(self.sock)
        self.greeting = self.reply()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r")

    def reply(self):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3:4] != b"-":
                break
        return int(lines[-1][:3]), b"\n".join(lines).decode(errors="replace")

    def cmd(self, line):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def starttls(self):
        code, _ = self.cmd("STARTTLS")
        if code != 220:
            raise RuntimeError("STARTTLS got %d" % code)
        self.buf = b""
        self.sock = tls_ctx().wrap_socket(self.sock)

    def login(self, user, pw, implicit=False):
        import base64
        self.cmd("EHLO client.test")
        if not implicit:
            self.starttls()
            self.cmd("EHLO client.test")
        tok = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()
        return self.cmd("AUTH PLAIN " + tok)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
