/*
 * pdf.c - the words of a PDF attachment, for the classifier.
 *
 * Lab results and discharge letters travel as PDF, so the classifier reads
 * the text of ordinary generated PDFs.  This is no PDF object model: it
 * indexes "N G obj" objects (and those inside /ObjStm object streams),
 * decodes uncompressed and /FlateDecode streams, runs the text operators of
 * each page's content streams (and of Form XObjects) and maps glyph codes to
 * Unicode: simple fonts as WinAnsi, composite (Type0) fonts through their
 * /ToUnicode CMap.  What it cannot map it drops: never raw binary.
 *
 * A PDF comes from the sender, so everything is bounded (internal.h,
 * CLS_PDF_*): inflated bytes (total, at most CLS_PDF_INFLATE_RATIO times
 * the input, per stream), objects, streams, nesting, CMap entries, fonts,
 * text.  Scans move forward only (the "endobj"/"endstream" searches are
 * cached), so the work stays linear in the input plus the inflate budget.
 * Encrypted PDFs are not read (CLS_PDF_ENCRYPTED): the caller counts them
 * as unread, which leans the verdict to health (R-CLS-3).
 */
#include "msa/classify/internal.h"

#include "common/wipe.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

typedef unsigned char u8;

/* ---- lexer (objects and content streams share the syntax) ---- */

enum tk { T_EOF, T_NUM, T_STR, T_HEX, T_NAME, T_AOPEN, T_ACLOSE, T_DOPEN, T_DCLOSE, T_KW };

struct tok {
	enum tk t;
	const u8 *s;			/* T_STR/T_HEX: inside the delimiters; T_NAME: after '/' */
	size_t n;
	double num;
};

struct lx {
	const u8 *p, *e;
};

/*
 * Character classes by table: the lexer runs over every byte of the file
 * (object index) and of every content stream, so this is the hot path.
 * 1 white space, 2 delimiter, 0 regular.
 */
