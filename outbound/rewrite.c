/*
 * rewrite.c - outgoing header rules on raw header bytes (R-HDR-1..4, R-CLS-2).
 *
 * One pass over the header block, field by field.  A kept field is copied
 * byte for byte (continuation lines included), so nothing is re-folded or
 * re-encoded; a dropped field vanishes with all its continuation lines.
 */
#include "outbound/rewrite.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Spec R-HDR-2, Bijlage A of the handreiking: the minimum list. */
/* Name and length: the length is compared first (one scan per field). */
struct hname {
	const char *s;
	size_t n;
};
#define N(x) {x, sizeof(x) - 1}

static const struct hname bijlage_a[] = {
	N("Accept-Language"), N("Apparently-To"),
	N("ARC-Authentication-Results"), N("ARC-Message-Signature"),
	N("ARC-Seal"), N("Base"), N("Content-Base"), N("Content-Language"),
	N("DL-Expansion-History"), N("Downgraded-Bcc"), N("Downgraded-Cc"),
	N("Downgraded-Disposition-Notification-To"), N("Downgraded-From"),
	N("Downgraded-Mail-From"), N("Downgraded-Rcpt-To"),
	N("Downgraded-Reply-To"), N("Downgraded-Resent-Bcc"),
	N("Downgraded-Resent-Cc"), N("Downgraded-Resent-From"),
	N("Downgraded-Resent-Reply-To"), N("Downgraded-Resent-Sender"),
	N("Downgraded-Resent-To"), N("Downgraded-Return-Path"),
	N("Downgraded-Sender"), N("Downgraded-To"), N("EDIINT-Features"),
	N("Eesst-Version"), N("Errors-To"), N("Form-Sub"), N("Jabber-ID"),
	N("Language"), N("List-Archive"), N("List-Help"), N("List-ID"),
	N("List-Owner"), N("List-Post"), N("List-Subscribe"),
	N("List-Unsubscribe"), N("List-Unsubscribe-Post"),
	N("MMHS-Acp127-Message-Identifier"), N("MMHS-Authorizing-Users"),
	N("MMHS-Codress-Message-Indicator"), N("MMHS-Copy-Precedence"),
	N("MMHS-Exempted-Address"), N("MMHS-Extended-Authorisation-Info"),
	N("MMHS-Handling-Instructions"), N("MMHS-Message-Instructions"),
	N("MMHS-Message-Type"), N("MMHS-Originator-PLAD"),
	N("MMHS-Originator-Reference"),
	N("MMHS-Other-Recipients-Indicator-CC"),
	N("MMHS-Other-Recipients-Indicator-To"), N("MMHS-Primary-Precedence"),
	N("MMHS-Subject-Indicator-Codes"), N("Organization"), N("Privicon"),
	N("Resent-Reply-To"), N("SIO-Label"), N("SIO-Label-History"),
	N("X-Archived-At"), N("X-Mittente"), N("X-Ricevuta"),
	N("X-Riferimento-Message-ID"), N("X-TipoRicevuta"), N("X-Trasporto"),
	N("X-VerificaSicurezza"), N("X400-Content-Identifier"),
	N("X400-Content-Return"), N("X400-Content-Type"),
	N("X400-MTS-Identifier"), N("X400-Originator"), N("X400-Received"),
	N("X400-Recipients"), N("X400-Trace"),
};
#undef N

#define NTA_HDR "X-NTA7516"
#define NTA_HDR_LEN (sizeof(NTA_HDR) - 1)

static int
name_eq(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

int
out_rw_is_bijlage_a(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(bijlage_a) / sizeof(bijlage_a[0]); i++)
		if (bijlage_a[i].n == n && strncasecmp(name, bijlage_a[i].s, n) == 0)
			return 1;
	return 0;
}

/* Length of the line at p (through its LF), or of the rest when no LF. */
static size_t
line_len(const char *p, size_t left)
{
	const char *nl = memchr(p, '\n', left);

	return nl != NULL ? (size_t)(nl - p) + 1 : left;
}

static int
is_empty_line(const char *p, size_t n)
{
	return (n == 2 && p[0] == '\r' && p[1] == '\n') || (n == 1 && p[0] == '\n');
}

int
out_rw_header_len(const char *msg, size_t len, size_t *hdr_len)
{
	size_t off = 0, lim = len < OUT_HDR_MAX ? len : OUT_HDR_MAX;

	if (msg == NULL || hdr_len == NULL)
		return OUT_RW_EINVAL;
	while (off < lim) {
		size_t n = line_len(msg + off, len - off);

		if (msg[off + n - 1] != '\n')
			break;		/* last line without its end */
		off += n;
		if (is_empty_line(msg + off - n, n)) {
			*hdr_len = off;
			return OUT_RW_OK;
		}
	}
	/* A message without a body: every field complete, nothing after. */
	if (off == len && len <= OUT_HDR_MAX && len > 0) {
		*hdr_len = len;
		return OUT_RW_OK;
	}
	return OUT_RW_ETOOBIG;
}

