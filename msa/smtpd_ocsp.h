/*
 * smtpd_ocsp.h - OCSP stapling for smtpd's TLS contexts (spec section 7:
 * "OCSP stapling when the certificate names a responder").
 *
 * One background thread fetches and verifies the response for the
 * current context's leaf certificate; handshakes only ever copy a cached,
 * verified response and never wait for a fetch.  Not a public API.
 */
#ifndef NTAMSA_MSA_SMTPD_OCSP_H
#define NTAMSA_MSA_SMTPD_OCSP_H

#include <openssl/ssl.h>

struct smtp_ocsp;

/* Stapling state without a thread yet; NULL when out of memory. */
struct smtp_ocsp *smtp_ocsp_new(void);

/*
 * Staple for ctx from now on: installs the status callback on ctx and
 * reads its leaf certificate, responder URL and issuer (from the chain
 * file).  The previous context's response is dropped at once, so it is
 * never stapled for ctx, and the thread fetches for ctx without waiting.
 * Call before ctx is handed to sessions.  0 OK (stapling or not), -1 when
 * out of memory (ctx then staples nothing).  o NULL: nothing happens.
 */
int smtp_ocsp_use_ctx(struct smtp_ocsp *o, SSL_CTX *ctx);

/*
 * Start the fetch thread (every signal blocked in it).  Call after the
 * privilege drop: the fetches run as server.user.  0 OK, -1 not started.
 */
int smtp_ocsp_start(struct smtp_ocsp *o);

/* Stop and join the thread (waits for a fetch under way, at most 10 s). */
void smtp_ocsp_stop(struct smtp_ocsp *o);

/*
 * Stop, then free.  No context given to smtp_ocsp_use_ctx may be used for
 * a handshake afterwards (its status callback points here).
 */
void smtp_ocsp_free(struct smtp_ocsp *o);

#endif
