/*
 * dsn.c - RFC 3464 delivery status notifications without message content.
 *
 * Every value that comes from outside (addresses, the remote reply, the
 * original header fields) is made single-line 7-bit ASCII before it goes
 * in, so a hostile reply cannot inject header fields or MIME parts.
 */
#include "outbound/dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define VALUE_MAX 900		/* keeps every line under 998 octets (RFC 5322) */

/* The only original fields the DSN carries (see dsn.h for why). */
static const char *const keep_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Date", "Message-ID",
	"In-Reply-To", "References", "MIME-Version",
};

int
out_dsn_keeps_field(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(keep_fields) / sizeof(keep_fields[0]); i++)
		if (strlen(keep_fields[i]) == n && strncasecmp(name, keep_fields[i], n) == 0)
			return 1;
	return 0;
}

struct dbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void
db_put(struct dbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (n > OUT_DSN_MAX - b->len) {
		b->err = OUT_DSN_SPACE;
		return;
	}
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		char *np;

		while (nc < b->len + n)
			nc *= 2;
		if (nc > OUT_DSN_MAX)
			nc = OUT_DSN_MAX;
		if ((np = realloc(b->p, nc)) == NULL) {
			b->err = OUT_DSN_ERR;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
db_str(struct dbuf *b, const char *s)
{
	db_put(b, s, strlen(s));
}

/* Append s as one line of printable ASCII: controls and 8-bit become '?'. */
static void
db_clean(struct dbuf *b, const char *s)
{
	char tmp[VALUE_MAX + 1];
	size_t i;

	for (i = 0; s[i] != '\0' && i < VALUE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		tmp[i] = c >= 0x20 && c < 0x7f ? (char)c : (c == '\t' ? ' ' : '?');
	}
	db_put(b, tmp, i);
}

static void
db_field(struct dbuf *b, const char *name, const char *prefix, const char *v)
{
	db_str(b, name);
	db_str(b, ": ");
	db_str(b, prefix);
	db_clean(b, v);
	db_str(b, "\r\n");
}

static void
db_date(struct dbuf *b, const char *name, time_t t)
{
	struct tm tm;
	char d[64];

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0) {
		b->err = OUT_DSN_ERR;
		return;
	}
	db_field(b, name, "", d);
}

static void
random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	randombytes_buf(r, bytes);
	sodium_bin2hex(out, 2 * bytes + 1, r, bytes);
}

/* Copy the allowed original fields raw, with continuation lines. */
static void
db_orig_header(struct dbuf *b, const char *h, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(h + off, '\n', len - off);
		size_t start = off, l = nl != NULL ? (size_t)(nl - (h + off)) + 1 : len - off;
		const char *colon;
		size_t k, i;

		if ((l == 2 && h[off] == '\r') || (l == 1 && h[off] == '\n'))
			break;
		off += l;
		while (off < len && (h[off] == ' ' || h[off] == '\t')) {
			nl = memchr(h + off, '\n', len - off);
			off = nl != NULL ? (size_t)(nl - h) + 1 : len;
		}
		colon = memchr(h + start, ':', off - start);
		if (colon == NULL)
			continue;
		k = (size_t)(colon - (h + start));
		while (k > 0 && (h[start + k - 1] == ' ' || h[start + k - 1] == '\t'))
			k--;
		if (!out_dsn_keeps_field(h + start, k))
			continue;
		/* Raw bytes, but 7-bit and CRLF only: the report is 7bit. */
		for (i = start; i < off; i++) {
			unsigned char c = (unsigned char)h[i];

			if (c == '\n' && (i == start || h[i - 1] != '\r'))
				db_put(b, "\r\n", 2);
			else if (c == '\r' && (i + 1 >= off || h[i + 1] != '\n'))
				db_put(b, "?", 1);
			else if (c >= 0x80 || (c < 0x20 && c != '\t' && c != '\r' && c != '\n'))
				db_put(b, "?", 1);
			else
				db_put(b, (const char *)&h[i], 1);
		}
		if (h[off - 1] != '\n')
			db_put(b, "\r\n", 2);
	}
}

static void
db_rcpt(struct dbuf *b, const struct out_dsn_rcpt *r)
{
	db_str(b, "\r\n");
	if (r->orcpt != NULL && r->orcpt[0] != '\0')
		db_field(b, "Original-Recipient", strchr(r->orcpt, ';') ? "" : "rfc822; ",
		    r->orcpt);
	db_field(b, "Final-Recipient", "rfc822; ", r->rcpt);
	db_field(b, "Action", "", r->action);
	db_field(b, "Status", "", r->status);
	if (r->remote_mta != NULL && r->remote_mta[0] != '\0')
		db_field(b, "Remote-MTA", "dns; ", r->remote_mta);
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0')
		db_field(b, "Diagnostic-Code", "smtp; ", r->diagnostic);
	if (r->last_attempt != 0)
		db_date(b, "Last-Attempt-Date", r->last_attempt);
}

