/*
 * nta_record.c - the NTA 7516 TXT record: parser and set validator.
 *
 * Follows the grammar of spec section 3 byte by byte, by length (TXT data
 * may hold any byte, NUL included).  No allocation: nta_set_eval() only
 * writes into the caller's struct, so it runs at millions of records per
 * second and is safe to fuzz.  Each rejection carries a stable code and a
 * detail naming the exact problem, so an administrator can fix the record.
 */
#include "ntadns/ntadns.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_TAG	"v=NTA7516-1"
#define VERSION_LEN	(sizeof(VERSION_TAG) - 1)

static const struct {
	const char *code;
	const char *sentence;
} reasons[NTA_R__COUNT] = {
	[NTA_R_OK] = {"ok", "The record set is a valid NTA 7516 claim."},
	[NTA_R_NO_RECORD] = {"no-record", "The domain publishes no NTA 7516 record."},
	[NTA_R_BAD_VERSION] = {"bad-version",
	    "A TXT record looks like an NTA 7516 record but does not begin with exactly \"v=NTA7516-1\" followed by ';' or the end; it is ignored."},
	[NTA_R_BAD_SYNTAX] = {"bad-syntax",
	    "The record does not follow the grammar v=NTA7516-1;startdate=YYYY-MM;enddate=YYYY-MM;provider=NAME[;ntamx=PRIO HOST]..."},
	[NTA_R_BAD_BYTE] = {"bad-byte",
	    "The record contains a byte that is not printable ASCII."},
	[NTA_R_QUOTE_CHAR] = {"quote-char",
	    "The record contains a '\"' character, which is not allowed."},
	[NTA_R_TRAILING_SEMICOLON] = {"trailing-semicolon",
	    "The record ends with ';', which the grammar does not allow."},
	[NTA_R_BAD_DATE] = {"bad-date",
	    "A date is not of the form YYYY-MM with a month from 01 to 12."},
	[NTA_R_END_BEFORE_START] = {"end-before-start",
	    "The enddate lies before the startdate."},
	[NTA_R_NOT_YET_VALID] = {"not-yet-valid",
	    "The record's startdate lies after the current month."},
	[NTA_R_EXPIRED] = {"expired",
	    "The record's enddate lies before the current month."},
	[NTA_R_BAD_PROVIDER] = {"bad-provider",
	    "The provider field is empty or holds a character outside printable ASCII without space, '\"' and ';'."},
	[NTA_R_BAD_NTAMX] = {"bad-ntamx",
	    "An ntamx field is not \"ntamx=\" followed by a 1-3 digit priority, one space and a host name."},
	[NTA_R_TOO_MANY_RECORDS] = {"too-many-records",
	    "The domain publishes more than two NTA 7516 records."},
	[NTA_R_OVERLAP] = {"overlap",
	    "The validity periods of the two NTA 7516 records overlap."},
	[NTA_R_TTL_TOO_HIGH] = {"ttl-too-high",
	    "The TTL of the NTA 7516 record is above 86400 seconds."},
	[NTA_R_PROVIDER_NOT_CERTIFIED] = {"provider-not-certified",
	    "The provider is not on the list of certified NTA 7516 providers."},
	[NTA_R_TOO_LONG] = {"too-long",
	    "The record or one of its fields is longer than this implementation accepts."},
};

const char *
nta_reason_code(enum nta_reason r)
{
	if ((unsigned)r >= NTA_R__COUNT)
		return "unknown";
	return reasons[r].code;
}

const char *
nta_reason_sentence(enum nta_reason r)
{
	if ((unsigned)r >= NTA_R__COUNT)
		return "Unknown reason.";
	return reasons[r].sentence;
}

const char *
nta_verdict_name(enum nta_verdict v)
{
	switch (v) {
	case NTA_VALID: return "valid";
	case NTA_INVALID: return "invalid";
	default: return "none";
	}
}

/* Add a reason to a list; the detail is formatted (bounded). */
static void __attribute__((format(printf, 4, 5)))
add_reason(struct nta_reason_item *list, size_t *n, enum nta_reason code,
    const char *fmt, ...)
{
	va_list ap;
	struct nta_reason_item *it;

	if (*n >= NTA_REASONS_MAX)
		return;
	it = &list[(*n)++];
	it->code = code;
	it->detail[0] = '\0';
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	/* Truncation of a detail sentence is harmless; the code stays exact. */
	(void)vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
}

