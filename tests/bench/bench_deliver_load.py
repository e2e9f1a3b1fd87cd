#!/usr/bin/python3
"""Helper of tests/bench/bench_deliver.sh (not a benchmark by itself).

  inject HOST PORT COUNT SIZE SESSIONS FROM RCPT CLASS [USER PASSWORD]
      Submits COUNT messages of about SIZE octets over SESSIONS parallel
      SMTP sessions (python smtplib).  With USER/PASSWORD: STARTTLS (the
      bench certificate is self-signed, so unverified: loopback only) and
      AUTH PLAIN, as to ntamsa; without: plain SMTP, as to a Postfix relay
      that trusts mynetworks.  CLASS "health" adds X-NTA7516-Classify:
      secure (R-CLS-2: the sender's choice forces the NTA channels); "clean"
      sends ordinary text.  Prints "injected N errors E seconds S".
  wait DIR WANT TIMEOUT
      Polls the Maildir folder DIR until it holds WANT files or TIMEOUT
      seconds passed; prints "have N at_ns T" (CLOCK_REALTIME of the poll
      that saw the last file, comparable with `date +%s%N`).  Exit 1 on
      time-out.
"""
import smtplib
import ssl
import sys
import threading
import time
import os

# Neutral English filler: nothing the health classifier counts.
FILLER = ("The quarterly facilities report lists the meeting rooms, the "
          "printers and the parking spaces of the office.")


def message(i, size, sender, rcpt, health):
    hdr = [
        "From: <%s>" % sender,
        "To: <%s>" % rcpt,
        "Subject: bench %d" % i,
        "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
        "Message-ID: <bench-%d-%d@bench.invalid>" % (os.getpid(), i),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    if health:
        hdr.append("X-NTA7516-Classify: secure")
    body = []
    have = sum(len(h) + 2 for h in hdr) + 2
    while have < size:
        body.append(FILLER)
        have += len(FILLER) + 2
    return "\r\n".join(hdr) + "\r\n\r\n" + "\r\n".join(body) + "\r\n"


def session(a, first, count, res):
    ok = err = 0
    try:
        s = smtplib.SMTP(a["host"], a["port"], local_hostname="inject.bench.invalid",
                         timeout=60)
        if a["user"]:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            s.login(a["user"], a["password"])
        for i in range(first, first + count):
            msg = message(i, a["size"], a["sender"], a["rcpt"], a["health"])
            try:
                s.sendmail(a["sender"], [a["rcpt"]], msg.encode("ascii"))
                ok += 1
            except smtplib.SMTPException as e:
                err += 1
                if err == 1:
                    print("inject: message %d: %s" % (i, e), file=sys.stderr)
        s.quit()
    except (OSError, smtplib.SMTPException) as e:
        print("inject: session: %s" % e, file=sys.stderr)
        err += count - ok
    res.append((ok, err))


def inject(argv):
    host, port, count, size, sessions, sender, rcpt, cls = argv[:8]
    a = {"host": host, "port": int(port), "size": int(size), "sender": sender,
         "rcpt": rcpt, "health": cls == "health",
         "user": argv[8] if len(argv) > 9 else None,
         "password": argv[9] if len(argv) > 9 else None}
    count, sessions = int(count), max(1, int(sessions))
    res, threads, first = [], [], 0
    t0 = time.monotonic()
    for k in range(sessions):
        n = count // sessions + (1 if k < count % sessions else 0)
        t = threading.Thread(target=session, args=(a, first, n, res))
        first += n
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    ok = sum(r[0] for r in res)
    err = sum(r[1] for r in res)
    print("injected %d errors %d seconds %.2f" % (ok, err, time.monotonic() - t0))
    return 0 if err == 0 else 1


def wait(argv):
    d, want, timeout = argv[0], int(argv[1]), float(argv[2])
    end = time.monotonic() + timeout
    n = 0
    while True:
        try:
            n = sum(1 for _ in os.scandir(d))
        except FileNotFoundError:
            n = 0
        if n >= want:
            print("have %d at_ns %d" % (n, time.time_ns()))
            return 0
        if time.monotonic() > end:
            print("have %d at_ns %d" % (n, time.time_ns()))
            return 1
        time.sleep(0.02)


if __name__ == "__main__":
    if len(sys.argv) >= 10 and sys.argv[1] == "inject":
        sys.exit(inject(sys.argv[2:]))
    if len(sys.argv) == 5 and sys.argv[1] == "wait":
        sys.exit(wait(sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
