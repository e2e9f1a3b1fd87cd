#!/usr/bin/env python3
"""Build the labelled classifier corpus from the hand-written sources.

Reads tests/corpus/src/*.txt (format in README.md), wraps each record into
an RFC 5322 / MIME message and writes tests/corpus/msg/NNN.eml, labels.csv
and src/manifest.csv.  Everything is deterministic: the MIME structure,
transfer encodings, charsets, dates, boundaries and the made-up BSNs are all
derived from a hash of the record id, so a rebuild gives identical bytes.

File numbers and the train/heldout split are fixed once in src/manifest.csv:
existing ids keep their number and split; new ids get the next free number and a split: within each label, new
records ordered by category, every 4th one heldout (stratified by label
and category).

Usage: build.py [--out DIR]   (default: the directory of this script)
"""
import base64
import binascii
import csv
import hashlib
import html
import io
import os
import random
import re
import sys
import zipfile
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")

FIELDS = {"label", "cat", "lang", "struct", "cte", "charset", "subjenc",
          "from", "to", "cc", "date", "subject", "why", "hdr", "mailer"}


class Rec:
    def __init__(self, rid, where):
        self.id = rid
        self.where = where
        self.f = {}
        self.hdrs = []
        self.text = None
        self.html = None
        self.atts = []  # (name, ctype, cte or None, content str)


def parse_sources():
    recs = []
    seen = set()
    for fn in sorted(os.listdir(SRC)):
        if not fn.endswith(".txt"):
            continue
        path = os.path.join(SRC, fn)
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        cur = None
        sect = None  # None = fields, else ("text"|"html"|att index)
        buf = []

        def flush():
            if cur is None or sect is None:
                return
            body = "\n".join(buf).strip("\n") + "\n"
            if sect == "text":
                cur.text = body
            elif sect == "html":
                cur.html = body
            else:
                n, t, c, _ = cur.atts[sect]
                cur.atts[sect] = (n, t, c, body)

        for i, line in enumerate(lines):
            if line.startswith("### "):
                flush()
                rid = line[4:].strip()
                if rid in seen:
                    sys.exit(f"{fn}:{i+1}: duplicate id {rid}")
                seen.add(rid)
                cur = Rec(rid, f"{fn}:{i+1}")
                recs.append(cur)
                sect, buf = None, []
            elif cur is None:
                continue  # file preamble / comments
            elif line.startswith("--- "):
                flush()
                buf = []
                kind = line[4:].strip()
                if kind == "text":
                    sect = "text"
                elif kind == "html":
                    sect = "html"
                elif kind.startswith("attach "):
                    parts = [p.strip() for p in kind[7:].split(";")]
                    if len(parts) < 2:
                        sys.exit(f"{fn}:{i+1}: attach needs name; type")
                    cte = parts[2] if len(parts) > 2 else None
                    cur.atts.append((parts[0], parts[1], cte, ""))
                    sect = len(cur.atts) - 1
                else:
                    sys.exit(f"{fn}:{i+1}: unknown section {kind!r}")
            elif sect is None:
                if not line.strip() or line.startswith("#"):
                    continue
                k, sep, v = line.partition(":")
                k = k.strip().lower()
                if not sep or k not in FIELDS:
                    sys.exit(f"{fn}:{i+1}: bad field line {line!r}")
                if k == "hdr":
                    cur.hdrs.append(v.strip())
                else:
                    cur.f[k] = v.strip()
            else:
                buf.append(line)
        flush()
    for r in recs:
        for k in ("label", "cat", "lang", "subject", "why"):
            if k not in r.f:
                sys.exit(f"{r.where}: {r.id}: missing field {k}")
        if r.f["label"] not in ("health", "clean"):
            sys.exit(f"{r.where}: {r.id}: bad label")
        if r.f["lang"] not in ("nl", "en"):
            sys.exit(f"{r.where}: {r.id}: bad lang")
        if r.text is None and r.html is None:
            sys.exit(f"{r.where}: {r.id}: no body")
    return recs


# ---- made-up numbers -----------------------------------------------------

def elfproef(d):
    s = sum(w * x for w, x in zip((9, 8, 7, 6, 5, 4, 3, 2), d[:8])) - d[8]
    return s % 11 == 0