#define REC_FAIL(rec, code, ...) \
	add_reason((rec)->reasons, &(rec)->n_reasons, (code), __VA_ARGS__)

/* Copy at most cap-1 bytes of a field into a printable, quoted-safe form. */
static const char *
show(char *out, size_t cap, const unsigned char *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < cap; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			out[o++] = (char)p[i];
		} else {
			int w = snprintf(out + o, cap - o, "\\x%02x", p[i]);
			if (w < 0 || (size_t)w >= cap - o)
				break;
			o += (size_t)w;
		}
	}
	if (i < n && o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A field: [p, p+n). */
struct field {
	const unsigned char *p;
	size_t n;
	size_t off;			/* offset in the record, for messages */
};

enum fname { F_START, F_END, F_PROVIDER, F_NTAMX, F_UNKNOWN };
static const char *const fnames[] = {"startdate", "enddate", "provider", "ntamx"};
static const enum nta_reason fcodes[] = {
	NTA_R_BAD_DATE, NTA_R_BAD_DATE, NTA_R_BAD_PROVIDER, NTA_R_BAD_NTAMX
};

static int
eq_ci(const unsigned char *p, size_t n, const char *s)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char a = p[i], b = (unsigned char)s[i];
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return 1;
}

/* Which field name is [p,n) exactly, or case-insensitively (*ci = 1). */
static enum fname
field_kind(const unsigned char *p, size_t n, int *ci)
{
	size_t i;

	*ci = 0;
	for (i = 0; i < 4; i++)
		if (strlen(fnames[i]) == n && memcmp(p, fnames[i], n) == 0)
			return (enum fname)i;
	for (i = 0; i < 4; i++)
		if (eq_ci(p, n, fnames[i])) {
			*ci = 1;
			return (enum fname)i;
		}
	return F_UNKNOWN;
}

/*
 * Split "name=value"; names the near-misses (':' for '=', spaces around
 * '=', wrong case) precisely.  Returns the field kind or F_UNKNOWN with a
 * reason added.  *val gets the value.
 */
static enum fname
field_split(struct nta_record *rec, const struct field *f, size_t idx,
    struct field *val)
{
	const unsigned char *eq = memchr(f->p, '=', f->n);
	const unsigned char *colon = memchr(f->p, ':', f->n);
	size_t nl, vs;
	int ci;
	enum fname k;
	char sh[64];

	if (eq == NULL) {
		if (colon != NULL) {
			k = field_kind(f->p, (size_t)(colon - f->p), &ci);
			if (k != F_UNKNOWN && !ci) {
				REC_FAIL(rec, fcodes[k],
				    "field %zu '%s' uses ':' instead of '=' (write '%s=')",
				    idx, fnames[k], fnames[k]);
				return F_UNKNOWN;
			}
		}
		REC_FAIL(rec, NTA_R_BAD_SYNTAX, "field %zu '%s' has no '='", idx,
		    show(sh, sizeof(sh), f->p, f->n));
		return F_UNKNOWN;
	}
	nl = (size_t)(eq - f->p);
	vs = nl + 1;
	/* Spaces around '=': name the field if we can see which one it is. */
	if ((nl > 0 && f->p[nl - 1] == ' ') || (vs < f->n && f->p[vs] == ' ')) {
		size_t a = 0, b = nl;
		while (a < b && f->p[a] == ' ')
			a++;
		while (b > a && f->p[b - 1] == ' ')
			b--;
		k = field_kind(f->p + a, b - a, &ci);
		REC_FAIL(rec, k == F_UNKNOWN ? NTA_R_BAD_SYNTAX : fcodes[k],
		    "field %zu '%s': space around '=' is not allowed", idx,
		    show(sh, sizeof(sh), f->p, f->n));
		return F_UNKNOWN;
	}
	k = field_kind(f->p, nl, &ci);
	if (k == F_UNKNOWN) {
		REC_FAIL(rec, NTA_R_BAD_SYNTAX, "unknown field %zu '%s'", idx,
		    show(sh, sizeof(sh), f->p, nl));
		return F_UNKNOWN;
	}
	if (ci) {
		REC_FAIL(rec, fcodes[k],
		    "field %zu: field names are case-sensitive, '%s' must be '%s'",
		    idx, show(sh, sizeof(sh), f->p, nl), fnames[k]);
		return F_UNKNOWN;
	}
	val->p = f->p + vs;
	val->n = f->n - vs;
	val->off = f->off + vs;
	return k;
}

