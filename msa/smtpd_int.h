/*
 * smtpd_int.h - pieces shared by the smtpd source files (not a public API):
 * the TLS context (smtpd_tls.c) and the authentication helpers
 * (smtpd_auth.c: SASL decoding and the failure/lock-out table).
 */
#ifndef NTAMSA_MSA_SMTPD_INT_H
#define NTAMSA_MSA_SMTPD_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "common/config.h"

/* A server SSL_CTX with NCSC "goed" settings (spec section 7). */
SSL_CTX *smtp_tls_ctx_new(const struct config *c, char *err, size_t errlen);

/*
 * SASL PLAIN (RFC 4616) message in base64 -> user and password.  The
 * authorization identity must be empty or equal to the user.  0 OK, -1 bad.
 */
int smtp_sasl_plain(const char *b64, char *user, size_t ulen, char *pw, size_t pwlen,
    size_t *pwused);
/* Decode one base64 line into out (NUL-terminated); -1 when invalid or too long. */
int smtp_b64_decode(const char *b64, char *out, size_t outlen, size_t *used);

/*
 * CRAM-MD5 (RFC 2195; opt-in, see smtpd_auth.c).  _secret: the stored form
 * (hex HMAC-MD5 key) of a password.  _challenge: "<random.time@host>" in
 * chal and its base64 in b64.  _response: split the client's base64 answer
 * into user and the 16-octet digest.  _verify: constant-time check; an
 * empty secret (account without one) always fails after the same work.
 * All 0 OK, -1 bad.
 */
int smtp_cram_secret(const char *pw, size_t pwlen, char *hex, size_t hexlen);
int smtp_cram_challenge(const char *hostname, char *chal, size_t chlen, char *b64,
    size_t b64len);
int smtp_cram_response(const char *b64, char *user, size_t ulen, unsigned char digest[16]);
int smtp_cram_verify(const char *secret_hex, const char *chal, const unsigned char digest[16]);

/* ---- failed logins: per client IP and per account ---- */
struct smtp_locks;
struct smtp_locks *smtp_locks_new(int64_t limit, int64_t lockout_secs);
void smtp_locks_free(struct smtp_locks *l);
/* 1 when key is locked out at now. */
int smtp_locks_locked(struct smtp_locks *l, const char *key, time_t now);
/* Count a failure; returns the failures counted so far in this window. */
int smtp_locks_fail(struct smtp_locks *l, const char *key, time_t now);
void smtp_locks_clear(struct smtp_locks *l, const char *key);

/* ---- verified-login cache (see smtpd_auth.c for the trade-off) ---- */
#define SMTP_AUTHCACHE_TTL 600		/* seconds */
struct smtp_authcache;
struct smtp_authcache *smtp_authcache_new(void);
void smtp_authcache_free(struct smtp_authcache *c);
int smtp_authcache_hit(struct smtp_authcache *c, const char *user, const char *pw,
    size_t pwlen, const char *pwhash, time_t now);
void smtp_authcache_put(struct smtp_authcache *c, const char *user, const char *pw,
    size_t pwlen, const char *pwhash, time_t now);

/* ---- hourly sending rate per account (smtpd_rate.c) ---- */
struct smtp_rate;
struct store;
struct smtp_rate *smtp_rate_new(struct store *st);
void smtp_rate_free(struct smtp_rate *r);
/* Messages the account committed in the last hour: 0 OK, -1 store error. */
int smtp_rate_count(struct smtp_rate *r, const char *account, time_t now, int64_t *n);
/* Count one commit made by this process. */
void smtp_rate_add(struct smtp_rate *r, const char *account);

/* ---- the server and its sessions (smtpd.c, smtpd_session.c) ---- */
struct keys_pub;
struct smtp_ocsp;

/*
 * Messages are held in memory from DATA to commit; all sessions together
 * hold at most this much, beyond which DATA answers 452 4.3.1 (clients
 * retry) rather than let many large messages exhaust memory.
 */
#define SMTP_DATA_BUDGET ((size_t)512 * 1024 * 1024)

struct smtp_server {
	const struct config *cfg;
	struct store *store;
	struct keys_pub *pub;		/* swapped on SIGHUP or STORE_KEY: pub_lock */
	pthread_rwlock_t pub_lock;
	struct smtp_locks *locks;
	struct smtp_authcache *authcache;
	struct smtp_rate *rate;
	struct smtp_ocsp *ocsp;		/* NULL: server.ocsp_stapling = no */
	int wake_fd;
	char dummy_hash[256];		/* verified for unknown users: same cost */
	atomic_size_t buffered;		/* octets of DATA held by all sessions */
	size_t data_budget;		/* SMTP_DATA_BUDGET (tests may lower it) */
	volatile int stopping;		/* shutdown: answer 421 4.3.2 */
	int stop_fd;			/* readable once stopping: wakes idle sessions */
};

struct smtp_session;
struct store_msg;

/*
 * A new message sealed with the current public key (read under pub_lock,
 * so a concurrent reload never frees the key in use).  Store error codes.
 */
int smtp_server_msg_new(struct smtp_server *srv, struct store_msg **out);
/*
 * Load the public key named by keys/current again (after `keys rotate`;
 * a commit sealed to a retired key fails with STORE_KEY).  0 OK, -1 kept
 * the old one.
 */
int smtp_server_reload_pub(struct smtp_server *srv);

/* The TLS context for a new session (a reference: SSL_CTX_free it). */
SSL_CTX *smtp_server_ctx(struct smtp_server *srv);
/* Run one session on fd to its end; closes fd. */
void smtp_session_run(struct smtp_server *srv, int fd, int implicit_tls,
    const struct sockaddr_storage *peer);

#endif