def make_bsn(rng):
    while True:
        d = [rng.randrange(10) for _ in range(8)]
        if d[0] == 0:
            continue
        s = sum(w * x for w, x in zip((9, 8, 7, 6, 5, 4, 3, 2), d)) % 11
        if s == 10:
            continue  # check digit would have to be 10
        d.append(s)
        assert elfproef(d)
        return "".join(map(str, d))


def make_not11(rng):
    while True:
        d = [rng.randrange(10) for _ in range(9)]
        if d[0] != 0 and not elfproef(d):
            return "".join(map(str, d))


def fmt9(n, style):
    if style == "dot":
        return f"{n[:4]}.{n[4:6]}.{n[6:]}"
    if style == "space":
        return f"{n[:3]} {n[3:6]} {n[6:]}"
    if style == "dash":
        return f"{n[:3]}-{n[3:6]}-{n[6:]}"
    return n


PH = re.compile(r"\{(BSN|NOT11)(\d*)(?::(dot|space|dash))?\}")


def fill(rid, s):
    def sub(m):
        key = m.group(1) + m.group(2)
        rng = random.Random(hashlib.sha256(f"{rid}/{key}".encode()).digest())
        n = make_bsn(rng) if m.group(1) == "BSN" else make_not11(rng)
        return fmt9(n, m.group(3))
    return PH.sub(sub, s) if s is not None else None


# ---- encodings -------------------------------------------------------------

def hval(rid, what, mod):
    h = hashlib.sha256(f"{rid}#{what}".encode()).digest()
    return int.from_bytes(h[:8], "big") % mod