/* date = 4DIGIT "-" 2DIGIT, month 01..12. */
static int
parse_date(struct nta_record *rec, const char *name, const struct field *v,
    int *y, int *m)
{
	char sh[64];
	const unsigned char *p = v->p;

	if (v->n != 7 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) ||
	    !is_digit(p[3]) || p[4] != '-' || !is_digit(p[5]) || !is_digit(p[6])) {
		REC_FAIL(rec, NTA_R_BAD_DATE, "%s '%s' is not YYYY-MM", name,
		    show(sh, sizeof(sh), p, v->n));
		return -1;
	}
	*y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
	*m = (p[5] - '0') * 10 + (p[6] - '0');
	if (*m < 1 || *m > 12) {
		REC_FAIL(rec, NTA_R_BAD_DATE, "%s '%s': month %02d is not 01..12",
		    name, show(sh, sizeof(sh), p, v->n), *m);
		return -1;
	}
	return 0;
}

/* provider = 1*character; ';' and '"' never reach here. */
static int
parse_provider(struct nta_record *rec, const struct field *v)
{
	size_t i;

	if (v->n == 0) {
		REC_FAIL(rec, NTA_R_BAD_PROVIDER, "provider is empty");
		return -1;
	}
	if (v->n > NTA_PROVIDER_MAX) {
		REC_FAIL(rec, NTA_R_TOO_LONG, "provider is %zu bytes, at most %d accepted",
		    v->n, NTA_PROVIDER_MAX);
		return -1;
	}
	for (i = 0; i < v->n; i++)
		if (v->p[i] == ' ') {
			REC_FAIL(rec, NTA_R_BAD_PROVIDER,
			    "provider holds a space at offset %zu", v->off + i);
			return -1;
		}
	memcpy(rec->provider, v->p, v->n);
	rec->provider[v->n] = '\0';
	return 0;
}

/* RFC 1123 2.1 host name, no trailing dot, <= 253 octets, not all-numeric. */
static int
check_host(const unsigned char *p, size_t n, char *why, size_t whylen)
{
	size_t i, ls = 0;
	int numeric = 1;

	if (n == 0)
		return snprintf(why, whylen, "host name is empty"), -1;
	if (n > DNS_NAME_MAX)
		return snprintf(why, whylen, "host name is %zu octets, at most 253", n), -1;
	if (p[n - 1] == '.')
		return snprintf(why, whylen, "host name ends with '.'; write it without the trailing dot"), -1;
	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '.') {
			size_t ll = i - ls;
			if (ll == 0)
				return snprintf(why, whylen, "empty label at offset %zu of the host name", i), -1;
			if (ll > 63)
				return snprintf(why, whylen, "label of %zu octets, at most 63", ll), -1;
			if (p[ls] == '-' || p[i - 1] == '-')
				return snprintf(why, whylen, "a label starts or ends with '-'"), -1;
			ls = i + 1;
			continue;
		}
		if (!is_alnum(p[i]) && p[i] != '-')
			return snprintf(why, whylen, "character '%c' not allowed in a host name",
			    p[i] >= 0x21 && p[i] < 0x7f ? p[i] : '?'), -1;
		if (!is_digit(p[i]))
			numeric = 0;
	}
	if (numeric)
		return snprintf(why, whylen, "host name is all-numeric (an address is not allowed)"), -1;
	return 0;
}

