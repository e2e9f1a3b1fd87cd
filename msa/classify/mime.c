/*
 * mime.c - reading a message for the classifier: headers, MIME tree,
 * transfer decoding, charsets, HTML.  libetpan parses a bounded private
 * copy (DESIGN.md traps) and is used read-only.
 */
#include "msa/classify/internal.h"

#include "common/wipe.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include <libetpan/libetpan.h>

void
cls_buf_init(struct cls_buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

int
cls_buf_add(struct cls_buf *b, const char *s, size_t n)
{
	int full = 0;

	if (n > b->max - b->len) {
		n = b->max - b->len;
		full = 1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		char *np;

		while (nc < b->len + n + 1)
			nc *= 2;
		if (nc > b->max + 1)
			nc = b->max + 1;
		np = wipe_grow(b->p, b->len, nc);	/* message text */
		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = nc;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return full ? -1 : 0;
}

void
cls_buf_free(struct cls_buf *b)
{
	wipe_free(b->p, b->cap);
	cls_buf_init(b, b->max);
}

/* Append, noting a reached cap as a limit (the rest was not read). */
static void
doc_add(struct cls_doc *d, const char *s, size_t n)
{
	if (cls_buf_add(&d->text, s, n) != 0) {
		if (d->text.len < d->text.max)
			d->nomem = 1;
		d->limit = 1;
	}
}

static void
doc_sep(struct cls_doc *d)
{
	doc_add(d, "\n\n", 2);
}

static int
is_utf8_name(const char *cs)
{
	return cs == NULL || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	    strcasecmp(cs, "ascii") == 0;
}

/* Latin-1 to UTF-8 by hand: the fallback when iconv does not know a charset. */
static void
add_latin1(struct cls_buf *out, const char *s, size_t n, int *err)
{
	char tmp[512];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (k + 2 > sizeof(tmp)) {
			if (cls_buf_add(out, tmp, k) != 0)
				*err = 1;
			k = 0;
		}
		if (c < 0x80) {
			tmp[k++] = (char)c;
		} else {
			tmp[k++] = (char)(0xc0 | (c >> 6));
			tmp[k++] = (char)(0x80 | (c & 0x3f));
		}
	}
	if (k > 0 && cls_buf_add(out, tmp, k) != 0)
		*err = 1;
	explicit_bzero(tmp, sizeof(tmp));	/* message text */
}

/* Convert s (in charset cs) to UTF-8 and append it to out. */
static int
add_charset(struct cls_buf *out, const char *cs, const char *s, size_t n)
{
	char *conv = NULL;
	size_t convlen = 0;
	int err = 0;

	if (is_utf8_name(cs))
		return cls_buf_add(out, s, n);
	if (charconv_buffer("utf-8", cs, s, n, &conv, &convlen) == MAIL_CHARCONV_NO_ERROR &&
	    conv != NULL) {
		err = cls_buf_add(out, conv, convlen);
		explicit_bzero(conv, convlen);	/* message text, converted */
		charconv_buffer_free(conv);
		return err;
	}
	if (conv != NULL)
		charconv_buffer_free(conv);	/* failed: holds nothing converted */
	/* Unknown or broken: windows-1252 and latin-1 are what remains in practice. */
	add_latin1(out, s, n, &err);
	return err ? -1 : 0;
}

static int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < n;) {
		size_t k;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = s[i] >= 0xc2 && s[i] < 0xe0 ? 1 : s[i] >= 0xe0 && s[i] < 0xf0 ? 2 :
		    s[i] >= 0xf0 && s[i] < 0xf5 ? 3 : 0;
		if (k == 0)
			return 0;
		for (size_t j = 1; j <= k; j++)
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

/* Plain text of a header value: UTF-8 when it is, else Latin-1. */
static void
add_raw(struct cls_buf *out, const char *s, size_t n, int *err)
{
	if (utf8_valid(s, n)) {
		if (cls_buf_add(out, s, n) != 0)
			*err = 1;
	} else {
		add_latin1(out, s, n, err);
	}
}

static int
all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* An RFC 2047 encoded word "=?charset?B|Q?text?=" at the start of s. */
struct eword {
	char cs[48];			/* without an RFC 2231 "*language" */
	char enc;			/* 'B' or 'Q' */
	const char *txt;
	size_t tlen;
	size_t len;			/* of the whole word */
};

static int
eword_parse(const char *s, size_t n, struct eword *w)
{
	size_t i = 2, c0 = 2;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return -1;
	while (i < n && s[i] != '?' && s[i] > ' ' && s[i] < 0x7f)
		i++;
	if (i + 3 > n || s[i] != '?' || i == c0 || i - c0 >= sizeof(w->cs) || s[i + 2] != '?')
		return -1;
	memcpy(w->cs, s + c0, i - c0);
	w->cs[i - c0] = '\0';
	char *star = strchr(w->cs, '*');
	if (star != NULL)
		*star = '\0';
	w->enc = (char)toupper((unsigned char)s[i + 1]);
	if (w->enc != 'B' && w->enc != 'Q')
		return -1;
	w->txt = s + i + 3;
	for (i += 3; i + 1 < n && !(s[i] == '?' && s[i + 1] == '='); i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return -1;
	if (i + 1 >= n)
		return -1;
	w->tlen = (size_t)(s + i - w->txt);
	w->len = i + 2;
	return 0;
}

/* The bytes of w's text into out (at least w->tlen bytes); their count, or -1. */
static long
eword_decode(const struct eword *w, unsigned char *out)
{
	size_t k = 0, used = 0;

	if (w->enc == 'B') {
		/* Padding is often missing in the wild: accept both forms. */
		if (sodium_base642bin(out, w->tlen, w->txt, w->tlen, NULL, &k, NULL,
		    sodium_base64_VARIANT_ORIGINAL) == 0 ||
		    sodium_base642bin(out, w->tlen, w->txt, w->tlen, NULL, &k, NULL,
		    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0)
			return (long)k;
		return -1;
	}
	while (used < w->tlen) {
		char c = w->txt[used];
		int hi, lo;

		if (c == '=' && used + 2 < w->tlen && (hi = cls_hexval(w->txt[used + 1])) >= 0 &&
		    (lo = cls_hexval(w->txt[used + 2])) >= 0) {
			out[k++] = (unsigned char)(hi << 4 | lo);
			used += 3;
		} else {
			out[k++] = c == '_' ? ' ' : (unsigned char)c;
			used++;
		}
	}
	return (long)k;
}

/*
 * A header value or file name with its RFC 2047 encoded words decoded,
 * as UTF-8 into out.  White space between two encoded words goes (RFC 2047
 * 6.2); a word that does not decode stays as it was written.  Our own
 * decoder: libetpan's leaves copies of the decoded text in freed memory,
 * and this is a Subject.
 */
static void
decode_phrase(struct cls_buf *out, const char *s, size_t n, int *err)
{
	size_t i = 0, raw = 0;
	int after_word = 0;

	while (i < n) {
		struct eword w;
		unsigned char *dec;
		long k;

		if (s[i] != '=' || eword_parse(s + i, n - i, &w) != 0) {
			i++;
			continue;
		}
		if ((dec = malloc(w.tlen + 1)) == NULL) {
			*err = 1;
			return;
		}
		if ((k = eword_decode(&w, dec)) >= 0) {
			if (i > raw && !(after_word && all_space(s + raw, i - raw)))
				add_raw(out, s + raw, i - raw, err);
			if (add_charset(out, w.cs, (const char *)dec, (size_t)k) != 0)
				*err = 1;
			raw = i + w.len;
			after_word = 1;
		}
		wipe_free(dec, w.tlen + 1);
		i += w.len;
	}
	if (n > raw)
		add_raw(out, s + raw, n - raw, err);
}

/* A header value or file name (RFC 2047 words decoded) into d. */
static void
add_phrase(struct cls_doc *d, const char *s, size_t n)
{
	struct cls_buf ph;
	int err = 0;

	if (n == 0)
		return;
	cls_buf_init(&ph, CLS_MAX_TEXT);
	decode_phrase(&ph, s, n, &err);
	doc_add(d, ph.p ? ph.p : "", ph.len);
	if (err)
		d->limit = 1;
	cls_buf_free(&ph);
}

/* Case-insensitive search for needle in s[0..n). */
static const char *
memcasestr(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (strncasecmp(s + i, needle, m) == 0)
			return s + i;
	return NULL;
}

/* R-CLS-2: the Subject tag and the X-NTA7516-Classify header. */
static void
check_subject_tag(struct cls_doc *d, const char *subj, size_t n)
{
	if (memcasestr(subj, n, "[veilig]") != NULL ||
	    memcasestr(subj, n, "[secure]") != NULL)
		d->forced_secure = 1;
}

static void
check_classify_header(struct cls_doc *d, const char *v, size_t n)
{
	while (n > 0 && isspace((unsigned char)*v)) {
		v++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n == 6 && strncasecmp(v, "secure", 6) == 0)
		d->forced_secure = 1;
	else if (n == 6 && strncasecmp(v, "normal", 6) == 0)
		d->forced_normal = 1;
}

/* Handle one unfolded header line name: value. */
static void
header_line(struct cls_doc *d, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	size_t nl, vl;
	const char *v;
	char *copy;

	if (colon == NULL)
		return;
	nl = (size_t)(colon - line);
	v = colon + 1;
	vl = n - nl - 1;
	if (nl == 7 && strncasecmp(line, "subject", 7) == 0) {
		size_t before = d->text.len;

		copy = malloc(vl + 1);
		if (copy == NULL) {
			d->nomem = 1;
			return;
		}
		memcpy(copy, v, vl);
		copy[vl] = '\0';
		add_phrase(d, copy, vl);
		explicit_bzero(copy, vl);
		free(copy);
		check_subject_tag(d, d->text.p ? d->text.p + before : "", d->text.len - before);
		doc_sep(d);
	} else if (nl == 18 && strncasecmp(line, "x-nta7516-classify", 18) == 0) {
		check_classify_header(d, v, vl);
	}
}

/* Header fields whose value is message text (Outlook copies the Subject). */
static int
is_text_field(const char *name, size_t n)
{
	return (n == 7 && strncasecmp(name, "subject", 7) == 0) ||
	    (n == 12 && strncasecmp(name, "thread-topic", 12) == 0);
}

/*
 * Blank, in libetpan's copy of the message, the values of the top-level
 * header fields that are message text.  read_headers has read them
 * already, and libetpan's header parsers leave pieces of what they parse
 * in memory they free unwiped.  Lengths and line ends stay, so no offset
 * moves.
 */
static void
blank_text_fields(char *msg, size_t len)
{
	size_t i = 0, end = len < CLS_MAX_HEADER ? len : CLS_MAX_HEADER;
	int blanking = 0;

	while (i < end) {
		size_t s = i, e;

		while (i < end && msg[i] != '\n')
			i++;
		e = i > s && msg[i - 1] == '\r' ? i - 1 : i;
		if (i < end)
			i++;
		if (e == s)
			return;			/* end of the header section */
		size_t from = s;
		if (msg[s] != ' ' && msg[s] != '\t') {
			const char *colon = memchr(msg + s, ':', e - s);
			blanking = colon != NULL && is_text_field(msg + s, (size_t)(colon - (msg + s)));
			from = colon != NULL ? (size_t)(colon - msg) + 1 : e;
		}
		if (blanking)
			memset(msg + from, ' ', e - from);
	}
}

/*
 * Walk the header section (up to the first empty line), unfolding
 * continuation lines into one bounded line buffer.
 */
static void
read_headers(struct cls_doc *d, const char *msg, size_t len)
{
	struct cls_buf line;
	size_t i = 0, end = len < CLS_MAX_HEADER ? len : CLS_MAX_HEADER;

	cls_buf_init(&line, 64u << 10);
	while (i < end) {
		size_t s = i, e;

		while (i < end && msg[i] != '\n')
			i++;
		e = i;
		if (i < end)
			i++;
		if (e > s && msg[e - 1] == '\r')
			e--;
		if (e == s)
			break;			/* end of header section */
		if ((msg[s] == ' ' || msg[s] == '\t') && line.len > 0) {
			if (cls_buf_add(&line, msg + s, e - s) != 0)
				d->limit = 1;
			continue;
		}
		if (line.len > 0)
			header_line(d, line.p, line.len);
		line.len = 0;
		if (cls_buf_add(&line, msg + s, e - s) != 0)
			d->limit = 1;
	}
	if (line.len > 0)
		header_line(d, line.p, line.len);
	cls_buf_free(&line);
}

/*
 * Cheap bounds before libetpan sees the message: the number of multipart
 * and message/rfc822 headers (the tree), and the nesting of parentheses
 * within a paragraph (libetpan parses RFC 5322 comments recursively, so
 * "((((..." in a header would overflow the stack).
 */
static int
too_complex(const char *msg, size_t len)
{
	int n = 0, paren = 0;

	for (size_t i = 0; i < len; i++) {
		char c = msg[i];

		if (c == '(') {
			if (++paren > CLS_MAX_PAREN)
				return 1;
			continue;
		}
		if (c == ')') {
			paren -= paren > 0;
			continue;
		}
		if (c == '\n' && i + 2 < len && (msg[i + 1] == '\n' ||
		    (msg[i + 1] == '\r' && msg[i + 2] == '\n')))
			paren = 0;
		if ((c != 'm' && c != 'M') || i + 10 > len)
			continue;
		if ((strncasecmp(msg + i, "multipart/", 10) == 0 ||
		    (i + 15 <= len && strncasecmp(msg + i, "message/rfc822", 14) == 0)) &&
		    ++n > CLS_MAX_MULTI)
			return 1;
	}
	return 0;
}

static void walk(struct cls_doc *d, struct mailmime *m, int depth);

static const char *
subtype_of(struct mailmime_content *ct)
{
	return ct != NULL && ct->ct_subtype != NULL ? ct->ct_subtype : "";
}

static int
ext_is(const char *name, const char *const *exts)
{
	const char *dot = name != NULL ? strrchr(name, '.') : NULL;

	if (dot == NULL)
		return 0;
	for (size_t i = 0; exts[i] != NULL; i++)
		if (strcasecmp(dot + 1, exts[i]) == 0)
			return 1;
	return 0;
}

/* An attachment we do not read: count it by kind, so the explanation can say so. */
static void
note_unread(struct cls_doc *d, struct mailmime_content *ct, const char *fname)
{
	static const char *const pdf[] = {"pdf", NULL};
	static const char *const office[] = {"doc", "docx", "xls", "xlsx", "ppt",
	    "pptx", "odt", "ods", "odp", "rtf", NULL};
	static const char *const img[] = {"jpg", "jpeg", "png", "gif", "tif",
	    "tiff", "bmp", "heic", "dcm", NULL};
	const char *sub = subtype_of(ct);
	int type = ct && ct->ct_type && ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE ?
	    ct->ct_type->tp_data.tp_discrete_type->dt_type : -1;

	if (strcasecmp(sub, "pdf") == 0 || ext_is(fname, pdf))
		d->att_pdf++;
	else if (strncasecmp(sub, "vnd.openxmlformats", 18) == 0 ||
	    strncasecmp(sub, "vnd.ms-", 7) == 0 || strcasecmp(sub, "msword") == 0 ||
	    strncasecmp(sub, "vnd.oasis", 9) == 0 || ext_is(fname, office))
		d->att_office++;
	else if (type == MAILMIME_DISCRETE_TYPE_IMAGE || ext_is(fname, img))
		d->att_image++;
	else
		d->att_other++;
}

/* Append decoded text of a text part, converting charset and HTML. */
static void
add_text_part(struct cls_doc *d, const char *sub, const char *cs,
    const char *data, size_t n)
{
	struct cls_buf utf, plain;
	int markup = strcasecmp(sub, "html") == 0 || strcasecmp(sub, "xml") == 0 ||
	    strcasecmp(sub, "xhtml+xml") == 0;

	if (!markup && is_utf8_name(cs)) {
		/* The common case needs no copy of its own. */
		doc_add(d, data, n);
		doc_sep(d);
		return;
	}
	cls_buf_init(&utf, CLS_MAX_TEXT);
	if (add_charset(&utf, cs, data, n) != 0) {
		d->limit = 1;
	}
	if (markup) {
		cls_buf_init(&plain, CLS_MAX_TEXT);
		if (cls_html_to_text(&plain, utf.p ? utf.p : "", utf.len) != 0)
			d->limit = 1;
		doc_add(d, plain.p ? plain.p : "", plain.len);
		cls_buf_free(&plain);
	} else {
		doc_add(d, utf.p ? utf.p : "", utf.len);
	}
	cls_buf_free(&utf);
	doc_sep(d);
}

/*
 * Is this part text we can read?  text parts are; so is a part without a
 * Content-Type (RFC 2045 5.2), and an octet-stream whose file name says
 * text (lab results travel as .csv, .xml, .hl7 or .edi).  *sub gets the
 * subtype that decides how to read it (markup or plain).
 */
static int
part_is_text(struct mailmime_content *ct, const char *fname, const char **sub)
{
	static const char *const plain[] = {"txt", "csv", "tsv", "hl7", "edi",
	    "json", "ics", "vcf", "md", "log", NULL};
	static const char *const markup[] = {"xml", "htm", "html", NULL};

	*sub = subtype_of(ct);
	if (ct == NULL || (ct->ct_type != NULL &&
	    ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	    ct->ct_type->tp_data.tp_discrete_type->dt_type == MAILMIME_DISCRETE_TYPE_TEXT))
		return 1;
	if (ext_is(fname, markup)) {
		*sub = "xml";
		return 1;
	}
	if (ext_is(fname, plain)) {
		*sub = "plain";
		return 1;
	}
	return 0;
}

/* Keep the (decoded) name of an attachment we cannot read, one per line. */
static void
keep_unread_name(struct cls_doc *d, const char *fname)
{
	size_t before = d->text.len;

	add_phrase(d, fname, strlen(fname));
	if (d->text.p != NULL && d->text.len > before &&
	    (cls_buf_add(&d->fnames, d->text.p + before, d->text.len - before) != 0 ||
	    cls_buf_add(&d->fnames, "\n", 1) != 0))
		d->limit = 1;
	/* Only kept apart: the name is in the text already. */
	d->text.len = before;
	if (d->text.p != NULL)
		d->text.p[before] = '\0';
}

static int
is_pdf(struct mailmime_content *ct, const char *fname)
{
	static const char *const pdf[] = {"pdf", NULL};

	return strcasecmp(subtype_of(ct), "pdf") == 0 || ext_is(fname, pdf);
}

/*
 * A PDF attachment: its text is read like a text part when it has words
 * (lab results, discharge letters); 1 when it was read.  Scans (images),
 * encrypted files and other filters give no text and stay unread (0).
 * One a limit cut short (a bomb, or a huge document) is read as far as it
 * went and counted unread too: what was not seen leans to health when the
 * rest of the message is about a person's medical matters (R-CLS-3),
 * without forcing every big vector drawing to health.
 */
static int
read_pdf(struct cls_doc *d, const struct mailmime_single_fields *sf,
    const struct mailmime_data *body)
{
	const char *raw = body->dt_data.dt_text.dt_data;
	size_t rawlen = body->dt_data.dt_text.dt_length, idx = 0, declen = 0;
	int enc = sf->fld_encoding ? sf->fld_encoding->enc_type : MAILMIME_MECHANISM_8BIT;
	char *dec = NULL;
	const char *pdf = raw;
	size_t pdflen = rawlen, room = d->text.max - d->text.len;
	struct cls_buf txt;
	int rc, read = 0;

	if (enc == MAILMIME_MECHANISM_BASE64 || enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		if (mailmime_part_parse(raw, rawlen, &idx, enc, &dec, &declen) != MAILIMF_NO_ERROR ||
		    dec == NULL)
			return 0;
		pdf = dec;
		pdflen = declen;
	}
	cls_buf_init(&txt, room < CLS_PDF_MAX_TEXT ? room : CLS_PDF_MAX_TEXT);
	rc = cls_pdf_text(&txt, (const unsigned char *)pdf, pdflen);
	if (rc < 0) {
		d->nomem = 1;
	} else if ((rc == 0 || rc == CLS_PDF_PARTIAL) &&
	    cls_pdf_letters(txt.p ? txt.p : "", txt.len) >= CLS_PDF_MIN_LETTERS) {
		doc_add(d, txt.p, txt.len);
		doc_sep(d);
		d->att_pdf_read++;
		read = 1;
		if (rc == CLS_PDF_PARTIAL) {
			d->att_pdf_partial++;
			d->att_pdf++;
		}
	}
	cls_buf_free(&txt);
	if (dec != NULL) {
		explicit_bzero(dec, declen);	/* the attachment, decoded */
		mailmime_decoded_part_free(dec);
	}
	return read;
}

static void
walk_single(struct cls_doc *d, struct mailmime *m)
{
	struct mailmime_single_fields sf;
	struct mailmime_data *body = m->mm_data.mm_single;
	struct mailmime_content *ct = m->mm_content_type;
	const char *fname, *sub;
	char *dec = NULL;
	size_t declen = 0, idx = 0;
	int enc;

	memset(&sf, 0, sizeof(sf));
	mailmime_single_fields_init(&sf, m->mm_mime_fields, ct);
	d->parts++;
	fname = sf.fld_disposition_filename ? sf.fld_disposition_filename : sf.fld_content_name;
	if (fname != NULL) {
		/* File names say a lot ("ontslagbrief_jansen.pdf"): read them. */
		add_phrase(d, fname, strlen(fname));
		doc_sep(d);
	}
	if (!part_is_text(ct, fname, &sub)) {
		if (is_pdf(ct, fname) && body != NULL && body->dt_type == MAILMIME_DATA_TEXT &&
		    read_pdf(d, &sf, body))
			return;
		note_unread(d, ct, fname);
		if (fname != NULL)
			keep_unread_name(d, fname);
		return;
	}
	if (body == NULL || body->dt_type != MAILMIME_DATA_TEXT)
		return;
	if (fname != NULL)
		d->att_text++;
	enc = sf.fld_encoding ? sf.fld_encoding->enc_type : MAILMIME_MECHANISM_8BIT;
	if (enc != MAILMIME_MECHANISM_BASE64 && enc != MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		/* 7bit, 8bit, binary: nothing to decode, read the bytes in place. */
		add_text_part(d, sub, sf.fld_content_charset,
		    body->dt_data.dt_text.dt_data, body->dt_data.dt_text.dt_length);
		return;
	}
	if (mailmime_part_parse(body->dt_data.dt_text.dt_data, body->dt_data.dt_text.dt_length,
	    &idx, enc, &dec, &declen) != MAILIMF_NO_ERROR || dec == NULL) {
		/* Undecodable: read it as it stands rather than not at all. */
		add_text_part(d, sub, sf.fld_content_charset,
		    body->dt_data.dt_text.dt_data, body->dt_data.dt_text.dt_length);
		return;
	}
	add_text_part(d, sub, sf.fld_content_charset, dec, declen);
	explicit_bzero(dec, declen);
	mailmime_decoded_part_free(dec);
}

/*
 * multipart/alternative: the versions say the same thing, so only one is
 * read: the one with the most text (the HTML version when the plain one is
 * a stub, and vice versa).
 */
static void
walk_alternative(struct cls_doc *d, struct mailmime *m, int depth)
{
	struct cls_doc best, cur;
	int have = 0;

	memset(&best, 0, sizeof(best));
	for (clistiter *it = clist_begin(m->mm_data.mm_multipart.mm_mp_list);
	    it != NULL; it = clist_next(it)) {
		memset(&cur, 0, sizeof(cur));
		cls_buf_init(&cur.text, d->text.max - d->text.len);
		cls_buf_init(&cur.fnames, 1u << 20);
		walk(&cur, clist_content(it), depth + 1);
		if (cur.fnames.len > 0 &&
		    cls_buf_add(&d->fnames, cur.fnames.p, cur.fnames.len) != 0)
			d->limit = 1;
		cls_buf_free(&cur.fnames);
		/* Limits and unread attachments of every version count. */
		d->limit |= cur.limit;
		d->nomem |= cur.nomem;
		d->att_pdf += cur.att_pdf;
		d->att_office += cur.att_office;
		d->att_image += cur.att_image;
		d->att_other += cur.att_other;
		d->att_text += cur.att_text;
		d->att_pdf_read += cur.att_pdf_read;
		d->att_pdf_partial += cur.att_pdf_partial;
		d->parts += cur.parts;
		if (!have || cur.text.len > best.text.len) {
			cls_buf_free(&best.text);
			best.text = cur.text;
			have = 1;
		} else {
			cls_buf_free(&cur.text);
		}
	}
	if (have)
		doc_add(d, best.text.p ? best.text.p : "", best.text.len);
	cls_buf_free(&best.text);
}

static void
walk_message(struct cls_doc *d, struct mailmime *m, int depth)
{
	struct mailimf_fields *f = m->mm_data.mm_message.mm_fields;

	if (f != NULL && depth > 0) {
		/* An attached message: its Subject is text too. */
		for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
			struct mailimf_field *fl = clist_content(it);

			if (fl->fld_type == MAILIMF_FIELD_SUBJECT && fl->fld_data.fld_subject &&
			    fl->fld_data.fld_subject->sbj_value) {
				const char *v = fl->fld_data.fld_subject->sbj_value;

				add_phrase(d, v, strlen(v));
				doc_sep(d);
			}
		}
	}
	if (m->mm_data.mm_message.mm_msg_mime != NULL)
		walk(d, m->mm_data.mm_message.mm_msg_mime, depth + 1);
}

static void
walk(struct cls_doc *d, struct mailmime *m, int depth)
{
	if (m == NULL)
		return;
	if (depth > CLS_MAX_DEPTH) {
		d->limit = 1;		/* not read: unsure, so fail safe */
		return;
	}
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		walk_single(d, m);
		break;
	case MAILMIME_MULTIPLE:
		if (strcasecmp(subtype_of(m->mm_content_type), "alternative") == 0) {
			walk_alternative(d, m, depth);
			break;
		}
		for (clistiter *it = clist_begin(m->mm_data.mm_multipart.mm_mp_list);
		    it != NULL; it = clist_next(it))
			walk(d, clist_content(it), depth + 1);
		break;
	case MAILMIME_MESSAGE:
		walk_message(d, m, depth);
		break;
	default:
		break;
	}
}

/* Without a usable MIME tree: read the body bytes as they are. */
static void
read_raw_body(struct cls_doc *d, const char *msg, size_t len)
{
	const char *b = memcasestr(msg, len < CLS_MAX_HEADER ? len : CLS_MAX_HEADER, "\n\n");
	const char *b2 = memcasestr(msg, len < CLS_MAX_HEADER ? len : CLS_MAX_HEADER, "\r\n\r\n");
	size_t off = 0;

	if (b2 != NULL && (b == NULL || b2 < b))
		off = (size_t)(b2 - msg) + 4;
	else if (b != NULL)
		off = (size_t)(b - msg) + 2;
	{
		int err = 0;

		add_latin1(&d->text, msg + off, len - off, &err);
		if (err)
			d->limit = 1;
	}
}

int
cls_doc_read(struct cls_doc *d, const char *msg, size_t len)
{
	struct mailmime *mime = NULL;
	size_t n = len < CLS_MAX_INPUT ? len : CLS_MAX_INPUT;
	size_t idx = 0;
	char *copy;

	memset(d, 0, sizeof(*d));
	cls_buf_init(&d->text, CLS_MAX_TEXT);
	cls_buf_init(&d->fnames, 1u << 20);
	if (len > CLS_MAX_INPUT)
		d->limit = 1;
	read_headers(d, msg, n);
	if (too_complex(msg, n)) {
		d->limit = 1;
		read_raw_body(d, msg, n);
		return d->nomem ? -1 : 0;
	}
	/* A private, NUL-terminated, bounded copy: libetpan reads, never writes ours. */
	copy = malloc(n + 1);
	if (copy == NULL) {
		d->nomem = 1;
		return -1;
	}
	memcpy(copy, msg, n);
	copy[n] = '\0';
	blank_text_fields(copy, n);
	if (mailmime_parse(copy, n, &idx, &mime) != MAILIMF_NO_ERROR || mime == NULL) {
		d->limit = 1;
		read_raw_body(d, copy, n);
	} else {
		walk(d, mime, 0);
		mailmime_free(mime);
	}
	explicit_bzero(copy, n);	/* the whole message */
	free(copy);
	return d->nomem ? -1 : 0;
}

void
cls_doc_free(struct cls_doc *d)
{
	cls_buf_free(&d->text);
	cls_buf_free(&d->fnames);
}