def enc_word(s, charset, mode):
    """RFC 2047 encoded words, each under 75 chars, split on char bounds."""
    words, chunk = [], ""
    for ch in s:
        trial = chunk + ch
        b = trial.encode(charset)
        if mode == "b":
            ln = 4 * ((len(b) + 2) // 3)
        else:
            ln = sum(1 if (c < 128 and chr(c).isalnum()) or c == 32 else 3
                     for c in b)
        if ln > 75 - len(charset) - 7 and chunk:
            words.append(chunk)
            chunk = ch
        else:
            chunk = trial
    if chunk:
        words.append(chunk)
    out = []
    for w in words:
        b = w.encode(charset)
        if mode == "b":
            e = base64.b64encode(b).decode()
            out.append(f"=?{charset}?B?{e}?=")
        else:
            e = "".join("_" if c == 32 else
                        chr(c) if c < 128 and chr(c).isalnum() else
                        f"={c:02X}" for c in b)
            out.append(f"=?{charset}?Q?{e}?=")
    return "\n ".join(out)


def fold(name, value):
    """Fold a header at spaces to stay under 78 columns where possible."""
    line = f"{name}: {value}"
    if len(line) <= 78 or "\n" in value:
        return line
    out, cur = [], ""
    for w in line.split(" "):
        if cur and len(cur) + 1 + len(w) > 76:
            out.append(cur)
            cur = " " + w
        else:
            cur = f"{cur} {w}" if cur else w
    out.append(cur)
    return "\n".join(out)


def encode_body(data, cte):
    if cte == "base64":
        return base64.encodebytes(data).decode("ascii")
    if cte == "quoted-printable":
        q = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
        return q.decode("ascii") + ("" if q.endswith(b"\n") else "\n")
    s = data.decode("latin-1")  # 7bit/8bit: bytes pass through unchanged
    return s if s.endswith("\n") else s + "\n"


def pick_charset(r, texts):
    cs = r.f.get("charset")
    if cs:
        return cs
    if hval(r.id, "cs", 5) == 0:
        try:
            for t in texts:
                if t:
                    t.encode("iso-8859-1")
            return "iso-8859-1"
        except UnicodeEncodeError:
            pass
    return "utf-8"


def pick_cte(r, data, what):
    c = r.f.get("cte")
    if c:
        return {"qp": "quoted-printable", "b64": "base64",
                "8bit": "8bit", "7bit": "7bit"}.get(c, c)
    v = hval(r.id, "cte" + what, 10)
    if v < 3:
        return "quoted-printable"
    if v < 5:
        return "base64"
    try:
        data.decode("ascii")
        return "7bit"
    except UnicodeDecodeError:
        return "8bit" if v < 8 else "quoted-printable"


def leaf(ctype, data, cte, extra=()):
    h = [f"Content-Type: {ctype}"] + list(extra)
    h.append(f"Content-Transfer-Encoding: {cte}")
    return "\n".join(h) + "\n\n" + encode_body(data, cte)


def multipart(sub, parts, boundary):
    out = [f"Content-Type: multipart/{sub};\n boundary=\"{boundary}\"\n",
           "This is a multi-part message in MIME format.\n"]
    for p in parts:
        out.append(f"--{boundary}\n{p}")
    out.append(f"--{boundary}--\n")
    return "\n".join(out)


# ---- text to HTML ----------------------------------------------------------

HTML_STYLES = [
    # Outlook-like
    ('<html xmlns:o="urn:schemas-microsoft-com:office:office">\n<head>\n'
     '<meta http-equiv="Content-Type" content="text/html; charset={cs}">\n'
     '<style><!--\np.MsoNormal {{margin:0cm; font-size:11.0pt; '
     'font-family:"Calibri",sans-serif;}}\n--></style>\n</head>\n'
     '<body lang="NL" link="#0563C1">\n<div class="WordSection1">\n',
     '<p class="MsoNormal">', '</p>\n', '</div>\n</body>\n</html>\n'),
    # Gmail-like
    ('<div dir="ltr">', '<div>', '</div>\n<div><br></div>\n',
     '</div>\n'),
    # plain webmail
    ('<!DOCTYPE html>\n<html><head><meta charset="{cs}"><title></title>'
     '</head>\n<body style="font-family: Arial, sans-serif; font-size: '
     '10pt">\n', '<p>', '</p>\n', '</body></html>\n'),
]


def text_to_html(r, text, cs):
    head, po, pc, tail = HTML_STYLES[hval(r.id, "htmlstyle", 3)]
    out = [head.replace("{cs}", cs).replace("{{", "{").replace("}}", "}")]
    paras = re.split(r"\n\s*\n", text.strip("\n"))
    inquote = False
    for p in paras:
        lines = p.split("\n")
        q = all(ln.startswith(">") for ln in lines)
        if q and not inquote:
            out.append('<blockquote style="border-left:1px solid #ccc; '
                       'padding-left:1ex">\n')
            inquote = True
        elif not q and inquote:
            out.append("</blockquote>\n")
            inquote = False
        if q:
            lines = [ln[1:].lstrip() if ln.startswith("> ") or ln == ">"
                     else ln[1:] for ln in lines]
        body = "<br>\n".join(html.escape(ln, quote=False) for ln in lines)
        body = body.replace("\u00a0", "&nbsp;")
        out.append(po + body + pc)
    if inquote:
        out.append("</blockquote>\n")
    out.append(tail)
    return "".join(out)


# ---- binary attachments ----------------------------------------------------

def make_pdf(text):
    """A small valid PDF showing the given text in Helvetica (WinAnsi)."""
    lines = (text or " ").rstrip("\n").split("\n")[:60]
    def esc(s):
        s = s.encode("cp1252", "replace").decode("latin-1")
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = "BT /F1 10 Tf 50 800 Td 13 TL\n" + "".join(
        f"({esc(ln)}) '\n" for ln in lines) + "ET\n"
    sb = stream.encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        b"/Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(sb)).encode() + b" >>\nstream\n" + sb +
        b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs)+1}\n0000000000 65535 f \n".encode()
    for o in offs:
        out += f"{o:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objs)+1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def make_docx(text):
    paras = "".join(
        f"<w:p><w:r><w:t xml:space=\"preserve\">{html.escape(ln)}</w:t>"
        f"</w:r></w:p>" for ln in (text or "").rstrip("\n").split("\n"))
    files = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="'
            'application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.wordprocessingml.'
            'document.main+xml"/></Types>',
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body>' + paras +
            '</w:body></w:document>',
    }
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            zi = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return bio.getvalue()


def make_jpeg(rid, name):
    rng = random.Random(hashlib.sha256(f"{rid}/{name}".encode()).digest())
    body = bytes(rng.randrange(256) for _ in range(1500))
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01"
            b"\x00\x00" + body + b"\xff\xd9")