/* Length of the field at p: its first line plus continuation lines. */
static size_t
field_len(const char *p, size_t left)
{
	size_t n = line_len(p, left);

	while (n < left && (p[n] == ' ' || p[n] == '\t'))
		n += line_len(p + n, left - n);
	return n;
}

/* The field name (before ':', trailing WSP dropped); 0 when no colon. */
static size_t
field_name(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t k;

	if (colon == NULL)
		return 0;
	k = (size_t)(colon - p);
	while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
		k--;	/* RFC 5322 4.5: obsolete WSP before the colon */
	return k;
}

static int
in_list(const char *name, size_t n, const struct config_list *l)
{
	size_t i;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (l->v[i] != NULL && name_eq(name, n, l->v[i]))
			return 1;
	return 0;
}

/*
 * R-HDR-1 and R-HDR-4: X-NTA7516 from a client and every X-NTA7516-*
 * steering field (X-NTA7516-Classify, -Phone, -Access-Code) never leave.
 */
static int
is_submission_only(const char *name, size_t n)
{
	if (n < NTA_HDR_LEN || strncasecmp(name, NTA_HDR, NTA_HDR_LEN) != 0)
		return 0;
	return n == NTA_HDR_LEN || name[NTA_HDR_LEN] == '-';
}

static int
drop_field(const char *name, size_t n, const struct out_rw_opts *o)
{
	if (n == 0)
		return 0;	/* not a field: kept, never silently lost */
	if (is_submission_only(name, n))
		return 1;
	if (!o->nta_channel)
		return 0;
	return out_rw_is_bijlage_a(name, n) || in_list(name, n, o->extra_strip);
}

struct obuf {
	char *p;
	size_t cap, len;
};

static int
put(struct obuf *b, const void *src, size_t n)
{
	if (n > b->cap - b->len)
		return OUT_RW_ESPACE;
	memcpy(b->p + b->len, src, n);
	b->len += n;
	return OUT_RW_OK;
}

/* Length of a leading "[veilig]" / "[secure]" tag at p, else 0 (R-CLS-2). */
static size_t
subject_tag(const char *p, size_t n)
{
	static const char *const tags[] = {"[veilig]", "[secure]"};
	size_t i;

	for (i = 0; i < 2; i++) {
		size_t k = strlen(tags[i]);

		if (n >= k && strncasecmp(p, tags[i], k) == 0)
			return k;
	}
	return 0;
}

/* Copy a Subject field without its leading tag and the blanks after it. */
static int
put_subject(struct obuf *b, const char *f, size_t n)
{
	const char *colon = memchr(f, ':', n);
	size_t v = (size_t)(colon - f) + 1, t, after;

	while (v < n && (f[v] == ' ' || f[v] == '\t'))
		v++;
	t = subject_tag(f + v, n - v);
	if (t == 0)
		return put(b, f, n);
	after = v + t;
	while (after < n && (f[after] == ' ' || f[after] == '\t'))
		after++;
	if (put(b, f, v) < 0)
		return OUT_RW_ESPACE;
	return put(b, f + after, n - after);
}

static int
provider_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;	/* no header injection, no folding */
	return 1;
}

static int
want_nta_header(const struct out_rw_opts *o)
{
	return o->nta_channel && o->sender_compliant && o->provider_id != NULL &&
	    o->provider_id[0] != '\0';
}

size_t
out_rw_extra(const struct out_rw_opts *o)
{
	if (o == NULL || !want_nta_header(o))
		return 0;
	return NTA_HDR_LEN + 2 + strlen(o->provider_id) + 2;
}

