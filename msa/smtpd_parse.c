/* smtpd_parse.c - SMTP command parser and DATA state machine (pure). */
#include "msa/smtpd_parse.h"

#include "common/wipe.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{"HELO", SMTP_V_HELO}, {"EHLO", SMTP_V_EHLO}, {"MAIL", SMTP_V_MAIL},
	{"RCPT", SMTP_V_RCPT}, {"DATA", SMTP_V_DATA}, {"RSET", SMTP_V_RSET},
	{"NOOP", SMTP_V_NOOP}, {"QUIT", SMTP_V_QUIT},
	{"STARTTLS", SMTP_V_STARTTLS}, {"AUTH", SMTP_V_AUTH},
	{"VRFY", SMTP_V_VRFY}, {"HELP", SMTP_V_HELP},
};

int
smtp_line_take(const char *buf, size_t len, size_t max, size_t *linelen,
    size_t *used)
{
	const char *lf = memchr(buf, '\n', len);

	if (lf == NULL) {
		/* No end yet: a line already too long is discarded as it comes. */
		if (len >= max) {
			*used = len;
			*linelen = 0;
			return -1;
		}
		return 0;
	}
	size_t end = (size_t)(lf - buf);
	*used = end + 1;
	if (end + 1 > max || end == 0 || buf[end - 1] != '\r') {
		*linelen = 0;
		return -1;
	}
	*linelen = end - 1;
	/* A CR inside a line is as ambiguous as a bare LF; a NUL is never text. */
	if (memchr(buf, '\r', end - 1) != NULL || memchr(buf, '\0', end - 1) != NULL)
		return -1;
	return 1;
}

/* Copy the path inside <...> into out; accepts and drops a source route. */
static int
parse_path(const char **pp, const char *end, char *out, size_t outlen, int allow_null)
{
	const char *p = *pp;

	if (p >= end || *p != '<')
		return SMTP_P_SYNTAX;
	p++;
	const char *close = memchr(p, '>', (size_t)(end - p));
	if (close == NULL)
		return SMTP_P_SYNTAX;
	/* RFC 5321 4.1.2 A-d-l: "@a,@b:" before the mailbox; ignore it. */
	if (p < close && *p == '@') {
		const char *colon = memchr(p, ':', (size_t)(close - p));
		if (colon == NULL)
			return SMTP_P_PATH;
		p = colon + 1;
	}
	size_t n = (size_t)(close - p);
	if (n == 0) {
		if (!allow_null)
			return SMTP_P_PATH;
		out[0] = '\0';
		*pp = close + 1;
		return SMTP_P_OK;
	}
	if (n >= outlen)
		return SMTP_P_PATH;
	const char *at = NULL;
	int quoted = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '"')
			quoted = !quoted;
		else if (ch <= ' ' && !quoted)
			return SMTP_P_PATH;
		else if (ch == '<' || ch == '>')
			return SMTP_P_PATH;
		else if (ch == '@' && !quoted)
			at = p + i;
	}
	if (quoted || at == NULL || at == p || at == p + n - 1)
		return SMTP_P_PATH;
	memcpy(out, p, n);
	out[n] = '\0';
	*pp = close + 1;
	return SMTP_P_OK;
}

static int
parse_size(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* ESMTP parameters after a MAIL path: SIZE= and BODY= only (RFC 1870, 6152). */
static int
parse_mail_params(const char *p, const char *end, struct smtp_cmd *c)
{
	while (p < end) {
		if (*p != ' ')
			return SMTP_P_SYNTAX;
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		const char *q = p;
		while (q < end && *q != ' ')
			q++;
		size_t n = (size_t)(q - p);
		if (n > 5 && !strncasecmp(p, "SIZE=", 5)) {
			if (parse_size(p + 5, n - 5, &c->size) != 0)
				return SMTP_P_SYNTAX;
			c->has_size = 1;
		} else if (n == 9 && !strncasecmp(p, "BODY=7BIT", 9)) {
			c->body = SMTP_BODY_7BIT;
		} else if (n == 13 && !strncasecmp(p, "BODY=8BITMIME", 13)) {
			c->body = SMTP_BODY_8BITMIME;
		} else {
			return SMTP_P_PARAM;
		}
		p = q;
	}
	return SMTP_P_OK;
}

/* "FROM:" / "TO:" then optional space, then the path and parameters. */
static int
parse_mail_rcpt(const char *p, const char *end, struct smtp_cmd *c)
{
	const char *kw = c->verb == SMTP_V_MAIL ? "FROM:" : "TO:";
	size_t kl = strlen(kw);

	if ((size_t)(end - p) < kl || strncasecmp(p, kw, kl) != 0)
		return SMTP_P_SYNTAX;
	p += kl;
	/* Many clients write "MAIL FROM: <a@b>"; RFC 5321 does not, be lenient. */
	if (p < end && *p == ' ')
		p++;
	int rc = parse_path(&p, end, c->path, sizeof(c->path), c->verb == SMTP_V_MAIL);
	if (rc != SMTP_P_OK)
		return rc;
	if (c->verb == SMTP_V_RCPT)
		return p == end ? SMTP_P_OK : SMTP_P_PARAM;
	return parse_mail_params(p, end, c);
}

int
smtp_parse_cmd(const char *line, size_t len, struct smtp_cmd *out)
{
	memset(out, 0, sizeof(*out));
	if (len >= SMTP_CMD_MAX)
		return SMTP_P_SYNTAX;
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\0' || (unsigned char)line[i] >= 0x80 ||
		    line[i] == '\r' || line[i] == '\n')
			return SMTP_P_NUL;
	size_t vl = 0;
	while (vl < len && line[vl] != ' ')
		vl++;
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (strlen(verbs[k].name) == vl && !strncasecmp(line, verbs[k].name, vl))
			out->verb = verbs[k].verb;
	if (out->verb == SMTP_V_UNKNOWN)
		return SMTP_P_UNKNOWN;
	const char *p = line + vl, *end = line + len;
	if (p < end)
		p++;			/* the single space after the verb */
	size_t al = (size_t)(end - p);
	memcpy(out->arg, p, al);
	out->arg[al] = '\0';

	switch (out->verb) {
	case SMTP_V_HELO:
	case SMTP_V_EHLO:
		return al > 0 && al <= 255 && strchr(out->arg, ' ') == NULL ?
		    SMTP_P_OK : SMTP_P_SYNTAX;
	case SMTP_V_MAIL:
	case SMTP_V_RCPT:
		return parse_mail_rcpt(p, end, out);
	case SMTP_V_DATA:
	case SMTP_V_RSET:
	case SMTP_V_QUIT:
	case SMTP_V_STARTTLS:
		return al == 0 ? SMTP_P_OK : SMTP_P_SYNTAX;
	case SMTP_V_AUTH:
		return al > 0 ? SMTP_P_OK : SMTP_P_SYNTAX;
	default:
		return SMTP_P_OK;	/* NOOP, VRFY, HELP: argument ignored */
	}
}