def attachment(r, idx, name, ctype, cte, content, cs):
    base = ctype.split(";")[0].strip().lower()
    try:
        name.encode("ascii")
        qname = f'"{name}"'
    except UnicodeEncodeError:
        qname = '"' + enc_word(name, "utf-8", "q").replace("\n ", "") + '"'
    disp = f"Content-Disposition: attachment;\n filename={qname}"
    if base == "message/rfc822":
        body = content if content.endswith("\n") else content + "\n"
        raw = body.encode("utf-8")
        cte = "7bit" if raw.isascii() else "8bit"
        # the file text is bytes-as-latin-1, see main()
        return (f"Content-Type: message/rfc822\n"
                f"Content-Disposition: attachment\n"
                f"Content-Transfer-Encoding: {cte}\n\n"
                + raw.decode("latin-1"))
    if base.startswith("text/"):
        data = content.encode(cs if cs != "us-ascii" else "ascii")
        cte = {"qp": "quoted-printable", "b64": "base64"}.get(cte, cte) or (
            "base64" if hval(r.id, f"att{idx}", 2) else "quoted-printable")
        return leaf(f"{base}; charset={cs};\n name={qname}", data, cte,
                    [disp])
    if base == "application/pdf":
        data = make_pdf(content)
    elif "wordprocessingml" in base:
        data = make_docx(content)
    elif base.startswith("image/"):
        data = make_jpeg(r.id, name)
    else:
        data = content.encode("utf-8")
    return leaf(f"{ctype};\n name={qname}", data, "base64", [disp])


# ---- whole message ---------------------------------------------------------

def boundary(r, n):
    return f"----=_Part_{hval(r.id, f'b{n}', 10**8):08d}_{n}"


def body_part(r, cs):
    text, htm = r.text, r.html
    struct = r.f.get("struct")
    if struct is None and htm is None and not r.atts:
        v = hval(r.id, "struct", 20)
        struct = "plain" if v < 11 else ("alt" if v < 17 else "html")
    if struct == "html" and htm is None:
        htm, text = text_to_html(r, text, cs), None
    elif struct == "alt" and htm is None:
        htm = text_to_html(r, text, cs)
    parts = []
    if text is not None:
        d = text.encode(cs)
        parts.append(leaf(f"text/plain; charset={cs}; format=flowed"
                          if hval(r.id, "ff", 4) == 0 else
                          f"text/plain; charset={cs}", d,
                          pick_cte(r, d, "t")))
    if htm is not None:
        d = htm.encode(cs)
        parts.append(leaf(f"text/html; charset={cs}", d, pick_cte(r, d, "h")))
    if len(parts) == 1:
        return parts[0]
    return multipart("alternative", parts, boundary(r, 1))


def header_date(r):
    if "date" in r.f:
        return r.f["date"]
    base = datetime(2025, 9, 1, 7, 0, tzinfo=timezone(timedelta(hours=2)))
    d = base + timedelta(minutes=hval(r.id, "date", 60 * 24 * 420))
    if d.month in (11, 12, 1, 2, 3):
        d = d.astimezone(timezone(timedelta(hours=1)))
    return d.strftime("%a, %d %b %Y %H:%M:%S %z")


def addr_hdr(v):
    """Encode non-ASCII display names ("Jos\u00e9 M\u00fcller" <x@y>)."""
    def sub(m):
        name = m.group(1)
        if all(ord(c) < 128 for c in name):
            return m.group(0)
        return enc_word(name, "utf-8", "q").replace("\n ", " ") + " <"
    return re.sub(r'"([^"]*)"\s*<', sub, v)