static const u8 cclass[256] = {
	[0] = 1, ['\t'] = 1, ['\n'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1,
	['('] = 2, [')'] = 2, ['<'] = 2, ['>'] = 2, ['['] = 2, [']'] = 2,
	['{'] = 2, ['}'] = 2, ['/'] = 2, ['%'] = 2,
};

static int
is_ws(u8 c)
{
	return cclass[c] == 1;
}

static int
is_regular(u8 c)
{
	return cclass[c] == 0;
}

static void
skip_ws(struct lx *l)
{
	while (l->p < l->e) {
		if (is_ws(*l->p)) {
			l->p++;
		} else if (*l->p == '%') {
			while (l->p < l->e && *l->p != '\n' && *l->p != '\r')
				l->p++;
		} else {
			break;
		}
	}
}

/* A number token; digits beyond what a double holds usefully are ignored. */
static int
parse_num(const u8 *s, size_t n, double *out)
{
	size_t i = 0;
	double v = 0, scale = 0.1;
	int neg = 0, digits = 0, dot = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < n; i++) {
		if (s[i] == '.' && !dot) {
			dot = 1;
		} else if (s[i] >= '0' && s[i] <= '9') {
			digits++;
			if (!dot) {
				if (v < 1e15)
					v = v * 10 + (s[i] - '0');
			} else {
				v += (s[i] - '0') * scale;
				scale *= 0.1;
			}
		} else {
			return -1;
		}
	}
	if (digits == 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static void
lex(struct lx *l, struct tok *t)
{
	const u8 *st;

	skip_ws(l);
	t->s = l->p;
	t->n = 0;
	t->num = 0;
	if (l->p >= l->e) {
		t->t = T_EOF;
		return;
	}
	st = l->p;
	switch (*l->p) {
	case '(': {
		int depth = 1;

		l->p++;
		t->s = l->p;
		while (l->p < l->e) {
			if (*l->p == '\\') {
				l->p += l->p + 1 < l->e ? 2 : 1;
				continue;
			}
			if (*l->p == '(')
				depth++;
			else if (*l->p == ')' && --depth == 0)
				break;
			l->p++;
		}
		t->t = T_STR;
		t->n = (size_t)(l->p - t->s);
		if (l->p < l->e)
			l->p++;
		return;
	}
	case '<':
		if (l->p + 1 < l->e && l->p[1] == '<') {
			l->p += 2;
			t->t = T_DOPEN;
			return;
		}
		l->p++;
		t->s = l->p;
		while (l->p < l->e && *l->p != '>')
			l->p++;
		t->t = T_HEX;
		t->n = (size_t)(l->p - t->s);
		if (l->p < l->e)
			l->p++;
		return;
	case '>':
		l->p += l->p + 1 < l->e && l->p[1] == '>' ? 2 : 1;
		t->t = T_DCLOSE;
		return;
	case '[':
		l->p++;
		t->t = T_AOPEN;
		return;
	case ']':
		l->p++;
		t->t = T_ACLOSE;
		return;
	case '{': case '}': case ')':
		/* PostScript braces and a stray ')': a one-byte keyword. */
		l->p++;
		t->t = T_KW;
		t->n = 1;
		return;
	case '/':
		l->p++;
		t->s = l->p;
		while (l->p < l->e && is_regular(*l->p))
			l->p++;
		t->t = T_NAME;
		t->n = (size_t)(l->p - t->s);
		return;
	default:
		break;
	}
	while (l->p < l->e && is_regular(*l->p))
		l->p++;
	t->n = (size_t)(l->p - st);
	t->t = parse_num(st, t->n, &t->num) == 0 ? T_NUM : T_KW;
}

static int
tok_is(const struct tok *t, enum tk type, const char *s)
{
	size_t n = strlen(s);

	return t->t == type && t->n == n && memcmp(t->s, s, n) == 0;
}

/* ---- values ---- */

enum vt { V_NONE, V_NUM, V_STR, V_HEX, V_NAME, V_ARRAY, V_DICT, V_REF, V_KW };

struct val {
	enum vt t;
	const u8 *s;			/* whole value ("<<...>>", "[...]"); name without '/' */
	size_t n;
	double num;
	uint32_t ref;
};

/*
 * Parse one value.  A keyword inside an array or dictionary (other than
 * true/false/null) ends the parse with an error: a broken object must not
 * run on into the next one.
 */
static int
parse_value(struct lx *l, struct val *v, int depth)
{
	struct tok t;
	const u8 *start;

	memset(v, 0, sizeof(*v));
	skip_ws(l);
	start = l->p;
	lex(l, &t);
	switch (t.t) {
	case T_NUM: {
		struct lx save = *l;
		struct tok g, r;

		v->t = V_NUM;
		v->num = t.num;
		v->s = start;
		v->n = (size_t)(l->p - start);
		/* "N G R" is a reference. */
		lex(l, &g);
		if (g.t == T_NUM && t.num >= 0 && t.num < 1e9) {
			lex(l, &r);
			if (tok_is(&r, T_KW, "R")) {
				v->t = V_REF;
				v->ref = (uint32_t)t.num;
				v->n = (size_t)(l->p - start);
				return 0;
			}
		}
		*l = save;
		return 0;
	}
	case T_STR: case T_HEX: case T_NAME:
		v->t = t.t == T_STR ? V_STR : t.t == T_HEX ? V_HEX : V_NAME;
		v->s = t.s;
		v->n = t.n;
		return 0;
	case T_KW:
		v->t = V_KW;
		v->s = t.s;
		v->n = t.n;
		return 0;
	case T_AOPEN: case T_DOPEN: {
		enum tk close = t.t == T_AOPEN ? T_ACLOSE : T_DCLOSE;

		if (depth >= CLS_PDF_MAX_DEPTH)
			return -1;
		for (;;) {
			struct val in;
			struct lx save;
			struct tok peek;

			skip_ws(l);
			save = *l;
			lex(l, &peek);
			if (peek.t == close)
				break;
			if (peek.t == T_EOF || peek.t == T_ACLOSE || peek.t == T_DCLOSE)
				return -1;
			*l = save;
			if (parse_value(l, &in, depth + 1) != 0)
				return -1;
			if (in.t == V_KW && !(in.n == 4 && memcmp(in.s, "true", 4) == 0) &&
			    !(in.n == 5 && memcmp(in.s, "false", 5) == 0) &&
			    !(in.n == 4 && memcmp(in.s, "null", 4) == 0))
				return -1;
		}
		v->t = t.t == T_AOPEN ? V_ARRAY : V_DICT;
		v->s = start;
		v->n = (size_t)(l->p - start);
		return 0;
	}
	default:
		return -1;
	}
}

/* The value of key (without '/') in dictionary d; 0 or -1.  Callers use dict_get(). */
static int
dict_get_raw(const struct val *d, const char *key, struct val *out)
{
	struct lx l;
	struct tok t;
	size_t kn = strlen(key);

	if (d == NULL || d->t != V_DICT)
		return -1;
	l.p = d->s;
	l.e = d->s + d->n;
	lex(&l, &t);
	if (t.t != T_DOPEN)
		return -1;
	for (;;) {
		struct val v;

		lex(&l, &t);
		if (t.t != T_NAME)
			return -1;
		if (parse_value(&l, &v, 1) != 0)
			return -1;
		if (t.n == kn && memcmp(t.s, key, kn) == 0) {
			*out = v;
			return 0;
		}
	}
}

static int
name_is(const struct val *v, const char *name)
{
	size_t n = strlen(name);

	return v->t == V_NAME && v->n == n && memcmp(v->s, name, n) == 0;
}

/* ---- the document ---- */

struct pobj {
	uint32_t num, order;
	struct val v;			/* the object's value */
	const u8 *sd;			/* stream data (raw), when a stream */
	size_t sn;
	int stream;
};

struct cmap_ent {
	uint32_t lo, hi;
	uint32_t cp[4];
	uint8_t ncp;
};

/* A simple font's /Differences: code -> UTF-8 of its glyph name. */
struct font_diff {
	char s[256][8];
	uint8_t len[256];		/* 0 not listed (base encoding), DIFF_DROP unknown name */
};
#define DIFF_DROP 0xff

struct font {
	const u8 *key;			/* the font dictionary's bytes: identity */
	int type0;
	int macroman;			/* simple font, /BaseEncoding /MacRomanEncoding */
	int nbytes;			/* code length: 1 simple, 2 Type0 (unless the CMap says 1) */
	struct cmap_ent *map;
	size_t nmap;
	struct font_diff *diff;		/* NULL without /Differences */
};

struct pdf {
	const u8 *b;
	size_t len;
	struct pobj *obj;
	size_t nobj, capobj;
	uint32_t order;
	size_t budget;			/* decoded stream bytes still allowed */
	size_t work;			/* dictionary bytes still to be parsed by lookups */
	int streams;			/* streams decoded so far */
	int stop;			/* a limit was hit: keep what we have */
	int limited;			/* some limit cut something off (stop or not) */
	int nomem;
	u8 **bufs;			/* decoded object streams, alive while objects point in */
	size_t nbufs;
	struct font *fonts;
	size_t nfonts;
	size_t cmap_total;
	struct cls_buf *out;
	/* Forward-only searches: the last hit and where it was searched from. */
	const u8 *endobj_at, *endobj_from;
	const u8 *endstream_at, *endstream_from;
};

/*
 * dict_get_raw, counted against the work budget: many lookups in one big
 * dictionary (a Tf per word against a huge /Font) must not add up beyond a
 * small multiple of the input.
 */
static int
dict_get(struct pdf *x, const struct val *d, const char *key, struct val *out)
{
	if (d == NULL || d->t != V_DICT)
		return -1;
	if (d->n > x->work) {
		x->work = 0;
		x->stop = 1;
		return -1;
	}
	x->work -= d->n;
	return dict_get_raw(d, key, out);
}

static const u8 *
find_fwd(struct pdf *x, const u8 *from, const char *what, const u8 **at, const u8 **cached_from)
{
	size_t n = strlen(what);

	/* A hit at or after from is still the next one; "none" stays none. */
	if (*cached_from != NULL && *cached_from <= from && (*at == NULL || *at >= from))
		return *at;
	*at = memmem(from, (size_t)(x->b + x->len - from), what, n);
	*cached_from = from;
	return *at;
}

static int
add_obj(struct pdf *x, uint32_t num, const struct val *v, const u8 *sd, size_t sn, int stream)
{
	struct pobj *o;

	if (x->nobj >= CLS_PDF_MAX_OBJS) {
		x->stop = 1;
		return -1;
	}
	if (x->nobj == x->capobj) {
		size_t nc = x->capobj ? x->capobj * 2 : 64;
		struct pobj *no;

		if (nc > CLS_PDF_MAX_OBJS)
			nc = CLS_PDF_MAX_OBJS;
		no = realloc(x->obj, nc * sizeof(*no));
		if (no == NULL) {
			x->nomem = 1;
			return -1;
		}
		x->obj = no;
		x->capobj = nc;
	}
	o = &x->obj[x->nobj++];
	o->num = num;
	o->order = x->order++;
	o->v = *v;
	o->sd = sd;
	o->sn = sn;
	o->stream = stream;
	return 0;
}

static int
obj_cmp(const void *a, const void *b)
{
	const struct pobj *x = a, *y = b;

	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * How many of the n elements at base (size bytes each, sorted by the
 * uint32_t at offset off) have a key <= k: the index after the last such.
 */
static size_t
count_le(const void *base, size_t n, size_t size, size_t off, uint32_t k)
{
	const unsigned char *b = base;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t v;

		memcpy(&v, b + mid * size + off, sizeof(v));
		if (v <= k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The object with number num (the last definition: incremental updates). */
static const struct pobj *
lookup(const struct pdf *x, uint32_t num)
{
	size_t lo = count_le(x->obj, x->nobj, sizeof(*x->obj), offsetof(struct pobj, num), num);

	return lo > 0 && x->obj[lo - 1].num == num ? &x->obj[lo - 1] : NULL;
}

/* Follow references (bounded): the value itself when it is none. */
static const struct pobj *
resolve(const struct pdf *x, struct val *v)
{
	const struct pobj *o = NULL;

	for (int i = 0; v->t == V_REF && i < CLS_PDF_MAX_DEPTH; i++) {
		o = lookup(x, v->ref);
		if (o == NULL) {
			v->t = V_NONE;
			return NULL;
		}
		*v = o->v;
	}
	return o;
}

/* Digits backwards from p (exclusive); the start, or NULL. */
static const u8 *
digits_back(const u8 *b, const u8 *p)
{
	const u8 *q = p;

	while (q > b && q[-1] >= '0' && q[-1] <= '9')
		q--;
	return q < p ? q : NULL;
}

/* "N G obj" ending at o (the 'o' of obj); the object number, or -1. */
static long
obj_header(const struct pdf *x, const u8 *o)
{
	const u8 *p = o, *g, *n;
	long num = 0;

	if (p == x->b || !is_ws(p[-1]))
		return -1;
	while (p > x->b && is_ws(p[-1]))
		p--;
	if ((g = digits_back(x->b, p)) == NULL || g == x->b || !is_ws(g[-1]))
		return -1;
	p = g;
	while (p > x->b && is_ws(p[-1]))
		p--;
	if ((n = digits_back(x->b, p)) == NULL || (n > x->b && is_regular(n[-1])))
		return -1;
	if (p - n > 9)
		return -1;
	for (; n < p; n++)
		num = num * 10 + (*n - '0');
	return num;
}

/* The data of a stream whose keyword "stream" ends at p. */
static void
stream_extent(struct pdf *x, const struct val *dict, const u8 *p, const u8 **sd, size_t *sn)
{
	const u8 *e = x->b + x->len, *end;
	struct val lv;

	/* CRLF or LF after the keyword (a lone CR too, from sloppy writers). */
	if (p < e && *p == '\r')
		p++;
	if (p < e && *p == '\n')
		p++;
	*sd = p;
	if (dict_get(x, dict, "Length", &lv) == 0 && lv.t == V_NUM && lv.num >= 0 &&
	    lv.num <= (double)(size_t)(e - p)) {
		const u8 *q = p + (size_t)lv.num;

		while (q < e && is_ws(*q))
			q++;
		if ((size_t)(e - q) >= 9 && memcmp(q, "endstream", 9) == 0) {
			*sn = (size_t)lv.num;
			return;
		}
	}
	/* A wrong or indirect /Length: the next "endstream" ends the data. */
	end = find_fwd(x, p, "endstream", &x->endstream_at, &x->endstream_from);
	if (end == NULL) {
		*sn = (size_t)(e - p);
		return;
	}
	if (end > p && end[-1] == '\n')
		end--;
	if (end > p && end[-1] == '\r')
		end--;
	*sn = (size_t)(end - p);
}

/* Index every "N G obj" of the file, skipping over stream data. */
static void
index_file(struct pdf *x)
{
	const u8 *p = x->b, *e = x->b + x->len;

	while (p < e && !x->stop && !x->nomem) {
		const u8 *o = memmem(p, (size_t)(e - p), "obj", 3), *wend;
		long num;
		struct lx l;
		struct val v;
		struct tok t;

		if (o == NULL)
			break;
		p = o + 3;
		if ((p < e && is_regular(*p)) || (num = obj_header(x, o)) < 0)
			continue;
		/* The value ends before the next "endobj": a broken one cannot run on. */
		wend = find_fwd(x, p, "endobj", &x->endobj_at, &x->endobj_from);
		l.p = p;
		l.e = wend != NULL ? wend : e;
		if (parse_value(&l, &v, 0) != 0) {
			p = l.p > p ? l.p : p;
			continue;
		}
		p = l.p;
		l.e = e;
		lex(&l, &t);
		if (v.t == V_DICT && tok_is(&t, T_KW, "stream")) {
			const u8 *sd;
			size_t sn;

			stream_extent(x, &v, l.p, &sd, &sn);
			if (add_obj(x, (uint32_t)num, &v, sd, sn, 1) != 0)
				break;
			p = sd + sn;
			continue;
		}
		if (add_obj(x, (uint32_t)num, &v, NULL, 0, 0) != 0)
			break;
	}
}

/* ---- streams ---- */

/* Inflate in[0..n) into a new buffer, bounded by the budgets. */
static int
inflate_data(struct pdf *x, const u8 *in, size_t n, u8 **out, size_t *outn)
{
	z_stream z;
	size_t cap = x->budget < CLS_PDF_MAX_STREAM ? x->budget : CLS_PDF_MAX_STREAM;
	size_t size, have = 0;
	u8 *buf;
	int rc;

	*out = NULL;
	*outn = 0;
	if (cap == 0) {
		x->stop = 1;
		return -1;
	}
	size = n < cap / 4 ? (n * 4 > 4096 ? n * 4 : 4096) : cap;
	if (size > cap)
		size = cap;
	buf = malloc(size);
	if (buf == NULL) {
		x->nomem = 1;
		return -1;
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		free(buf);
		x->nomem = 1;
		return -1;
	}
	z.next_in = (u8 *)(uintptr_t)in;	/* zlib does not write its input */
	z.avail_in = n > UINT_MAX ? UINT_MAX : (uInt)n;
	for (;;) {
		z.next_out = buf + have;
		z.avail_out = (uInt)(size - have);
		rc = inflate(&z, Z_NO_FLUSH);
		have = size - z.avail_out;
		if (rc != Z_OK)
			break;		/* the end, or broken data: keep what came out */
		if (z.avail_out == 0) {
			size_t ns = size * 2 > cap ? cap : size * 2;
			u8 *nb;

			/*
			 * The cap: a bomb, or just big.  What came out is still
			 * read; an empty budget stops the next stream.
			 */
			if (size == cap) {
				x->limited = 1;
				break;
			}
			/* Page text: the old block is wiped, never left behind. */
			nb = wipe_grow(buf, have, ns);
			if (nb == NULL) {
				x->nomem = 1;
				break;
			}
			buf = nb;
			size = ns;
		} else if (z.avail_in == 0) {
			break;		/* truncated */
		}
	}
	(void)inflateEnd(&z);	/* only frees; its result says nothing we need */
	x->budget -= have;
	if (x->nomem) {
		wipe_free(buf, have);
		return -1;
	}
	*out = buf;
	*outn = have;
	return 0;
}

/*
 * The decoded data of stream object o: *d and *n, with *owned to free.  -1 for
 * streams we do not read: images, other filters, over the limits.
 */
static int
stream_data(struct pdf *x, const struct pobj *o, const u8 **d, size_t *n, u8 **owned)
{
	struct val f, s;
	int flate = 0;

	*owned = NULL;
	if (!o->stream || x->stop || x->nomem)
		return -1;
	if (dict_get(x, &o->v, "Subtype", &s) == 0 && name_is(&s, "Image"))
		return -1;
	if (dict_get(x, &o->v, "Filter", &f) == 0) {
		resolve(x, &f);
		if (f.t == V_ARRAY) {
			struct lx l = {f.s + 1, f.s + f.n};
			struct val a, b;

			/* [/FlateDecode] only: a second filter (DCT, JBIG2...) is an image. */
			if (parse_value(&l, &a, 1) != 0 || !name_is(&a, "FlateDecode"))
				return -1;
			skip_ws(&l);
			if (parse_value(&l, &b, 1) == 0 && b.t != V_KW)
				return -1;
			flate = 1;
		} else if (name_is(&f, "FlateDecode")) {
			flate = 1;
		} else if (f.t != V_NONE) {
			return -1;
		}
	}
	if (++x->streams > CLS_PDF_MAX_STREAMS) {
		x->stop = 1;
		return -1;
	}
	if (!flate) {
		/* Raw data counts too: one stream shown by thousands of pages. */
		*d = o->sd;
		*n = o->sn < x->budget ? o->sn : x->budget;
		x->budget -= *n;
		if (*n < o->sn)
			x->limited = 1;
		return *n > 0 || o->sn == 0 ? 0 : -1;
	}
	if (inflate_data(x, o->sd, o->sn, owned, n) != 0)
		return -1;
	*d = *owned;
	return 0;
}

static int
keep_buf(struct pdf *x, u8 *b)
{
	u8 **nb = realloc(x->bufs, (x->nbufs + 1) * sizeof(*nb));

	if (nb == NULL) {
		x->nomem = 1;
		return -1;
	}
	x->bufs = nb;
	x->bufs[x->nbufs++] = b;
	return 0;
}

/* Object streams (PDF 1.5): "num off num off ..." then the objects from /First. */
static void
index_objstm(struct pdf *x, const struct pobj *o)
{
	struct val nv, fv;
	const u8 *d;
	size_t n, first, nobj;
	u8 *owned;
	struct lx hl;

	if (dict_get(x, &o->v, "N", &nv) != 0 || dict_get(x, &o->v, "First", &fv) != 0)
		return;
	resolve(x, &nv);
	resolve(x, &fv);
	if (nv.t != V_NUM || fv.t != V_NUM || nv.num < 0 || fv.num < 0 ||
	    stream_data(x, o, &d, &n, &owned) != 0)
		return;
	if (owned != NULL && keep_buf(x, owned) != 0) {
		free(owned);
		return;
	}
	if (fv.num > (double)n)
		return;
	first = (size_t)fv.num;
	nobj = nv.num > CLS_PDF_MAX_OBJS ? CLS_PDF_MAX_OBJS : (size_t)nv.num;
	hl.p = d;
	hl.e = d + first;
	for (size_t i = 0; i < nobj && !x->stop && !x->nomem; i++) {
		struct tok tn, to;
		struct lx l;
		struct val v;

		lex(&hl, &tn);
		lex(&hl, &to);
		if (tn.t != T_NUM || to.t != T_NUM || tn.num < 0 || to.num < 0 ||
		    to.num >= (double)(n - first))
			break;
		l.p = d + first + (size_t)to.num;
		l.e = d + n;
		{
			/* An object ends where the next begins: broken ones cannot run on. */
			struct lx peek = hl;
			struct tok pn, po;

			lex(&peek, &pn);
			lex(&peek, &po);
			if (po.t == T_NUM && po.num >= 0 && po.num < (double)(n - first))
				l.e = po.num > to.num ? d + first + (size_t)po.num : l.p;
		}
		if (parse_value(&l, &v, 0) == 0 && tn.num < 4e9)
			(void)add_obj(x, (uint32_t)tn.num, &v, NULL, 0, 0);	/* a full table sets x->stop */
	}
}

/* ---- fonts and CMaps ---- */

/*
 * Hex digits from s[*i] into out until max bytes are out or the input
 * ends (other bytes skipped); *i moves past what was read, so a long
 * string is decoded in pieces.  An odd last digit counts as d0.
 */
static size_t
hex_piece(const u8 *s, size_t n, size_t *pi, u8 *out, size_t max)
{
	size_t k = 0, i = *pi;
	int hi = -1;

	for (; i < n && k < max; i++) {
		int v = cls_hexval(s[i]);

		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[k++] = (u8)(hi << 4 | v);
			hi = -1;
		}
	}
	/* Only at the end of the input: a full out leaves no digit pending. */
	if (hi >= 0)
		out[k++] = (u8)(hi << 4);
	*pi = i;
	return k;
}

/* All hex digits of s[0..n) into out (at most max bytes). */
static size_t
hex_bytes(const u8 *s, size_t n, u8 *out, size_t max)
{
	size_t i = 0;

	return hex_piece(s, n, &i, out, max);
}

/* A CMap source code (1..4 bytes) as a number; its length in *nb. */
static int
cmap_code(const struct tok *t, uint32_t *code, int *nb)
{
	u8 b[4];
	size_t k;

	if (t->t != T_HEX || (k = hex_bytes(t->s, t->n, b, sizeof(b))) == 0)
		return -1;
	*code = 0;
	for (size_t i = 0; i < k; i++)
		*code = *code << 8 | b[i];
	*nb = (int)k;
	return 0;
}

/* A UTF-16BE destination into up to 4 code points. */
static int
cmap_dst(const struct tok *t, struct cmap_ent *e)
{
	u8 b[16];
	size_t k;

	e->ncp = 0;
	if (t->t != T_HEX)
		return -1;
	k = hex_bytes(t->s, t->n, b, sizeof(b));
	for (size_t i = 0; i + 1 < k && e->ncp < 4; i += 2) {
		uint32_t u = (uint32_t)b[i] << 8 | b[i + 1];

		if (u >= 0xd800 && u < 0xdc00 && i + 3 < k) {
			uint32_t lo = (uint32_t)b[i + 2] << 8 | b[i + 3];

			if (lo >= 0xdc00 && lo < 0xe000) {
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			}
		}
		e->cp[e->ncp++] = u;
	}
	return e->ncp > 0 ? 0 : -1;
}

static int
cmap_add(struct pdf *x, struct font *f, size_t *cap, const struct cmap_ent *e)
{
	/* Full: this CMap keeps what it has, and the text is still read. */
	if (x->cmap_total >= CLS_PDF_MAX_CMAP) {
		x->limited = 1;
		return -1;
	}
	if (f->nmap == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct cmap_ent *nm = realloc(f->map, nc * sizeof(*nm));

		if (nm == NULL) {
			x->nomem = 1;
			return -1;
		}
		f->map = nm;
		*cap = nc;
	}
	f->map[f->nmap++] = *e;
	x->cmap_total++;
	return 0;
}

static int
cmap_cmp(const void *a, const void *b)
{
	const struct cmap_ent *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* bfchar and bfrange sections of a ToUnicode CMap. */
static void
parse_cmap(struct pdf *x, struct font *f, const u8 *d, size_t n)
{
	struct lx l = {d, d + n};
	struct tok t;
	size_t cap = 0;
	int minbytes = 4;

	for (lex(&l, &t); t.t != T_EOF && !x->stop && !x->nomem; lex(&l, &t)) {
		if (tok_is(&t, T_KW, "begincodespacerange")) {
			struct tok a, b;
			uint32_t c;
			int nb;

			for (;;) {
				lex(&l, &a);
				if (a.t != T_HEX)
					break;
				lex(&l, &b);
				if (cmap_code(&a, &c, &nb) == 0 && nb < minbytes)
					minbytes = nb;
			}
		} else if (tok_is(&t, T_KW, "beginbfchar")) {
			for (;;) {
				struct tok a, b;
				struct cmap_ent e;
				int nb;

				lex(&l, &a);
				if (a.t != T_HEX)
					break;
				lex(&l, &b);
				if (cmap_code(&a, &e.lo, &nb) != 0 || cmap_dst(&b, &e) != 0)
					continue;
				e.hi = e.lo;
				if (cmap_add(x, f, &cap, &e) != 0)
					break;
			}
		} else if (tok_is(&t, T_KW, "beginbfrange")) {
			for (;;) {
				struct tok a, b, c;
				struct cmap_ent e;
				uint32_t lo, hi;
				int nb, nb2;

				lex(&l, &a);
				if (a.t != T_HEX)
					break;
				lex(&l, &b);
				lex(&l, &c);
				if (cmap_code(&a, &lo, &nb) != 0 || cmap_code(&b, &hi, &nb2) != 0 ||
				    hi < lo || hi - lo > 0xffff)
					continue;
				if (c.t == T_HEX) {
					if (cmap_dst(&c, &e) != 0)
						continue;
					e.lo = lo;
					e.hi = hi;
					if (cmap_add(x, f, &cap, &e) != 0)
						break;
					continue;
				}
				if (c.t != T_AOPEN)
					continue;
				/* [<dst> <dst> ...]: one destination per code. */
				for (uint32_t code = lo;; code++) {
					struct tok dt;

					lex(&l, &dt);
					if (dt.t != T_HEX)
						break;
					if (code > hi || cmap_dst(&dt, &e) != 0)
						continue;
					e.lo = e.hi = code;
					if (cmap_add(x, f, &cap, &e) != 0)
						break;
				}
			}
		}
	}
	if (f->nmap > 1)
		qsort(f->map, f->nmap, sizeof(*f->map), cmap_cmp);
	if (f->type0 && minbytes == 1)
		f->nbytes = 1;
}

/* The entries of a /Differences array: [code /name /name ... code /name ...]. */
static void
parse_differences(struct pdf *x, struct font *f, const struct val *arr)
{
	struct lx l = {.p = arr->s, .e = arr->s + arr->n};
	struct tok t;
	long code = -1;

	if ((f->diff = calloc(1, sizeof(*f->diff))) == NULL) {
		x->nomem = 1;
		return;
	}
	lex(&l, &t);		/* the '[' */
	for (lex(&l, &t); t.t == T_NUM || t.t == T_NAME; lex(&l, &t)) {
		if (t.t == T_NUM) {
			code = t.num >= 0 && t.num < 256 ? (long)t.num : -1;
			continue;
		}
		if (code < 0 || code > 255)
			continue;
		size_t k = cls_pdf_glyph_utf8(t.s, t.n, f->diff->s[code]);
		f->diff->len[code] = k > 0 ? (uint8_t)k : DIFF_DROP;
		code++;
	}
}

/* A simple font's /Encoding: a base encoding name or a dictionary. */
static void
load_encoding(struct pdf *x, struct font *f, const struct val *fd)
{
	struct val enc, base, diffs;

	if (dict_get(x, fd, "Encoding", &enc) != 0)
		return;
	(void)resolve(x, &enc);
	if (name_is(&enc, "MacRomanEncoding")) {
		f->macroman = 1;
		return;
	}
	if (enc.t != V_DICT)
		return;
	if (dict_get(x, &enc, "BaseEncoding", &base) == 0 && name_is(&base, "MacRomanEncoding"))
		f->macroman = 1;
	if (dict_get(x, &enc, "Differences", &diffs) == 0) {
		(void)resolve(x, &diffs);
		if (diffs.t == V_ARRAY)
			parse_differences(x, f, &diffs);
	}
}

/* The font dictionary fd (resolved): loaded once per PDF. */
static const struct font *
get_font(struct pdf *x, const struct val *fd)
{
	struct font *f;
	struct val st, tu;

	if (fd->t != V_DICT)
		return NULL;
	for (size_t i = 0; i < x->nfonts; i++)
		if (x->fonts[i].key == fd->s)
			return &x->fonts[i];
	if (x->nfonts >= CLS_PDF_MAX_FONTS) {
		x->limited = 1;
		return NULL;
	}		/* default encoding from here on */
	/* Allocated once at full size: a font pointer stays valid. */
	if (x->fonts == NULL && (x->fonts = calloc(CLS_PDF_MAX_FONTS, sizeof(*x->fonts))) == NULL) {
		x->nomem = 1;
		return NULL;
	}
	f = &x->fonts[x->nfonts++];
	memset(f, 0, sizeof(*f));
	f->key = fd->s;
	f->type0 = dict_get(x, fd, "Subtype", &st) == 0 && name_is(&st, "Type0");
	f->nbytes = f->type0 ? 2 : 1;
	if (dict_get(x, fd, "ToUnicode", &tu) == 0) {
		const struct pobj *o = resolve(x, &tu);
		const u8 *d;
		size_t n;
		u8 *owned;

		if (o != NULL && stream_data(x, o, &d, &n, &owned) == 0) {
			parse_cmap(x, f, d, n);
			free(owned);
		}
	}
	if (!f->type0)
		load_encoding(x, f, fd);
	return f;
}

/* ---- text out ---- */

/* Windows-1252 0x80..0x9f (0 = undefined); 0xa0..0xff are Latin-1. */
static const uint16_t cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* Append code point u as UTF-8; controls and non-characters dropped. */
static int
put_cp(struct cls_buf *b, uint32_t u)
{
	char s[4];

	if (u == '\t' || u == '\n' || u == '\r')
		u = ' ';
	if (u < 0x20 || (u >= 0x7f && u < 0xa0) || (u >= 0xd800 && u < 0xe000) ||
	    u == 0xfeff || u == 0xfffd || u == 0xfffe || u == 0xffff || u > 0x10ffff)
		return 0;
	return cls_buf_add(b, s, cls_utf8_put(u, s));
}

static uint32_t
winansi(u8 c)
{
	return c >= 0x80 && c < 0xa0 ? cp1252[c - 0x80] : c;
}

static const struct cmap_ent *
cmap_find(const struct font *f, uint32_t code)
{
	size_t lo = count_le(f->map, f->nmap, sizeof(*f->map), offsetof(struct cmap_ent, lo), code);

	/* The last range starting at or below code, or a few before it (overlaps). */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
		if (f->map[i - 1].hi >= code)
			return &f->map[i - 1];
	return NULL;
}

/* Decoded string bytes s[0..n) in font f, as UTF-8 into b. */
static int
put_glyphs(struct cls_buf *b, const struct font *f, const u8 *s, size_t n)
{
	int nb = f != NULL ? f->nbytes : 1;

	for (size_t i = 0; i + (size_t)nb <= n; i += (size_t)nb) {
		uint32_t code = nb == 2 ? (uint32_t)s[i] << 8 | s[i + 1] : s[i];
		const struct cmap_ent *e = f != NULL && f->nmap > 0 ? cmap_find(f, code) : NULL;

		if (e != NULL) {
			for (int k = 0; k < e->ncp; k++) {
				uint32_t u = e->cp[k];

				/* A range adds its offset to the last code point. */
				if (k == e->ncp - 1)
					u += code - e->lo;
				if (put_cp(b, u) != 0)
					return -1;
			}
		} else if (f != NULL && f->diff != NULL && f->diff->len[s[i]] != 0) {
			uint8_t k = f->diff->len[s[i]];

			if (k != DIFF_DROP && cls_buf_add(b, f->diff->s[s[i]], k) != 0)
				return -1;
		} else if (f == NULL || !f->type0) {
			uint32_t u = f != NULL && f->macroman ? cls_pdf_macroman(s[i]) : winansi(s[i]);

			if (put_cp(b, u) != 0)
				return -1;
		}
		/* A composite font without a mapping: glyph ids mean nothing, drop. */
	}
	return 0;
}

/*
 * A literal string's bytes after escapes, from s[*i] into out until max
 * bytes are out or the input ends; *i moves past what was read, so a long
 * string is decoded in pieces without splitting an escape.
 */
static size_t
lit_bytes(const u8 *s, size_t n, size_t *pi, u8 *out, size_t max)
{
	size_t k = 0, i = *pi;

	for (; i < n && k < max; i++) {
		u8 c = s[i];

		if (c == '\r') {
			/* An end of line in a string is one '\n'. */
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
			out[k++] = '\n';
			continue;
		}
		if (c != '\\' || i + 1 >= n) {
			out[k++] = c;
			continue;
		}
		c = s[++i];
		switch (c) {
		case 'n': out[k++] = '\n'; break;
		case 'r': out[k++] = '\r'; break;
		case 't': out[k++] = '\t'; break;
		case 'b': out[k++] = '\b'; break;
		case 'f': out[k++] = '\f'; break;
		case '\r':
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
			break;		/* a line continuation */
		case '\n':
			break;
		default:
			if (c >= '0' && c <= '7') {
				unsigned v = (unsigned)(c - '0');

				for (int d = 0; d < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; d++)
					v = v * 8 + (unsigned)(s[++i] - '0');
				out[k++] = (u8)v;
			} else {
				out[k++] = c;	/* \( \) \\ and unknown: the character */
			}
		}
	}
	*pi = i;
	return k;
}

/* ---- content streams ---- */

struct ctx {
	struct pdf *x;
	struct val res;			/* /Resources dictionary (or V_NONE) */
	const struct font *font;
	struct cls_buf pend;		/* text of the strings since the last operator */
	int need_nl, need_space;
	double line_y;
	int have_y;
	struct val fontname;
	double nums[6];
	int nnum;
	/* Names already resolved in this stream: a Tf per word stays cheap. */
	struct { const u8 *s; size_t n; const struct font *f; } fcache[CLS_PDF_FONT_CACHE];
	int nfcache;
};

static void
out_add(struct pdf *x, const char *s, size_t n)
{
	if (cls_buf_add(x->out, s, n) != 0) {
		if (x->out->len < x->out->max)
			x->nomem = 1;
		x->stop = 1;
	}
}

/* The pending text goes out, after the separator the operators asked for. */
static void
flush(struct ctx *c)
{
	struct cls_buf *o = c->x->out;

	if (c->pend.len > 0 && o->len > 0 && o->p[o->len - 1] != '\n' && o->p[o->len - 1] != ' ') {
		if (c->need_nl)
			out_add(c->x, "\n", 1);
		else if (c->need_space)
			out_add(c->x, " ", 1);
	}
	if (c->pend.len > 0) {
		out_add(c->x, c->pend.p, c->pend.len);
		c->need_nl = c->need_space = 0;
	}
	c->pend.len = 0;
}

static void
pend_string(struct ctx *c, const struct tok *t)
{
	u8 tmp[1024];

	/* Pieces of an even byte count: 2-byte codes stay whole. */
	for (size_t i = 0; i < t->n;) {
		size_t k = t->t == T_HEX ? hex_piece(t->s, t->n, &i, tmp, sizeof(tmp) - 2) :
		    lit_bytes(t->s, t->n, &i, tmp, sizeof(tmp) - 2);

		if (put_glyphs(&c->pend, c->font, tmp, k) != 0) {
			if (c->pend.len < c->pend.max)
				c->x->nomem = 1;
			c->x->limited = 1;
			return;
		}
	}
}

/* Tf: /Name size -> the font from /Resources /Font. */
static void
set_font(struct ctx *c)
{
	struct val fonts, fd;
	char key[128];

	c->font = NULL;
	if (c->fontname.t != V_NAME || c->fontname.n >= sizeof(key))
		return;
	for (int i = 0; i < c->nfcache; i++)
		if (c->fcache[i].n == c->fontname.n &&
		    memcmp(c->fcache[i].s, c->fontname.s, c->fontname.n) == 0) {
			c->font = c->fcache[i].f;
			return;
		}
	memcpy(key, c->fontname.s, c->fontname.n);
	key[c->fontname.n] = '\0';
	if (dict_get(c->x, &c->res, "Font", &fonts) != 0)
		return;
	resolve(c->x, &fonts);
	if (dict_get(c->x, &fonts, key, &fd) != 0)
		return;
	resolve(c->x, &fd);
	c->font = get_font(c->x, &fd);
	if (c->nfcache < CLS_PDF_FONT_CACHE) {
		c->fcache[c->nfcache].s = c->fontname.s;
		c->fcache[c->nfcache].n = c->fontname.n;
		c->fcache[c->nfcache].f = c->font;
		c->nfcache++;
	}
}

/* Inline image data: from after "ID" to "EI" between white space. */
static void
skip_inline(struct lx *l)
{
	const u8 *p = l->p;

	while (p + 2 <= l->e) {
		const u8 *q = memmem(p, (size_t)(l->e - p), "EI", 2);

		if (q == NULL)
			break;
		if (q > l->p && is_ws(q[-1]) && (q + 2 == l->e || is_ws(q[2]))) {
			l->p = q + 2;
			return;
		}
		p = q + 1;
	}
	l->p = l->e;
}

static void
operator(struct ctx *c, struct lx *l, const struct tok *t)
{
	const u8 *s = t->s;
	size_t n = t->n;

	if (n == 2 && s[0] == 'T') {
		switch (s[1]) {
		case 'j': case 'J':
			flush(c);
			break;
		case 'f':
			set_font(c);
			break;
		case 'd': case 'D':
			if (c->nnum >= 2) {
				double ty = c->nums[c->nnum - 1], tx = c->nums[c->nnum - 2];

				if (ty != 0) {
					c->need_nl = 1;
					c->line_y += ty;
				} else if (tx != 0) {
					c->need_space = 1;
				}
			}
			break;
		case 'm':
			if (c->nnum >= 6) {
				double y = c->nums[5];

				if (!c->have_y || y != c->line_y)
					c->need_nl = 1;
				else
					c->need_space = 1;
				c->line_y = y;
				c->have_y = 1;
			}
			break;
		case '*':
			c->need_nl = 1;
			break;
		default:
			break;
		}
	} else if (n == 1 && (s[0] == '\'' || s[0] == '"')) {
		c->need_nl = 1;
		flush(c);
	} else if (n == 2 && s[0] == 'E' && s[1] == 'T') {
		c->need_nl = 1;
	} else if (n == 2 && s[0] == 'I' && s[1] == 'D') {
		skip_inline(l);
	}
	/* Strings of any other operator are not shown text. */
	c->pend.len = 0;
	c->nnum = 0;
	c->fontname.t = V_NONE;
}

static void
run_content(struct pdf *x, const struct val *res, const u8 *d, size_t n)
{
	struct ctx c;
	struct lx l = {d, d + n};
	struct tok t;
	int depth = 0;

	memset(&c, 0, sizeof(c));
	c.x = x;
	if (res != NULL)
		c.res = *res;
	cls_buf_init(&c.pend, CLS_PDF_MAX_PEND);
	for (lex(&l, &t); t.t != T_EOF && !x->stop && !x->nomem; lex(&l, &t)) {
		switch (t.t) {
		case T_NUM:
			/* In a TJ array, a big negative adjustment is a word gap. */
			if (depth > 0 && t.num < -200 && c.pend.len > 0 &&
			    cls_buf_add(&c.pend, " ", 1) != 0 && c.pend.len < c.pend.max)
				x->nomem = 1;
			if (depth == 0) {
				if (c.nnum == 6) {
					memmove(c.nums, c.nums + 1, 5 * sizeof(double));
					c.nnum = 5;
				}
				c.nums[c.nnum++] = t.num;
			}
			break;
		case T_STR: case T_HEX:
			pend_string(&c, &t);
			break;
		case T_NAME:
			if (depth == 0) {
				c.fontname.t = V_NAME;
				c.fontname.s = t.s;
				c.fontname.n = t.n;
			}
			break;
		case T_AOPEN: case T_DOPEN:
			if (++depth > CLS_PDF_MAX_DEPTH)
				x->stop = 1;
			break;
		case T_ACLOSE: case T_DCLOSE:
			depth -= depth > 0;
			break;
		case T_KW:
			if (depth == 0)
				operator(&c, &l, &t);
			break;
		default:
			break;
		}
	}
	/* A content stream ends its last line. */
	if (x->out->len > 0 && x->out->p[x->out->len - 1] != '\n')
		out_add(x, "\n", 1);
	cls_buf_free(&c.pend);
}

static void
run_stream(struct pdf *x, const struct pobj *o, const struct val *res)
{
	const u8 *d;
	size_t n;
	u8 *owned;

	if (o == NULL || stream_data(x, o, &d, &n, &owned) != 0)
		return;
	run_content(x, res, d, n);
	if (owned != NULL)
		wipe_free(owned, n);	/* the decoded page text */
}

/* A page's /Resources, inherited through /Parent when absent. */
static void
page_resources(struct pdf *x, const struct val *page, struct val *res)
{
	struct val cur = *page;

	res->t = V_NONE;
	for (int i = 0; i < CLS_PDF_MAX_DEPTH && cur.t == V_DICT; i++) {
		struct val p;

		if (dict_get(x, &cur, "Resources", res) == 0) {
			resolve(x, res);
			return;
		}
		if (dict_get(x, &cur, "Parent", &p) != 0)
			return;
		resolve(x, &p);
		cur = p;
	}
}

static void
run_page(struct pdf *x, const struct pobj *pg)
{
	struct val res, cv;

	page_resources(x, &pg->v, &res);
	if (dict_get(x, &pg->v, "Contents", &cv) != 0)
		return;
	if (cv.t == V_REF) {
		struct val r = cv;
		const struct pobj *o = resolve(x, &r);

		if (o != NULL && o->stream) {
			run_stream(x, o, &res);
			return;
		}
		cv = r;		/* a reference to an array of streams */
	}
	if (cv.t == V_ARRAY) {
		struct lx l = {cv.s + 1, cv.s + cv.n};
		struct val e;

		while (!x->stop && !x->nomem && parse_value(&l, &e, 1) == 0 && e.t == V_REF) {
			struct val r = e;

			run_stream(x, resolve(x, &r), &res);
		}
	}
}

/* /Encrypt in a trailer or cross-reference stream dictionary: not read. */
static int
encrypted(const u8 *b, size_t len)
{
	const u8 *p = b, *e = b + len;

	while ((p = memmem(p, (size_t)(e - p), "/Encrypt", 8)) != NULL) {
		p += 8;
		while (p < e && is_ws(*p))
			p++;
		if (p < e && ((*p >= '0' && *p <= '9') || *p == '<'))
			return 1;
	}
	return 0;
}

size_t
cls_pdf_letters(const char *str, size_t n)
{
	const u8 *s = (const u8 *)str;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] >= 0xc0)
			k++;
	return k;
}

int
cls_pdf_text(struct cls_buf *out, const unsigned char *pdf, size_t len)
{
	struct pdf x;
	size_t nraw;
	int have_pages = 0;

	if (encrypted(pdf, len))
		return CLS_PDF_ENCRYPTED;
	memset(&x, 0, sizeof(x));
	x.b = pdf;
	x.len = len;
	x.out = out;
	x.budget = len < CLS_PDF_MAX_INFLATE / CLS_PDF_INFLATE_RATIO ?
	    len * CLS_PDF_INFLATE_RATIO : CLS_PDF_MAX_INFLATE;
	x.work = len * CLS_PDF_WORK_RATIO + CLS_PDF_WORK_MIN;
	index_file(&x);
	x.limited |= x.stop;
	x.stop = 0;		/* a full object table still leaves its objects to read */
	if (x.nobj > 1)
		qsort(x.obj, x.nobj, sizeof(*x.obj), obj_cmp);
	nraw = x.nobj;
	for (size_t i = 0; i < nraw && !x.stop && !x.nomem; i++) {
		struct val ty;

		if (x.obj[i].stream && dict_get(&x, &x.obj[i].v, "Type", &ty) == 0 &&
		    name_is(&ty, "ObjStm"))
			index_objstm(&x, &x.obj[i]);
	}
	x.limited |= x.stop;
	x.stop = 0;
	if (x.nobj > nraw)
		qsort(x.obj, x.nobj, sizeof(*x.obj), obj_cmp);
	/* Pages, then Form XObjects (letterheads, reused blocks) with their own resources. */
	for (size_t i = 0; i < x.nobj && !x.stop && !x.nomem; i++) {
		struct val ty;

		if (!x.obj[i].stream && dict_get(&x, &x.obj[i].v, "Type", &ty) == 0 &&
		    name_is(&ty, "Page")) {
			have_pages = 1;
			run_page(&x, &x.obj[i]);
		}
	}
	for (size_t i = 0; i < x.nobj && !x.stop && !x.nomem; i++) {
		struct val st, res;

		if (!x.obj[i].stream || dict_get(&x, &x.obj[i].v, "Subtype", &st) != 0 ||
		    !name_is(&st, "Form"))
			continue;
		if (dict_get(&x, &x.obj[i].v, "Resources", &res) == 0)
			resolve(&x, &res);
		else
			res.t = V_NONE;
		run_stream(&x, &x.obj[i], &res);
	}
	/* No page tree (a damaged file): any stream that looks like page content. */
	for (size_t i = 0; !have_pages && i < x.nobj && !x.stop && !x.nomem; i++) {
		const struct pobj *o = &x.obj[i];
		struct val ty, st;

		if (!o->stream || dict_get(&x, &o->v, "Type", &ty) == 0 ||
		    dict_get(&x, &o->v, "Subtype", &st) == 0 ||
		    dict_get(&x, &o->v, "Length1", &st) == 0)
			continue;	/* typed streams are fonts, CMaps, XRef, metadata... */
		run_stream(&x, o, NULL);
	}
	for (size_t i = 0; i < x.nfonts; i++) {
		free(x.fonts[i].map);
		free(x.fonts[i].diff);
	}
	free(x.fonts);
	for (size_t i = 0; i < x.nbufs; i++)
		free(x.bufs[i]);
	free(x.bufs);
	free(x.obj);
	return x.nomem ? -1 : x.limited || x.stop ? CLS_PDF_PARTIAL : 0;
}