/* ntamx = 1*3DIGIT SP mailserver */
static int
parse_ntamx(struct nta_record *rec, const struct field *v)
{
	size_t i = 0, prio = 0;
	char why[NTA_DETAIL_MAX - 32], sh[48];
	struct nta_mx *mx;

	while (i < v->n && is_digit(v->p[i]))
		prio = prio * 10 + (size_t)(v->p[i++] - '0');
	if (i == 0) {
		REC_FAIL(rec, NTA_R_BAD_NTAMX, "ntamx '%s' does not start with a priority",
		    show(sh, sizeof(sh), v->p, v->n));
		return -1;
	}
	if (i > 3) {
		REC_FAIL(rec, NTA_R_BAD_NTAMX, "ntamx priority '%s' has more than 3 digits",
		    show(sh, sizeof(sh), v->p, i));
		return -1;
	}
	if (i >= v->n || v->p[i] != ' ') {
		REC_FAIL(rec, NTA_R_BAD_NTAMX,
		    "ntamx '%s': the priority must be followed by one space and a host name",
		    show(sh, sizeof(sh), v->p, v->n));
		return -1;
	}
	i++;
	if (i < v->n && v->p[i] == ' ') {
		REC_FAIL(rec, NTA_R_BAD_NTAMX, "ntamx '%s': more than one space after the priority",
		    show(sh, sizeof(sh), v->p, v->n));
		return -1;
	}
	if (check_host(v->p + i, v->n - i, why, sizeof(why)) != 0) {
		REC_FAIL(rec, NTA_R_BAD_NTAMX, "ntamx: %s", why);
		return -1;
	}
	if (rec->n_mx >= NTA_MAX_NTAMX) {
		REC_FAIL(rec, NTA_R_TOO_LONG, "more than %d ntamx fields", NTA_MAX_NTAMX);
		return -1;
	}
	mx = &rec->mx[rec->n_mx++];
	mx->prio = (uint16_t)prio;
	memcpy(mx->host, v->p + i, v->n - i);
	mx->host[v->n - i] = '\0';
	return 0;
}

/* Whole-record checks before splitting: '"', bytes outside the grammar. */
static int
scan_bytes(struct nta_record *rec, const unsigned char *d, size_t n)
{
	const unsigned char *q = memchr(d, '"', n);
	size_t i;

	if (q != NULL) {
		REC_FAIL(rec, NTA_R_QUOTE_CHAR, "'\"' at offset %zu", (size_t)(q - d));
		return -1;
	}
	for (i = 0; i < n; i++)
		if (d[i] < 0x20 || d[i] > 0x7e) {
			REC_FAIL(rec, NTA_R_BAD_BYTE, "byte 0x%02x at offset %zu", d[i], i);
			return -1;
		}
	if (d[n - 1] == ';') {
		REC_FAIL(rec, NTA_R_TRAILING_SEMICOLON, "remove the ';' at offset %zu", n - 1);
		return -1;
	}
	return 0;
}

static const char *const expect_txt[] = {"startdate", "enddate", "provider", "ntamx"};

/* Walk the fields after the version tag, in the grammar's order. */
static int
parse_fields(struct nta_record *rec, const unsigned char *d, size_t n)
{
	size_t pos = VERSION_LEN, idx = 1;
	int want = F_START;

	while (pos < n) {
		struct field f, v;
		const unsigned char *semi;
		enum fname k;

		pos++;				/* the ';' */
		semi = memchr(d + pos, ';', n - pos);
		f.p = d + pos;
		f.n = semi ? (size_t)(semi - (d + pos)) : n - pos;
		f.off = pos;
		if (f.n == 0) {
			REC_FAIL(rec, NTA_R_BAD_SYNTAX, "empty field %zu at offset %zu (';;')", idx, pos);
			return -1;
		}
		k = field_split(rec, &f, idx, &v);
		if (k == F_UNKNOWN)
			return -1;
		if ((int)k != want && !(k == F_NTAMX && want > F_NTAMX)) {
			REC_FAIL(rec, NTA_R_BAD_SYNTAX, "field %zu is '%s' where '%s' is expected",
			    idx, fnames[k], expect_txt[want > F_NTAMX ? F_NTAMX : want]);
			return -1;
		}
		if ((k == F_START && parse_date(rec, "startdate", &v, &rec->start_y, &rec->start_m)) ||
		    (k == F_END && parse_date(rec, "enddate", &v, &rec->end_y, &rec->end_m)) ||
		    (k == F_PROVIDER && parse_provider(rec, &v)) ||
		    (k == F_NTAMX && parse_ntamx(rec, &v)))
			return -1;
		if (want <= F_NTAMX)
			want = k == F_NTAMX ? F_NTAMX + 1 : want + 1;
		pos += f.n;
		idx++;
	}
	if (want <= F_PROVIDER) {
		REC_FAIL(rec, NTA_R_BAD_SYNTAX, "field '%s' is missing", fnames[want]);
		return -1;
	}
	return 0;
}

