/*
 * dsn.h - delivery status notifications (RFC 3464, multipart/report).
 *
 * Sent to the envelope sender on permanent failure or queue-lifetime
 * expiry; never for a null sender (MAIL FROM:<>), which would loop.
 *
 * The report has three parts: a human-readable text/plain part (fixed
 * wording, no content), message/delivery-status with per-message and
 * per-recipient fields, and text/rfc822-headers (RFC 6522) with a subset
 * of the original header.  No body, ever: it may hold health information.
 *
 * Which original fields are returned: an ALLOW-list, not a block-list.
 * The spec requires at least Subject to go; but health information can sit
 * in many other fields (Thread-Topic, Keywords, Comments, Content-Description,
 * a top-level Content-Type/Content-Disposition filename=, client X- fields,
 * Received lines naming a clinic's hosts ...) and the set of possible names
 * is open-ended, so only addressing and identification fields the sender
 * needs to recognise the message are returned: From, Sender, Reply-To, To,
 * Cc, Date, Message-ID, In-Reply-To, References, MIME-Version.  Bcc is never
 * returned (it would disclose blind recipients into a mailbox copy).
 */
#ifndef NTAMSA_OUTBOUND_DSN_H
#define NTAMSA_OUTBOUND_DSN_H

#include <stddef.h>
#include <time.h>

#define OUT_DSN_MAX (1024 * 1024)	/* cap on the report size (1000 recipients fit) */
#define OUT_DSN_RCPT_MAX 1000

enum out_dsn_err {
	OUT_DSN_OK = 0,
	OUT_DSN_ERR = -1,	/* bad arguments / malformed input */
	OUT_DSN_NONE = -2,	/* null sender: no DSN is sent */
	OUT_DSN_SPACE = -3,	/* over OUT_DSN_MAX */
};

/* One recipient's fate (RFC 3464 2.3). */
struct out_dsn_rcpt {
	const char *rcpt;		/* envelope recipient (rfc822;...) */
	const char *orcpt;		/* ORCPT if given, else NULL */
	const char *action;		/* "failed" or "delayed" */
	const char *status;		/* "5.1.10", "4.4.7" ... */
	const char *remote_mta;		/* host name or NULL */
	const char *diagnostic;		/* the remote reply (one line) or NULL */
	time_t last_attempt;		/* 0 = omit */
};

struct out_dsn_info {
	const char *reporting_mta;	/* server.hostname */
	const char *sender;		/* envelope sender; "" = null sender */
	const char *envid;		/* ENVID or NULL */
	time_t arrival;
	time_t now;
	int expired;			/* lifetime expiry (text wording only) */
};

/*
 * Build the complete DSN message (header + body, CRLF lines, 7bit) into a
 * malloc'd buffer *out (caller frees).  hdr[0..hdr_len) is the original
 * header block (may be NULL/0).  From: is MAILER-DAEMON@reporting_mta, To:
 * the sender; it is itself sent with a null envelope sender.
 */
int out_dsn_build(const struct out_dsn_info *info, const struct out_dsn_rcpt *r,
    size_t n, const char *hdr, size_t hdr_len, char **out, size_t *out_len);

/* 1 when a header field of this name is copied into the DSN. */
int out_dsn_keeps_field(const char *name, size_t n);

#endif