def build_msg(r):
    texts = [r.f["subject"], r.text, r.html] + [a[3] for a in r.atts
                                                 if a[1].startswith("text/")]
    cs = pick_charset(r, texts)
    body = body_part(r, cs)
    if r.atts:
        parts = [body] + [attachment(r, i, *a, cs) for i, a in
                          enumerate(r.atts)]
        body = multipart("mixed", parts, boundary(r, 2))
    subj = r.f["subject"]
    se = r.f.get("subjenc")
    non_ascii = any(ord(c) > 127 for c in subj)
    if se is None:
        se = ("b" if hval(r.id, "se", 2) else "q") if non_ascii else (
            "q" if hval(r.id, "se2", 12) == 0 else "none")
    if se != "none":
        subj = enc_word(subj, "utf-8" if cs == "us-ascii" else cs, se)
    dom = "corpus.ntamsa.invalid"
    frm = r.f.get("from", '"Onbekend" <afzender@example.nl>')
    to = r.f.get("to", "ontvanger@example.nl")
    h = [fold("From", addr_hdr(frm)), fold("To", addr_hdr(to))]
    if "cc" in r.f:
        h.append(fold("Cc", addr_hdr(r.f["cc"])))
    h.append(f"Date: {header_date(r)}")
    h.append("Subject: " + subj if "\n" in subj else fold("Subject", subj))
    mid = hashlib.sha256(r.id.encode()).hexdigest()[:20]
    h.append(f"Message-ID: <{mid}@{dom}>")
    for x in r.hdrs:
        name, _, val = x.partition(":")
        h.append(fold(name.strip(), val.strip()))
    if "mailer" in r.f:
        h.append(f"X-Mailer: {r.f['mailer']}")
    h.append("MIME-Version: 1.0")
    hs = "\n".join(h)
    if any(ord(c) > 127 for c in hs):
        sys.exit(f"{r.where}: {r.id}: non-ASCII header: {hs!r}")
    return hs + "\n" + body


def main():
    out = HERE
    if len(sys.argv) == 3 and sys.argv[1] == "--out":
        out = sys.argv[2]
    elif len(sys.argv) != 1:
        sys.exit(__doc__)
    recs = parse_sources()
    for r in recs:
        r.subject_raw = r.f["subject"]
        r.f["subject"] = fill(r.id, r.f["subject"])
        r.text = fill(r.id, r.text)
        r.html = fill(r.id, r.html)
        r.atts = [(fill(r.id, n), t, c, fill(r.id, x)) for n, t, c, x in
                  r.atts]

    man_path = os.path.join(SRC, "manifest.csv")
    man = {}
    if os.path.exists(man_path):
        with open(man_path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                man[row["id"]] = row
    nxt = max([int(v["file"][4:7]) for v in man.values()] + [0]) + 1
    # Systematic sampling per label over records ordered by category: every
    # 4th record is heldout, so each category gets its share (a category of
    # 2 or 3 messages gets one heldout about half the time) and the label
    # split is exactly 25%.  Existing ids keep their split.
    for label in ("health", "clean"):
        new = sorted((r for r in recs if r.f["label"] == label and
                      not man.get(r.id, {}).get("split")),
                     key=lambda r: (r.f["cat"], hashlib.sha256(
                         r.id.encode()).hexdigest()))
        off = random.Random(f"split/{label}/{len(new)}").randrange(4)
        for i, r in enumerate(new):
            man.setdefault(r.id, {})["split"] = (
                "heldout" if (i + off) % 4 == 0 else "train")
    for r in recs:
        m = man[r.id]
        if "file" not in m:
            m["file"] = f"msg/{nxt:03d}.eml"
            nxt += 1
        m.update(id=r.id, label=r.f["label"], cat=r.f["cat"],
                 lang=r.f["lang"])

    os.makedirs(os.path.join(out, "msg"), exist_ok=True)
    for r in recs:
        data = build_msg(r)
        with open(os.path.join(out, man[r.id]["file"]), "w",
                  encoding="latin-1", newline="\n") as fh:
            # build_msg's text is bytes-as-latin-1 (8bit parts pass through)
            fh.write(data)
    ordered = sorted((man[r.id] for r in recs), key=lambda m: m["file"])
    with open(os.path.join(out, "labels.csv"), "w", newline="",
              encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file", "label", "split", "rationale"])
        why = {r.id: r.f["why"] for r in recs}
        for m in ordered:
            w.writerow([m["file"], m["label"], m["split"], why[m["id"]]])
    if out == HERE:
        with open(man_path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["id", "file", "label", "cat", "lang", "split"])
            for m in ordered:
                w.writerow([m[k] for k in ("id", "file", "label", "cat",
                                           "lang", "split")])
    print(f"built {len(recs)} messages into {out}")


if __name__ == "__main__":
    main()
