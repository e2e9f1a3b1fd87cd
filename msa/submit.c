/* submit.c - RFC 6409 s8 fix-ups, header senders, classifier hook. */
#include "msa/submit.h"
#include "msa/classify/classify.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int
submit_classify(const struct config *c, const char *msg, size_t len,
    struct submit_verdict *v)
{
	struct cls_options o;
	struct cls_result r;
	int rc;

	/* msa/classify: on error it still answers health (R-CLS-3). */
	cls_options_from_config(&o, c);
	rc = cls_classify(msg, len, &o, &r);
	memset(v, 0, sizeof(*v));
	v->health = r.verdict == CLS_HEALTH;
	v->score = r.score;
	v->forced = r.forced == CLS_FORCED_SECURE;
	if ((size_t)snprintf(v->reasons, sizeof(v->reasons), "%s", r.reasons) >=
	    sizeof(v->reasons)) {
		/* Cut at a code boundary rather than mid-code. */
		char *comma = strrchr(v->reasons, ',');

		if (comma != NULL)
			*comma = '\0';
	}
	return rc;
}

/* Field name of a span equals name (case-insensitive)? */
static int
field_is(const struct submit_msg *m, const struct submit_span *f, const char *name)
{
	size_t n = strlen(name);
	const char *p = m->buf + f->off;

	if (f->len <= n || strncasecmp(p, name, n) != 0)
		return 0;
	/* RFC 5322 allows WSP before the colon in obsolete syntax. */
	size_t i = n;
	while (i < f->len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < f->len && p[i] == ':';
}

/* Length of the field line starting at off (through its CRLF or the end). */
static size_t
line_len(const char *b, size_t len, size_t off)
{
	const char *lf = memchr(b + off, '\n', len - off);
	return lf ? (size_t)(lf - (b + off)) + 1 : len - off;
}

static void
copy_value(const struct submit_msg *m, const struct submit_span *f, char *out, size_t outlen)
{
	const char *p = m->buf + f->off;
	const char *colon = memchr(p, ':', f->len);
	size_t k = 0;

	out[0] = '\0';
	if (colon == NULL)
		return;
	for (const char *q = colon + 1; q < p + f->len && k + 1 < outlen; q++)
		if (*q != '\r' && *q != '\n')
			out[k++] = *q;
	out[k] = '\0';
}

int
submit_parse(const char *msg, size_t len, struct submit_msg *m)
{
	size_t off = 0;

	m->buf = msg;
	m->len = len;
	m->n_fields = 0;
	m->has_date = m->has_msgid = m->n_from = 0;
	m->message_id[0] = '\0';
	while (off < len) {
		size_t l = line_len(msg, len, off);
		if (msg[off] == '\r' || msg[off] == '\n') {	/* the empty line */
			off += l;
			break;
		}
		if ((msg[off] == ' ' || msg[off] == '\t') && m->n_fields > 0) {
			m->fields[m->n_fields - 1].len += l;	/* folded continuation */
			off += l;
			continue;
		}
		const char *colon = memchr(msg + off, ':', l);
		if (colon == NULL || colon == msg + off)
			break;		/* not a field: the body starts here (no empty line) */
		if (m->n_fields >= SUBMIT_MAX_FIELDS)
			return -1;
		m->fields[m->n_fields].off = off;
		m->fields[m->n_fields].len = l;
		m->n_fields++;
		off += l;
	}
	m->body_off = off;
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct submit_span *f = &m->fields[i];
		if (field_is(m, f, "Date"))
			m->has_date = 1;
		else if (field_is(m, f, "From"))
			m->n_from++;
		else if (field_is(m, f, "Message-ID")) {
			m->has_msgid = 1;
			char v[SUBMIT_MSGID_MAX];
			copy_value(m, f, v, sizeof(v));
			const char *s = v;
			while (*s == ' ' || *s == '\t')
				s++;
			size_t n = strlen(s);
			while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
				n--;
			snprintf(m->message_id, sizeof(m->message_id), "%.*s", (int)n, s);
		}
	}
	return 0;
}

/* Remove (nested) comments, keep quoted strings; result in out. */
static void
strip_comments(const char *in, char *out, size_t outlen)
{
	int depth = 0, quoted = 0;
	size_t k = 0;

	for (const char *p = in; *p && k + 1 < outlen; p++) {
		if (quoted) {
			out[k++] = *p;
			if (*p == '\\' && p[1] && k + 1 < outlen)
				out[k++] = *++p;
			else if (*p == '"')
				quoted = 0;
		} else if (depth > 0) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(') {
			depth = 1;
		} else {
			if (*p == '"')
				quoted = 1;
			out[k++] = *p;
		}
	}
	out[k] = '\0';
}

