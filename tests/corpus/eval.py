#!/usr/bin/env python3
"""Measure the health classifier on the labelled corpus.

usage: eval.py [--check] NTAMSA_BINARY CORPUS_DIR

Reads CORPUS_DIR/labels.csv (file,label,split,rationale; label health|clean,
split train|heldout), runs `NTAMSA classify` over the files and prints, for
train, heldout and overall: precision, recall and F1 of the health class,
the confusion matrix and the misclassified files (with score and reason
codes, never message content).

--check adds "PASS: eval-..." / "FAIL: eval-..." lines for the targets on
the whole corpus (recall >= 0.98, precision >= 0.92) and exits 1 when one
is missed.  A corpus still being written is handled: rows whose file is
missing are reported and skipped; without any labelled file the check is
a SKIP.
"""
import csv
import os
import subprocess
import sys
import tempfile

RECALL_MIN = 0.98
PRECISION_MIN = 0.92
BATCH = 64


def load_labels(corpus):
    path = os.path.join(corpus, "labels.csv")
    rows, problems = [], []
    if not os.path.exists(path):
        return rows, ["no labels.csv in %s" % corpus]
    with open(path, newline="", encoding="utf-8") as f:
        for n, r in enumerate(csv.DictReader(f), start=2):
            fname = (r.get("file") or "").strip()
            label = (r.get("label") or "").strip().lower()
            split = (r.get("split") or "").strip().lower() or "train"
            if label not in ("health", "clean") or not fname:
                problems.append("labels.csv:%d: unusable row" % n)
                continue
            full = os.path.join(corpus, fname)
            if not os.path.isfile(full):
                problems.append("labels.csv:%d: %s missing (corpus still being written?)" % (n, fname))
                continue
            rows.append({"file": fname, "path": full, "label": label, "split": split})
    return rows, problems


def classify(binary, rows):
    """Run the classifier in batches; returns {path: (verdict, score, reasons)}."""
    out = {}
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as conf:
        # An empty config: every classify.* key at its default.
        conf_path = conf.name
    try:
        for i in range(0, len(rows), BATCH):
            paths = [r["path"] for r in rows[i:i + BATCH]]
            p = subprocess.run([binary, "-c", conf_path, "classify"] + paths,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=600)
            if p.returncode != 0:
                sys.stderr.write(p.stderr.decode("utf-8", "replace"))
                raise SystemExit("FAIL: eval-run classify exited %d" % p.returncode)
            lines = p.stdout.decode("utf-8", "replace").splitlines()
            for line in lines:
                parts = line.split(" ", 3)
                if len(parts) == 4 and parts[0] in ("health", "clean"):
                    out[parts[3]] = (parts[0], parts[1], parts[2])
    finally:
        os.unlink(conf_path)
    return out


def metrics(rows, got):
    tp = fp = fn = tn = 0
    wrong = []
    for r in rows:
        v = got.get(r["path"])
        if v is None:
            wrong.append((r, ("missing", "-", "-")))
            pred = "health"  # no answer counts as a miss below
            fn += r["label"] == "health"
            fp += r["label"] == "clean"
            continue
        pred = v[0]
        if r["label"] == "health":
            if pred == "health":
                tp += 1
            else:
                fn += 1
                wrong.append((r, v))
        else:
            if pred == "health":
                fp += 1
                wrong.append((r, v))
            else:
                tn += 1
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": prec,
            "recall": rec, "f1": f1, "wrong": wrong, "n": len(rows)}


def report(name, m):
    print("== %s: %d messages" % (name, m["n"]))
    print("   precision %.3f  recall %.3f  F1 %.3f (health class)" %
          (m["precision"], m["recall"], m["f1"]))
    print("   confusion:            predicted health  predicted clean")
    print("     labelled health     %16d  %15d" % (m["tp"], m["fn"]))
    print("     labelled clean      %16d  %15d" % (m["fp"], m["tn"]))
    for r, v in m["wrong"]:
        kind = "missed" if r["label"] == "health" else "false alarm"
        print("   %-11s %s score=%s reasons=%s" % (kind, r["file"], v[1], v[2]))


def main(argv):
    check = False
    args = []
    for a in argv[1:]:
        if a == "--check":
            check = True
        else:
            args.append(a)
    if len(args) != 2:
        sys.stderr.write("usage: eval.py [--check] NTAMSA_BINARY CORPUS_DIR\n")
        return 2
    binary, corpus = args
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("FAIL: eval-run %s is not an executable (make all first)" % binary)
        return 1
    rows, problems = load_labels(corpus)
    for p in problems:
        print("note: %s" % p)
    if not rows:
        if check:
            print("SKIP: eval-recall no labelled messages yet")
            print("SKIP: eval-precision no labelled messages yet")
        return 0
    got = classify(binary, rows)
    splits = {}
    for r in rows:
        splits.setdefault(r["split"], []).append(r)
    for name in sorted(splits):
        report(name, metrics(splits[name], got))
    overall = metrics(rows, got)
    report("overall", overall)
    if not check:
        return 0
    rc = 0
    n_health = overall["tp"] + overall["fn"]
    if n_health == 0:
        print("SKIP: eval-recall no health messages labelled yet")
    elif overall["recall"] >= RECALL_MIN:
        print("PASS: eval-recall %.3f >= %.2f (%d health)" % (overall["recall"], RECALL_MIN, n_health))
    else:
        print("FAIL: eval-recall %.3f < %.2f (%d missed)" % (overall["recall"], RECALL_MIN, overall["fn"]))
        rc = 1
    if overall["tp"] + overall["fp"] == 0:
        print("SKIP: eval-precision nothing predicted health")
    elif overall["precision"] >= PRECISION_MIN:
        print("PASS: eval-precision %.3f >= %.2f" % (overall["precision"], PRECISION_MIN))
    else:
        print("FAIL: eval-precision %.3f < %.2f (%d false alarms)" % (overall["precision"], PRECISION_MIN, overall["fp"]))
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