int
out_rw_header(const char *hdr, size_t len, const struct out_rw_opts *o,
    char *out, size_t cap, size_t *out_len)
{
	struct obuf b = {.p = out, .cap = cap, .len = 0};
	size_t off = 0;

	if (hdr == NULL || o == NULL || out == NULL || out_len == NULL)
		return OUT_RW_EINVAL;
	if (len > OUT_HDR_MAX)
		return OUT_RW_ETOOBIG;
	if (want_nta_header(o)) {
		if (!provider_ok(o->provider_id) ||
		    put(&b, NTA_HDR ": ", NTA_HDR_LEN + 2) < 0 ||
		    put(&b, o->provider_id, strlen(o->provider_id)) < 0 ||
		    put(&b, "\r\n", 2) < 0)
			return provider_ok(o->provider_id) ? OUT_RW_ESPACE : OUT_RW_EINVAL;
	}
	while (off < len) {
		const char *f = hdr + off;
		size_t n = line_len(f, len - off), k;
		int rc;

		if (is_empty_line(f, n)) {
			/* End of the header block: copy it and whatever follows. */
			if (put(&b, f, len - off) < 0)
				return OUT_RW_ESPACE;
			break;
		}
		n = field_len(f, len - off);
		k = field_name(f, n);
		off += n;
		/* A block starting with white space belongs to no field; some
		 * parsers would unfold it into a field of its own (a forged
		 * X-NTA7516, say), so it does not leave. */
		if (f == hdr && (f[0] == ' ' || f[0] == '\t'))
			continue;
		if (drop_field(f, k, o))
			continue;
		if (name_eq(f, k, "Subject"))
			rc = put_subject(&b, f, n);
		else
			rc = put(&b, f, n);
		if (rc < 0)
			return rc;
	}
	*out_len = b.len;
	return OUT_RW_OK;
}

/* ------------------------------------------------------- From: domain */

/* Quoted strings and comments of an address list (RFC 5322 3.2.4, 3.2.2). */
struct qscan {
	int quote, paren;
};

/*
 * 1 when v[*i] belongs to a quoted string or comment (or opens/closes one),
 * so the caller must not read it as syntax; *i skips a quoted-pair.
 */
static int
in_quote_or_comment(struct qscan *q, const char *v, size_t *i, size_t end)
{
	char c = v[*i];

	if (q->quote) {
		if (c == '\\' && *i + 1 < end)
			(*i)++;
		else if (c == '"')
			q->quote = 0;
		return 1;
	}
	if (c == '"') {
		q->quote = 1;
		return 1;
	}
	if (c == '(') {
		q->paren++;
		return 1;
	}
	if (c == ')' && q->paren > 0) {
		q->paren--;
		return 1;
	}
	return q->paren > 0;
}

/* The end of the first address in an address list (outside quotes/<>/()). */
static size_t
first_address(const char *v, size_t n)
{
	struct qscan q = {0, 0};
	size_t i;
	int angle = 0;

	for (i = 0; i < n; i++) {
		if (in_quote_or_comment(&q, v, &i, n))
			continue;
		if (v[i] == '<')
			angle = 1;
		else if (v[i] == '>')
			angle = 0;
		else if (!angle && v[i] == ',')
			return i;
	}
	return n;
}

static int
domain_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-';
}

/*
 * Narrow [*v, *end) to the address: inside the last <...> outside quotes
 * and comments when there is one, else the bare addr-spec; *at = the index
 * just after its last '@' outside quotes and comments.
 */
static int
addr_span(const char *f, size_t *v, size_t *end, size_t *at)
{
	struct qscan q = {0, 0};
	size_t i, lt = 0, last_at = 0;
	int have_lt = 0;

	for (i = *v; i < *end; i++) {
		if (in_quote_or_comment(&q, f, &i, *end))
			continue;
		if (f[i] == '<') {
			have_lt = 1;
			lt = i + 1;
			last_at = 0;
		} else if (f[i] == '>' && have_lt) {
			*v = lt;
			*end = i;
			break;
		} else if (f[i] == '@') {
			last_at = i + 1;
		}
	}
	if (last_at == 0)
		return -1;
	*at = last_at;
	return 0;
}

int
out_rw_from_domain(const char *hdr, size_t len, char *domain, size_t cap)
{
	size_t off = 0;

	if (hdr == NULL || domain == NULL || cap == 0)
		return OUT_RW_EINVAL;
	while (off < len) {
		const char *f = hdr + off;
		size_t n = line_len(f, len - off), k, v, end, at, d, i;

		if (is_empty_line(f, n))
			break;
		n = field_len(f, len - off);
		k = field_name(f, n);
		off += n;
		if (!name_eq(f, k, "From"))
			continue;
		v = (size_t)((const char *)memchr(f, ':', n) - f) + 1;
		end = v + first_address(f + v, n - v);
		if (addr_span(f, &v, &end, &at) < 0)
			return OUT_RW_EINVAL;
		for (d = at; d < end && domain_char(f[d]); d++)
			;
		/* The whole domain or nothing: "a@zörg.example" must not give
		 * "z" (a wrong d= and compliance check). */
		if (d < end && strchr(" \t\r\n>(", f[d]) == NULL)
			return OUT_RW_EINVAL;
		if (d == at || d - at >= cap || f[at] == '.' || f[d - 1] == '.')
			return OUT_RW_EINVAL;
		for (i = 0; i < d - at; i++)
			domain[i] = (char)tolower((unsigned char)f[at + i]);
		domain[d - at] = '\0';
		return OUT_RW_OK;
	}
	return OUT_RW_EINVAL;
}