static int
rcpt_ok(const struct out_dsn_rcpt *r)
{
	return r->rcpt != NULL && r->action != NULL && r->status != NULL &&
	    (strcmp(r->action, "failed") == 0 || strcmp(r->action, "delayed") == 0) &&
	    (r->status[0] == '2' || r->status[0] == '4' || r->status[0] == '5') &&
	    r->status[1] == '.';
}

static void
db_text_part(struct dbuf *b, const struct out_dsn_info *info,
    const struct out_dsn_rcpt *r, size_t n)
{
	size_t i;

	db_str(b, "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	db_str(b, "This is the mail system at ");
	db_clean(b, info->reporting_mta);
	db_str(b, ".\r\n\r\n");
	if (info->expired)
		db_str(b, "Your message could not be delivered within the time the\r\n"
		    "mail system keeps trying, to the recipients below.\r\n");
	else
		db_str(b, "Your message could not be delivered to the recipients below.\r\n");
	/* No Subject, no body: either may hold health information. */
	db_str(b, "For privacy, this report does not contain the subject or the\r\n"
	    "text of your message, only its addressing fields.\r\n\r\n");
	for (i = 0; i < n; i++) {
		db_str(b, "<");
		db_clean(b, r[i].rcpt);
		db_str(b, ">: ");
		db_clean(b, r[i].status);
		if (r[i].diagnostic != NULL && r[i].diagnostic[0] != '\0') {
			db_str(b, " (");
			db_clean(b, r[i].diagnostic);
			db_str(b, ")");
		}
		db_str(b, "\r\n");
	}
}

/* The report's own header, up to the first boundary line. */
static void
db_top_header(struct dbuf *b, const struct out_dsn_info *info,
    const char *boundary, const char *mid)
{
	db_str(b, "From: Mail Delivery System <MAILER-DAEMON@");
	db_clean(b, info->reporting_mta);
	db_str(b, ">\r\n");
	db_field(b, "To", "", info->sender);
	db_str(b, info->expired ? "Subject: Undelivered Mail (delivery time expired)\r\n" :
	    "Subject: Undelivered Mail Returned to Sender\r\n");
	db_date(b, "Date", info->now);
	db_str(b, "Message-ID: <");
	db_str(b, mid);
	db_str(b, "@");
	db_clean(b, info->reporting_mta);
	db_str(b, ">\r\n");
	db_str(b, "Auto-Submitted: auto-replied\r\n");	/* RFC 3834 */
	db_str(b, "MIME-Version: 1.0\r\n");
	db_str(b, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"");
	db_str(b, boundary);
	db_str(b, "\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
	db_str(b, "This is a MIME-encapsulated message.\r\n\r\n--");
	db_str(b, boundary);
	db_str(b, "\r\n");
}

int
out_dsn_build(const struct out_dsn_info *info, const struct out_dsn_rcpt *r,
    size_t n, const char *hdr, size_t hdr_len, char **out, size_t *out_len)
{
	struct dbuf b = {0};
	char boundary[64], mid[64];
	size_t i;

	if (out == NULL || out_len == NULL)
		return OUT_DSN_ERR;
	*out = NULL;
	*out_len = 0;
	if (info == NULL || info->reporting_mta == NULL || r == NULL || n == 0 ||
	    n > OUT_DSN_RCPT_MAX || (hdr == NULL && hdr_len > 0))
		return OUT_DSN_ERR;
	/* RFC 3464 / RFC 5321 6.1: never a DSN about a DSN (null sender). */
	if (info->sender == NULL || info->sender[0] == '\0' ||
	    strcmp(info->sender, "<>") == 0)
		return OUT_DSN_NONE;
	for (i = 0; i < n; i++)
		if (!rcpt_ok(&r[i]))
			return OUT_DSN_ERR;
	if (sodium_init() < 0)
		return OUT_DSN_ERR;
	memcpy(boundary, "ntamsa-dsn-", 11);
	random_hex(boundary + 11, 16);
	random_hex(mid, 16);

	db_top_header(&b, info, boundary, mid);
	db_text_part(&b, info, r, n);

	db_str(&b, "\r\n--");
	db_str(&b, boundary);
	db_str(&b, "\r\nContent-Type: message/delivery-status\r\n\r\n");
	db_field(&b, "Reporting-MTA", "dns; ", info->reporting_mta);
	if (info->envid != NULL && info->envid[0] != '\0')
		db_field(&b, "Original-Envelope-Id", "", info->envid);
	if (info->arrival != 0)
		db_date(&b, "Arrival-Date", info->arrival);
	for (i = 0; i < n; i++)
		db_rcpt(&b, &r[i]);

	db_str(&b, "\r\n--");
	db_str(&b, boundary);
	db_str(&b, "\r\nContent-Type: text/rfc822-headers\r\n\r\n");
	if (hdr != NULL)
		db_orig_header(&b, hdr, hdr_len);
	db_str(&b, "\r\n--");
	db_str(&b, boundary);
	db_str(&b, "--\r\n");

	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*out_len = b.len;
	return OUT_DSN_OK;
}