/* Parse one NTA record (its version tag already recognised). */
static int
parse_record(struct nta_record *rec, const unsigned char *d, size_t n)
{
	rec->status = NTA_REC_INVALID;
	rec->n_mx = 0;
	rec->n_reasons = 0;
	rec->provider[0] = '\0';
	rec->start_y = rec->start_m = rec->end_y = rec->end_m = 0;
	if (n > NTA_RECORD_MAX) {
		REC_FAIL(rec, NTA_R_TOO_LONG, "record is %zu bytes, at most %d accepted",
		    n, NTA_RECORD_MAX);
		return -1;
	}
	if (scan_bytes(rec, d, n) != 0 || parse_fields(rec, d, n) != 0)
		return -1;
	if (rec->end_y * 12 + rec->end_m < rec->start_y * 12 + rec->start_m) {
		REC_FAIL(rec, NTA_R_END_BEFORE_START, "enddate %04d-%02d is before startdate %04d-%02d",
		    rec->end_y, rec->end_m, rec->start_y, rec->start_m);
		return -1;
	}
	rec->status = NTA_REC_VALID;
	return 0;
}

/* Exactly "v=NTA7516-1" followed by ';' or the end (R-NTA-1). */
static int
is_nta(const unsigned char *d, size_t n)
{
	return n >= VERSION_LEN && memcmp(d, VERSION_TAG, VERSION_LEN) == 0 &&
	    (n == VERSION_LEN || d[VERSION_LEN] == ';');
}

/*
 * Ignored, but an administrator probably meant an NTA record: the tag
 * matches case-insensitively or with spaces, or carries extra characters
 * (v=NTA7516-1x, "v=NTA7516-1 ;").  Other versions (v=NTA7516-2) and the
 * provider's own "version=" record are not near-misses.
 */
static int
near_miss(const unsigned char *d, size_t n)
{
	unsigned char t[VERSION_LEN];
	size_t i, k = 0;

	for (i = 0; i < n && k < VERSION_LEN; i++) {
		if (d[i] == ' ' || d[i] == '\t')
			continue;
		t[k++] = d[i];
	}
	if (k < VERSION_LEN || !eq_ci(t, VERSION_LEN, "v=nta7516-1"))
		return 0;
	/* "v=NTA7516-12" is a different tag only if it continues with digits. */
	return !(i < n && is_digit(d[i]));
}

static void
check_window(struct nta_record *rec, const struct nta_date *at)
{
	int now = at->year * 12 + at->month;

	if (now < rec->start_y * 12 + rec->start_m) {
		rec->status = NTA_REC_OUTSIDE;
		REC_FAIL(rec, NTA_R_NOT_YET_VALID, "startdate %04d-%02d is after %04d-%02d-%02d",
		    rec->start_y, rec->start_m, at->year, at->month, at->day);
	} else if (now > rec->end_y * 12 + rec->end_m) {
		rec->status = NTA_REC_OUTSIDE;
		REC_FAIL(rec, NTA_R_EXPIRED, "enddate %04d-%02d is before %04d-%02d-%02d",
		    rec->end_y, rec->end_m, at->year, at->month, at->day);
	}
}

static void
check_provider(struct nta_record *rec, const struct nta_providers *cert)
{
	if (cert == NULL || rec->status == NTA_REC_INVALID)
		return;
	if (!nta_providers_has(cert, rec->provider, strlen(rec->provider))) {
		rec->status = NTA_REC_INVALID;
		REC_FAIL(rec, NTA_R_PROVIDER_NOT_CERTIFIED,
		    "provider '%.100s' is not on the certified list", rec->provider);
	}
}

/* R-NTA-3: two records' periods must not overlap. */
static void
check_overlap(struct nta_set *s)
{
	const struct nta_record *a = &s->rec[0], *b = &s->rec[1];

	if (s->n_kept != 2 || a->status == NTA_REC_INVALID || b->status == NTA_REC_INVALID)
		return;
	if (a->start_y * 12 + a->start_m <= b->end_y * 12 + b->end_m &&
	    b->start_y * 12 + b->start_m <= a->end_y * 12 + a->end_m)
		add_reason(s->reasons, &s->n_reasons, NTA_R_OVERLAP,
		    "%04d-%02d..%04d-%02d overlaps %04d-%02d..%04d-%02d",
		    a->start_y, a->start_m, a->end_y, a->end_m,
		    b->start_y, b->start_m, b->end_y, b->end_m);
}

static enum nta_verdict
decide(struct nta_set *s)
{
	size_t i, n_valid = 0;
	int invalid = 0;

	for (i = 0; i < s->n_reasons; i++)
		if (s->reasons[i].code != NTA_R_BAD_VERSION)
			invalid = 1;
	for (i = 0; i < s->n_kept; i++) {
		if (s->rec[i].status == NTA_REC_INVALID)
			invalid = 1;
		else if (s->rec[i].status == NTA_REC_VALID && n_valid++ == 0)
			s->current = i;
	}
	if (s->n_records == 0)
		return NTA_NONE;
	if (invalid || n_valid != 1)
		return NTA_INVALID;
	return NTA_VALID;
}

