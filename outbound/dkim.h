/*
 * dkim.h - DKIM signing of outgoing mail (RFC 6376, spec R-DKIM-1).
 *
 * a=rsa-sha256, c=simple/simple, no l=; RSA keys of at least 2048 bits.
 * d= is the domain of the From: address: the key is chosen per sending
 * domain from the dkim.domain lines ("DOMAIN SELECTOR KEYFILE"), else the
 * default dkim.selector/dkim.key (whose d= is still the From: domain).
 * Key rotation without a gap: publish the new selector, then switch the
 * line; both keys verify while both DNS records exist.  A domain may have
 * several lines (at most 4): the message gets one signature per key, so
 * old and new keys can overlap, and an Ed25519 key (RFC 8463,
 * a=ed25519-sha256) adds a second signature.  Each domain needs an RSA
 * key: Ed25519 only comes in addition (R-DKIM-1).
 *
 * Signed header fields: From (listed twice: over-signing, so a second From
 * cannot be added), To, Cc, Subject, Date, Message-ID, MIME-Version,
 * Content-Type, X-NTA7516 - each only as often as present, except From.
 *
 * Signing is streaming: begin with the (already rewritten) header block,
 * feed the body in any pieces, end to get the DKIM-Signature field, which
 * the caller puts in front of the header block.  Only the deliver worker
 * loads keys (DESIGN.md "Processes and keys").
 */
#ifndef NTAMSA_OUTBOUND_DKIM_H
#define NTAMSA_OUTBOUND_DKIM_H

#include <stddef.h>
#include <time.h>

#include "common/config.h"

#define OUT_DKIM_MIN_BITS 2048
#define OUT_DKIM_DEFAULT_BITS 3072
#define OUT_DKIM_MAX_BITS 8192
#define OUT_DKIM_SIG_MAX 8192		/* all DKIM-Signature fields incl. CRLFs */

enum out_dkim_err {
	OUT_DKIM_OK = 0,
	OUT_DKIM_ERR = -1,	/* I/O, OpenSSL or bad input */
	OUT_DKIM_NOKEY = -2,	/* no key for this From: domain */
	OUT_DKIM_WEAK = -3,	/* key is not RSA >= 2048 */
	OUT_DKIM_SPACE = -4,	/* output buffer too small */
};

struct out_dkim;		/* loaded keys, by domain */
struct out_dkim_sig;		/* one signing operation in progress */

/* Load every configured key (dkim.key, dkim.domain).  err says which file. */
int out_dkim_load(const struct config *c, struct out_dkim **out, char *err,
    size_t errlen);
void out_dkim_free(struct out_dkim *k);

/*
 * Start signing a message whose header block (with its ending empty line)
 * is hdr[0..len).  d= from the From: domain.  OUT_DKIM_NOKEY when no key
 * fits (caller decides: the spec says all outgoing mail is signed).
 */
int out_dkim_begin(const struct out_dkim *k, const char *hdr, size_t len,
    struct out_dkim_sig **out);

/* Feed body bytes (after the empty line), in any piece sizes. */
int out_dkim_body(struct out_dkim_sig *s, const void *buf, size_t len);

/*
 * Finish: write the "DKIM-Signature: ...\r\n" field(s) (folded, CRLF) into
 * out, with t=now; the caller puts them in front of the header block.
 * Frees s in every case.
 */
int out_dkim_end(struct out_dkim_sig *s, time_t now, char *out, size_t cap,
    size_t *out_len);

/* Abandon a signing operation. */
void out_dkim_abort(struct out_dkim_sig *s);

/*
 * Generate an RSA key of bits (2048..8192), write it as PKCS#8 PEM to path
 * with mode 0600 (refusing to overwrite), and put the DNS TXT record
 * "SELECTOR._domainkey.DOMAIN. IN TXT ( "v=DKIM1; k=rsa; p=..." )" into txt.
 */
int out_dkim_keygen(const char *domain, const char *selector, int bits,
    const char *path, char *txt, size_t txtcap, char *err, size_t errlen);

/* The same for type "rsa" (bits as above) or "ed25519" (bits ignored). */
int out_dkim_keygen_type(const char *domain, const char *selector,
    const char *type, int bits, const char *path, char *txt, size_t txtcap,
    char *err, size_t errlen);

#endif