/* One mailbox text (display name and <addr>, or a bare addr-spec) -> addr. */
static int
mailbox_addr(char *s, char *addr, size_t addrlen)
{
	char *lt = NULL;
	int quoted = 0;

	for (char *p = s; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '<' && !quoted) {
			lt = p;
			break;
		}
	}
	char *a = s, *e;
	if (lt != NULL) {
		a = lt + 1;
		e = strchr(a, '>');
		if (e == NULL)
			return -1;
		*e = '\0';
		if (*a == '@') {	/* obsolete route */
			char *colon = strchr(a, ':');
			if (colon == NULL)
				return -1;
			a = colon + 1;
		}
	}
	while (*a == ' ' || *a == '\t')
		a++;
	size_t n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= addrlen || memchr(a, '@', n) == NULL)
		return -1;
	memcpy(addr, a, n);
	addr[n] = '\0';
	return 0;
}

static int
value_senders(char *v, int (*cb)(const char *, void *), void *arg)
{
	int quoted = 0, angle = 0, found = 0;
	char *start = v;

	for (char *p = v;; p++) {
		char ch = *p;
		if (ch == '\0' && (quoted || angle))
			return -1;	/* unterminated quote or <address> */
		if (ch == '"' && !angle)
			quoted = !quoted;
		else if (!quoted && ch == '<')
			angle = 1;
		else if (!quoted && ch == '>')
			angle = 0;
		if (quoted || angle)
			continue;
		if (ch == ':') {	/* group "name:" - its members follow */
			start = p + 1;
			continue;
		}
		if (ch != ',' && ch != ';' && ch != '\0')
			continue;
		*p = '\0';
		char *t = start;
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t != '\0') {
			char addr[320];
			if (mailbox_addr(t, addr, sizeof(addr)) != 0)
				return -1;
			found++;
			int rc = cb(addr, arg);
			if (rc != 0)
				return rc;
		}
		if (ch == '\0')
			break;
		start = p + 1;
	}
	return found > 0 ? 0 : -1;
}

int
submit_header_senders(const struct submit_msg *m,
    int (*cb)(const char *addr, void *arg), void *arg)
{
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct submit_span *f = &m->fields[i];
		if (!field_is(m, f, "From") && !field_is(m, f, "Sender"))
			continue;
		char raw[4096], clean[4096];
		if (f->len >= sizeof(raw))
			return -1;
		copy_value(m, f, raw, sizeof(raw));
		strip_comments(raw, clean, sizeof(clean));
		int rc = value_senders(clean, cb, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
rfc5322_date(char *out, size_t outlen)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	if (strftime(out, outlen, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		out[0] = '\0';
}

int
submit_write(struct submit_msg *m, const struct submit_env *env,
    int (*wr)(const void *p, size_t n, void *arg), void *arg)
{
	char line[1024], date[64];
	int n;

	rfc5322_date(date, sizeof(date));
	/* RFC 6409 s8 / privacy: by default the client's IP and name stay out. */
	if (env->show_client)
		n = snprintf(line, sizeof(line),
		    "Received: from %s ([%s])\r\n\tby %s (ntamsa) with %s id %s;\r\n\t%s\r\n",
		    env->client_helo, env->client_ip, env->hostname,
		    env->tls ? "ESMTPSA" : "ESMTPA", env->queue_id, date);
	else
		n = snprintf(line, sizeof(line),
		    "Received: by %s (ntamsa) with %s id %s;\r\n\t%s\r\n",
		    env->hostname, env->tls ? "ESMTPSA" : "ESMTPA", env->queue_id, date);
	if (n < 0 || (size_t)n >= sizeof(line) || wr(line, (size_t)n, arg) != 0)
		return -1;
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct submit_span *f = &m->fields[i];
		if (field_is(m, f, "Bcc"))
			continue;
		if (wr(m->buf + f->off, f->len, arg) != 0)
			return -1;
	}
	if (!m->has_date) {
		n = snprintf(line, sizeof(line), "Date: %s\r\n", date);
		if (n < 0 || (size_t)n >= sizeof(line) || wr(line, (size_t)n, arg) != 0)
			return -1;
	}
	if (!m->has_msgid) {
		unsigned char rnd[16];
		char hex[33];
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		snprintf(m->message_id, sizeof(m->message_id), "<%s@%s>", hex, env->hostname);
		n = snprintf(line, sizeof(line), "Message-ID: %s\r\n", m->message_id);
		if (n < 0 || (size_t)n >= sizeof(line) || wr(line, (size_t)n, arg) != 0)
			return -1;
	}
	/* The empty line: the original one, or a new one when there was none. */
	const char *body = m->buf + m->body_off;
	size_t blen = m->len - m->body_off;
	size_t hdr_end = m->n_fields ? m->fields[m->n_fields - 1].off + m->fields[m->n_fields - 1].len : 0;
	if (m->body_off == hdr_end) {
		if (wr("\r\n", 2, arg) != 0)
			return -1;
	} else if (wr(m->buf + hdr_end, m->body_off - hdr_end, arg) != 0) {
		return -1;
	}
	return blen ? wr(body, blen, arg) : 0;
}
