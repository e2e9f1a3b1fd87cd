/*
 * rewrite.h - outgoing header rules (spec R-HDR-1..4, R-CLS-2).
 *
 * Works on the raw bytes of the top-level header block only, field by field
 * (a field = its first line plus folded continuation lines), never re-folding
 * or re-encoding: what DKIM signs is exactly what leaves.  The body is not
 * touched; the caller streams it unchanged after the rewritten header.
 *
 * Rules, applied on every channel:
 *   - drop every client-submitted X-NTA7516 (R-HDR-1)
 *   - drop submission-only steering headers (R-HDR-4): X-NTA7516-Classify,
 *     X-NTA7516-Phone, X-NTA7516-Access-Code, and any other X-NTA7516-*
 *   - remove one leading "[veilig]" / "[secure]" tag from Subject (R-CLS-2)
 * and on the NTA channels (dane, bijlage-c, bijlage-b) only:
 *   - drop every Bijlage A field (R-HDR-2) plus the operator's extra names
 *   - add exactly one "X-NTA7516: <provider_id>" when the sender's domain is
 *     compliant (R-HDR-1), as the first field.
 *
 * Lines end in CRLF (the stored message is SMTP-canonical); a bare LF line
 * ending is accepted in input and kept as it is.
 */
#ifndef NTAMSA_OUTBOUND_REWRITE_H
#define NTAMSA_OUTBOUND_REWRITE_H

#include <stddef.h>

#include "common/config.h"

#define OUT_HDR_MAX (1024 * 1024)	/* header block cap: larger is refused */

enum out_rw_err {
	OUT_RW_OK = 0,
	OUT_RW_EINVAL = -1,	/* bad arguments or malformed header block */
	OUT_RW_ESPACE = -2,	/* output buffer too small */
	OUT_RW_ETOOBIG = -3,	/* header block over OUT_HDR_MAX / no end found */
};

struct out_rw_opts {
	int nta_channel;		/* dane / bijlage-c / bijlage-b */
	int sender_compliant;		/* out_policy_sender_compliant() */
	const char *provider_id;	/* nta.provider_id; "" or NULL = never add */
	const struct config_list *extra_strip;	/* &c->nta_strip_header (operator-added
					 * field names), may be NULL */
};

/*
 * Length of the header block in msg[0..len), including the empty line that
 * ends it (CRLF CRLF, or LF LF); a message with no body gives its whole
 * length when it ends after a complete field.  -> OUT_RW_ETOOBIG when no end
 * is found within min(len, OUT_HDR_MAX).
 */
int out_rw_header_len(const char *msg, size_t len, size_t *hdr_len);

/*
 * Rewrite the header block hdr[0..len) (as measured by out_rw_header_len,
 * i.e. with its terminating empty line) into out (capacity cap); the empty
 * line is kept at the end.  cap >= len + out_rw_extra(opts) always suffices.
 */
int out_rw_header(const char *hdr, size_t len, const struct out_rw_opts *o,
    char *out, size_t cap, size_t *out_len);

/* Upper bound on the bytes the rewrite may add. */
size_t out_rw_extra(const struct out_rw_opts *o);

/* 1 when name (length n) is a Bijlage A field (case-insensitive), else 0. */
int out_rw_is_bijlage_a(const char *name, size_t n);

/*
 * The domain of the first address in the From: field (lower-cased), for
 * DKIM d= and the sender-compliance check.  0 OK, OUT_RW_EINVAL when there
 * is no From: or no parsable address.
 */
int out_rw_from_domain(const char *hdr, size_t len, char *domain, size_t cap);

#endif