enum nta_verdict
nta_set_eval(struct nta_set *s, const struct nta_txt *txt, size_t n,
    const struct nta_eval_opts *o)
{
	size_t i;

	s->n_records = s->n_ignored = s->n_near_miss = 0;
	s->n_kept = s->n_reasons = s->current = 0;
	for (i = 0; i < n; i++) {
		const unsigned char *d = txt[i].data;
		size_t len = txt[i].len;

		if (!is_nta(d, len)) {
			s->n_ignored++;
			if (near_miss(d, len) && s->n_near_miss++ == 0) {
				char sh[48];
				add_reason(s->reasons, &s->n_reasons, NTA_R_BAD_VERSION,
				    "ignored TXT record starting '%s': the tag must be exactly v=NTA7516-1 followed by ';'",
				    show(sh, sizeof(sh), d, len < 16 ? len : 16));
			}
			continue;
		}
		if (s->n_records++ >= NTA_SET_KEEP)
			continue;
		struct nta_record *rec = &s->rec[s->n_kept++];
		if (parse_record(rec, d, len) == 0) {
			check_window(rec, &o->at);
			check_provider(rec, o->certified);
		}
	}
	if (s->n_records > NTA_MAX_RECORDS)
		add_reason(s->reasons, &s->n_reasons, NTA_R_TOO_MANY_RECORDS,
		    "%zu NTA records published, at most %d allowed", s->n_records, NTA_MAX_RECORDS);
	check_overlap(s);
	if (s->n_records > 0 && o->check_ttl && o->ttl > NTA_TTL_MAX)
		add_reason(s->reasons, &s->n_reasons, NTA_R_TTL_TOO_HIGH,
		    "TTL %u is above %u", (unsigned)o->ttl, NTA_TTL_MAX);
	s->verdict = decide(s);
	return s->verdict;
}

enum nta_reason
nta_set_first_reason(const struct nta_set *s)
{
	size_t i;

	if (s->verdict == NTA_VALID)
		return NTA_R_OK;
	if (s->verdict == NTA_NONE)
		return NTA_R_NO_RECORD;
	for (i = 0; i < s->n_reasons; i++)
		if (s->reasons[i].code != NTA_R_BAD_VERSION)
			return s->reasons[i].code;
	for (i = 0; i < s->n_kept; i++)
		if (s->rec[i].status == NTA_REC_INVALID && s->rec[i].n_reasons > 0)
			return s->rec[i].reasons[0].code;
	for (i = 0; i < s->n_kept; i++)
		if (s->rec[i].n_reasons > 0)
			return s->rec[i].reasons[0].code;
	return NTA_R_BAD_SYNTAX;
}

size_t
nta_set_hosts(const struct nta_set *s, struct nta_mx *out, size_t cap)
{
	const struct nta_record *r;
	size_t i, j, n;

	if (s->verdict != NTA_VALID)
		return 0;
	r = &s->rec[s->current];
	n = r->n_mx < cap ? r->n_mx : cap;
	for (i = 0; i < n; i++)
		out[i] = r->mx[i];
	/* Insertion sort: stable, n <= 16. */
	for (i = 1; i < n; i++) {
		struct nta_mx t = out[i];
		for (j = i; j > 0 && out[j - 1].prio > t.prio; j--)
			out[j] = out[j - 1];
		out[j] = t;
	}
	/* RFC 5321 5.1: equal preferences in random order (Fisher-Yates per run). */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && out[j].prio == out[i].prio; j++)
			;
		for (size_t k = j - 1; k > i; k--) {
			size_t x = i + arc4random_uniform((uint32_t)(k - i + 1));
			struct nta_mx t = out[k];
			out[k] = out[x];
			out[x] = t;
		}
	}
	return n;
}

long
nta_txt_concat(const unsigned char *rdata, size_t rdlen, unsigned char *out,
    size_t outcap)
{
	size_t i = 0, o = 0;

	while (i < rdlen) {
		size_t l = rdata[i++];
		if (l > rdlen - i || l > outcap - o)
			return -1;
		memcpy(out + o, rdata + i, l);
		o += l;
		i += l;
	}
	return (long)o;
}
