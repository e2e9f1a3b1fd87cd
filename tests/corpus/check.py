#!/usr/bin/env python3
"""Check the labelled corpus: shape, MIME validity, made-up numbers, rebuild.

usage: check.py [CORPUS_DIR]     (default: the directory of this script)

Prints "PASS: corpus-..." / "FAIL: corpus-... why" lines; exit 1 on a FAIL.
Reads messages only to validate them; prints file names, never content.
"""
import collections
import csv
import email
import email.policy
import filecmp
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failed = 0


def result(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS: corpus-{name}")
    else:
        failed += 1
        print(f"FAIL: corpus-{name} {why}")


def elfproef(s):
    d = [int(c) for c in s]
    t = sum(w * x for w, x in zip((9, 8, 7, 6, 5, 4, 3, 2), d[:8])) - d[8]
    return t % 11 == 0 and any(d)


def texts(msg):
    """Decoded text of every text/* part (and the Subject), as one string."""
    out = [str(msg.get("subject", ""))]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            out.append(part.get_content())
        fn = part.get_filename()
        if fn:
            out.append(fn)
    return "\n".join(out)


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else HERE
    with open(os.path.join(corpus, "labels.csv"), newline="",
              encoding="utf-8") as fh:
        rd = csv.DictReader(fh)
        header = rd.fieldnames
        rows = list(rd)
    result("labels-header", header == ["file", "label", "split", "rationale"],
           f"got {header}")
    bad = [r["file"] for r in rows if r["label"] not in ("health", "clean")
           or r["split"] not in ("train", "heldout")
           or not r["rationale"].strip()]
    result("labels-values", not bad, f"bad rows: {bad[:5]}")
    result("size", len(rows) >= 300, f"{len(rows)} messages, want >= 300")
    lab = collections.Counter(r["label"] for r in rows)
    share = lab["health"] / max(len(rows), 1)
    result("balance", 0.4 <= share <= 0.6, f"health share {share:.2f}")
    for label in ("health", "clean"):
        n = sum(1 for r in rows if r["label"] == label)
        h = sum(1 for r in rows if r["label"] == label and
                r["split"] == "heldout")
        result(f"heldout-{label}", n and 0.2 <= h / n <= 0.3,
               f"{h} of {n} heldout")

    man_path = os.path.join(corpus, "src", "manifest.csv")
    with open(man_path, newline="", encoding="utf-8") as fh:
        man = {r["file"]: r for r in csv.DictReader(fh)}
    langs = collections.Counter(man[r["file"]]["lang"] for r in rows
                                if r["file"] in man)
    nl = langs["nl"] / max(len(rows), 1)
    result("dutch-share", 0.7 <= nl <= 0.9, f"Dutch share {nl:.2f}")
    result("manifest", set(man) == {r["file"] for r in rows},
           "manifest and labels.csv list different files")

    parse_bad, defects, leftovers, bad_bsn, bad_inv = [], [], [], [], []
    for r in rows:
        path = os.path.join(corpus, r["file"])
        try:
            with open(path, "rb") as fh:
                msg = email.message_from_binary_file(
                    fh, policy=email.policy.default)
            body = texts(msg)
        except Exception as e:  # any parse/decode error is a corpus bug
            parse_bad.append(f"{r['file']}: {type(e).__name__}")
            continue
        if any(p.defects for p in msg.walk()) or msg.defects:
            defects.append(r["file"])
        if re.search(r"\{(BSN|NOT11)\d*(:\w+)?\}", body):
            leftovers.append(r["file"])
        # a number written next to a BSN label must pass the 11-test
        for m in re.finditer(r"BSN[^0-9\n]{0,40}?(\d{3,4}[ .-]?\d{2,3}[ .-]?"
                             r"\d{3})\b", body):
            digits = re.sub(r"\D", "", m.group(1))
            if len(digits) == 9 and not elfproef(digits):
                bad_bsn.append(r["file"])
        # invoices must carry only 9-digit numbers that fail the 11-test
        cat = man.get(r["file"], {}).get("cat")
        if cat == "invoice":
            for m in re.finditer(r"(?<![\d.])(\d{9}|\d{4}\.\d{2}\.\d{3})"
                                 r"(?![\d.])", body):
                if elfproef(re.sub(r"\D", "", m.group(1))):
                    bad_inv.append(r["file"])
    result("mime-parse", not parse_bad, "; ".join(parse_bad[:5]))
    result("mime-defects", not defects, f"defects in {defects[:5]}")
    result("placeholders-filled", not leftovers, f"in {leftovers[:5]}")
    result("bsn-elfproef", not bad_bsn, f"invalid BSN in {bad_bsn[:5]}")
    result("invoice-numbers-fail-elfproef", not bad_inv,
           f"valid 11-test number in {bad_inv[:5]}")

    # the committed files are exactly what build.py makes from src/
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([sys.executable, os.path.join(corpus, "build.py"),
                            "--out", tmp], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            result("rebuild", False, p.stderr.strip().splitlines()[-1:])
        else:
            names = sorted(os.listdir(os.path.join(tmp, "msg")))
            _, mism, errs = filecmp.cmpfiles(
                os.path.join(corpus, "msg"), os.path.join(tmp, "msg"),
                names, shallow=False)
            same_labels = filecmp.cmp(os.path.join(corpus, "labels.csv"),
                                      os.path.join(tmp, "labels.csv"),
                                      shallow=False)
            extra = sorted(set(os.listdir(os.path.join(corpus, "msg"))) -
                           set(names))
            result("rebuild", not mism and not errs and same_labels and
                   not extra, f"differs: {(mism + errs)[:5]} extra: "
                   f"{extra[:5]} labels same: {same_labels}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