/* ---- DATA ---- */

enum dstate {
	D_SOL,		/* at the start of a line (after CRLF, or data start) */
	D_DOT,		/* "." at the start of a line */
	D_DOTCR,	/* "." CR at the start of a line */
	D_MID,		/* inside a line */
	D_CR,		/* CR inside a line */
};

void
smtp_data_init(struct smtp_data *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->state = D_SOL;
	d->max = max;
}

void
smtp_data_free(struct smtp_data *d)
{
	wipe_free(d->out, d->out_cap);
	d->out = NULL;
	d->out_len = d->out_cap = 0;
}

static void
set_err(struct smtp_data *d, int e)
{
	if (d->err == SMTP_D_OK)
		d->err = e;
}

/* Append to the output unless an error already condemned the message. */
static int
emit(struct smtp_data *d, const char *p, size_t n)
{
	if (d->err != SMTP_D_OK)
		return 0;
	d->total += n;
	if (d->total > d->max) {
		set_err(d, SMTP_D_SIZE);
		return 0;
	}
	if (d->out_len + n > d->out_cap) {
		size_t cap = d->out_cap ? d->out_cap : 4096;
		while (cap < d->out_len + n)
			cap *= 2;
		if (cap > d->max + 2)
			cap = d->max + 2;
		/* The message text: the old block is wiped, never left behind. */
		char *nb = wipe_grow(d->out, d->out_len, cap);
		if (nb == NULL)
			return -1;
		d->out = nb;
		d->out_cap = cap;
	}
	memcpy(d->out + d->out_len, p, n);
	d->out_len += n;
	return 0;
}

/* One ordinary text octet inside a line. */
static int
text_octet(struct smtp_data *d, char ch)
{
	if (ch == '\0')
		set_err(d, SMTP_D_NUL);
	if ((unsigned char)ch >= 0x80)
		d->eightbit = 1;
	d->line++;
	/* 998 octets of text + CRLF = 1000 (RFC 5321 4.5.3.1.6). */
	if (d->line > SMTP_TEXT_MAX - 2)
		set_err(d, SMTP_D_LONG);
	d->state = D_MID;
	return emit(d, &ch, 1);
}

static int
data_step(struct smtp_data *d, char ch)
{
	switch (d->state) {
	case D_SOL:
		if (ch == '.') {
			d->state = D_DOT;
			return 0;
		}
		break;
	case D_DOT:
		if (ch == '\r') {
			d->state = D_DOTCR;
			return 0;
		}
		/* Dot-unstuffing: the leading dot goes, the rest is text. */
		d->line = 1;
		break;
	case D_DOTCR:
		if (ch == '\n') {
			d->done = 1;
			return 0;
		}
		/* ".<CR>x": a bare CR after the dot; count the dot as text. */
		set_err(d, SMTP_D_BARE_CR);
		d->line = 1;
		d->state = D_MID;
		break;
	case D_CR:
		if (ch == '\n') {
			d->state = D_SOL;
			d->line = 0;
			return emit(d, "\r\n", 2);
		}
		set_err(d, SMTP_D_BARE_CR);
		d->state = D_MID;
		break;
	default:
		break;
	}
	if (ch == '\r') {
		d->state = D_CR;
		return 0;
	}
	if (ch == '\n') {
		/* A bare LF never starts a line: "\n.\n" must not end the data. */
		set_err(d, SMTP_D_BARE_LF);
		d->state = D_MID;
		return 0;
	}
	return text_octet(d, ch);
}

long
smtp_data_feed(struct smtp_data *d, const char *in, size_t n)
{
	size_t i = 0;

	while (i < n && !d->done) {
		/* Fast path: copy a run of plain text octets in one go. */
		if (d->state == D_MID) {
			size_t j = i;
			while (j < n && in[j] != '\r' && in[j] != '\n' && in[j] != '\0' &&
			    (unsigned char)in[j] < 0x80 && d->line + (j - i) < SMTP_TEXT_MAX - 2)
				j++;
			if (j > i) {
				d->line += j - i;
				if (emit(d, in + i, j - i) != 0)
					return -1;
				i = j;
				continue;
			}
		}
		if (data_step(d, in[i]) != 0)
			return -1;
		i++;
	}
	return (long)i;
}
