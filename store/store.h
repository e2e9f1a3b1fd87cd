/*
 * store.h - the SQLite message store: queue, recipients, attempts,
 * accounts, audit log, and AES-256-GCM encrypted message blobs.
 *
 * One database file <data_dir>/ntamsa.db shared by the processes (WAL,
 * synchronous=FULL, secure_delete, foreign keys, busy timeout, BEGIN
 * IMMEDIATE for writes).  A struct store is one connection; it is safe to
 * share between threads (calls serialise on an internal mutex), and
 * store_msg_commit() from many threads group-commits them.
 *
 * Blobs: per message a random 256-bit DK; the blob is cut into chunks
 * (STORE_CHUNK bytes of plaintext), each AES-256-GCM with a unique nonce and
 * AAD = message id || chunk index || final flag, stored as one row per chunk.
 * The DK is sealed to the store public key (keys_dk_seal).  Writing needs the
 * public key only; reading needs the secret key ring.
 *
 * Return values: STORE_OK (0) or a negative enum store_err.  Nothing of a
 * message's content is ever written in plaintext: not to a column, a log
 * line, a temp file or an error string.
 */
#ifndef NTAMSA_STORE_STORE_H
#define NTAMSA_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "keys/keys.h"

#define STORE_CHUNK (64 * 1024)
#define STORE_ID_LEN 33			/* 32 hex chars + NUL */
#define STORE_ADDR_MAX 320		/* RFC 5321 path, with room */

enum store_err {
	STORE_OK = 0,
	STORE_ERR = -1,		/* other SQLite / I/O failure */
	STORE_NOSPACE = -2,	/* disk full: temporary for SMTP (452 4.3.1) */
	STORE_RDONLY = -3,	/* database or directory read-only */
	STORE_CORRUPT = -4,	/* not a database / malformed */
	STORE_NOTFOUND = -5,
	STORE_TAMPER = -6,	/* authentication of a chunk failed */
	STORE_SHREDDED = -7,	/* the data key is gone */
	STORE_KEY = -8,		/* no secret key for this message */
	STORE_TOOBIG = -9,
	STORE_EXISTS = -10,
};

const char *store_strerror(int err);

struct store;

/* Open (creating and migrating the schema) <data_dir>/ntamsa.db. */
int store_open(const char *data_dir, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/* ---- writing a message: needs the public key only ---- */

struct store_msg;

struct store_meta {
	const char *account;		/* authenticated user */
	const char *mail_from;		/* envelope sender ("" = null sender) */
	const char *message_id;		/* Message-ID header value */
	int cls_health;			/* classifier verdict: 1 health, 0 clean */
	int cls_score;
	const char *cls_reasons;	/* reason codes, space separated; no matched text */
	int cls_forced;			/* sender forced secure (R-CLS-2) */
	int body_8bit;			/* BODY=8BITMIME or 8bit content */
};

int store_msg_new(struct store *s, const struct keys_pub *pub, struct store_msg **out);
const char *store_msg_id(const struct store_msg *m);
/* Stream plaintext in; encrypted chunks go to the database as they fill. */
int store_msg_write(struct store_msg *m, const void *data, size_t len);
int store_msg_add_rcpt(struct store_msg *m, const char *addr);
/*
 * Make the message, its recipients and sealed DK visible in one durable
 * transaction; returns only after fsync.  Concurrent callers share one
 * transaction (group commit).  Frees m whatever the outcome.
 */
int store_msg_commit(struct store_msg *m, const struct store_meta *meta);
void store_msg_abort(struct store_msg *m);

/* ---- reading a message: needs the secret key ring ---- */

struct store_reader;

int store_reader_open(struct store *s, const struct keys_ring *ring,
    const char *msg_id, struct store_reader **out);
/* Returns bytes read, 0 at the authenticated end, negative on error. */
ssize_t store_reader_read(struct store_reader *r, void *buf, size_t len);
void store_reader_close(struct store_reader *r);

/*
 * For the portal channel (DESIGN: the DK re-wrapped under a key from the
 * link secret): open a message's DK into dk (guarded memory, KEYS_DK_LEN),
 * and read a message with such a DK, no key ring, also after shredding.
 */
int store_msg_dk(struct store *s, const struct keys_ring *ring, const char *msg_id,
    uint8_t *dk);
int store_reader_open_dk(struct store *s, const uint8_t *dk, const char *msg_id,
    struct store_reader **out);

/* Delete the sealed DK (crypto-shredding) and checkpoint the WAL. */
int store_msg_shred(struct store *s, const char *msg_id);
/* Remove a message with its chunks, recipients kept in the audit log. */
int store_msg_delete(struct store *s, const char *msg_id);

/* Reseal every DK sealed to another key id to pub; count in *n. */
int store_reseal_all(struct store *s, const struct keys_ring *ring,
    const struct keys_pub *pub, size_t *n);
/* How many live sealed DKs each key id protects (for keys status). */
int store_count_by_key(struct store *s, uint32_t key_id, int64_t *n);
/*
 * Before destroying the secret of key_id: in one write transaction, count
 * the live DKs sealed to it (*left) and, when there are none, record the key
 * as retired.  From then on the database refuses any DK sealed to it: a
 * server still holding the old public key gets STORE_KEY at commit (and
 * answers 4xx, so the client retries) rather than storing a message nobody
 * can ever open.  Destroy the secret only when this returns STORE_OK with
 * *left == 0.
 */
int store_key_retire(struct store *s, uint32_t key_id, int64_t *left);

/* ---- accounts ---- */

#define STORE_LIST_MAX 32
#define STORE_CRAM_SECRET_MAX 160	/* 128 hex digits + NUL, rounded */

struct store_account {
	char address[STORE_ADDR_MAX];
	char pwhash[256];		/* crypto_pwhash_str (Argon2id) */
	int rate_per_hour;
	size_t n_allow_from;
	char allow_from[STORE_LIST_MAX][STORE_ADDR_MAX];	/* addr or *@domain */
	size_t n_allow_ip;
	char allow_ip[STORE_LIST_MAX][64];			/* CIDR */
	time_t created;
	/*
	 * CRAM-MD5 secret: hex of the HMAC-MD5 key (the password, or its MD5
	 * when longer than 64 octets); "" = none (NULL in the database).  It
	 * is password-equivalent: set only on the operator's explicit choice.
	 */
	char cram_secret[STORE_CRAM_SECRET_MAX];
};

int store_account_put(struct store *s, const struct store_account *a);	/* insert or replace */
int store_account_get(struct store *s, const char *address, struct store_account *out);
int store_account_del(struct store *s, const char *address);
int store_account_list(struct store *s,
    int (*cb)(const struct store_account *a, void *arg), void *arg);
/* Messages committed by account since t (rate limiting, R-AUTH-4). */
int store_account_sent_since(struct store *s, const char *address, time_t t, int64_t *n);

/* ---- audit log (no content ever) ---- */
int store_audit(struct store *s, const char *event, const char *msg_id,
    const char *detail);

/* ==== queue (outbound scheduler; store/queue.c, owned by the delivery work) ====
 *
 * Recipient states: queued (due at next_attempt), hold (operator), and the
 * final ones delivered, bounced, portal, deleted.  Each delivery attempt
 * is one row of attempts (R-LOG-1: no content, ever).
 */

#define STORE_RCPT_STATE_MAX 16
#define STORE_REPLY_MAX 512

struct store_rcpt {
	int64_t id;
	char msg_id[STORE_ID_LEN];
	char addr[STORE_ADDR_MAX];
	char domain[256];
	char state[STORE_RCPT_STATE_MAX];
	int attempts;
	time_t next_attempt;		/* 0 = none */
	time_t first_attempt;		/* 0 = never tried */
	char channel[16];
	char reason[64];
	char last_reply[STORE_REPLY_MAX];
	/* from the message */
	time_t created;
	char account[STORE_ADDR_MAX];
	char mail_from[STORE_ADDR_MAX];
	char message_id[STORE_ADDR_MAX];
	int cls_health, cls_score, cls_forced, body_8bit;
	int64_t size;
	int shredded;			/* the data key is gone */
};

/* 1 for delivered, bounced, portal, deleted. */
int store_rcpt_state_final(const char *state);

typedef int (*store_rcpt_cb)(const struct store_rcpt *r, void *arg);

/*
 * Recipients in state queued with next_attempt <= now, grouped by domain
 * (ordered domain, next_attempt), at most max.  cb returning non-zero stops.
 */
int store_queue_due(struct store *s, time_t now, size_t max, store_rcpt_cb cb, void *arg);

/*
 * msg_id NULL: every recipient not deleted (queue list); else every
 * recipient of that message, deleted ones included (queue show).
 */
int store_queue_list(struct store *s, const char *msg_id, store_rcpt_cb cb, void *arg);

/* Earliest next_attempt of a queued recipient; 0 when none. */
int store_queue_next_due(struct store *s, time_t *when);

/*
 * After an attempt: new state, next attempt, channel, reason, last reply;
 * attempts + 1 and first_attempt set if it was unset (when tried != 0).
 */
struct store_rcpt_update {
	const char *state;
	time_t next_attempt;
	const char *channel;		/* NULL = keep */
	const char *reason;		/* NULL = keep */
	const char *last_reply;		/* NULL = keep */
	int tried;			/* count this as an attempt */
	time_t now;
};
int store_rcpt_update(struct store *s, int64_t rcpt_id, const struct store_rcpt_update *u);

/*
 * Operator actions on a message's recipients (rcpt NULL) or one recipient:
 * "hold" (queued -> hold), "release" (hold -> queued, due now), "flush"
 * (queued -> due now), "delete" (non-final -> deleted).  *n = rows changed.
 */
int store_queue_op(struct store *s, const char *op, const char *msg_id,
    const char *rcpt, time_t now, int64_t *n);

/*
 * Recipients of msg_id that still need the message data: not delivered,
 * bounced or deleted (a portal recipient still needs it for the portal).
 */
int store_msg_pending(struct store *s, const char *msg_id, int64_t *n);

/*
 * Crypto-shred every message of ids[] that no recipient needs any more (see
 * store_msg_pending), in one transaction with one WAL checkpoint (the
 * deliver worker calls it once per round).  *shredded = how many.
 */
int store_queue_shred_done(struct store *s, const char *const *ids, size_t n,
    size_t *shredded);

/*
 * outbound.retention: shred messages whose recipients all reached a final
 * state needing no data (delivered, bounced, deleted) before `before`.
 */
int store_queue_shred_retained(struct store *s, time_t before, size_t *shredded);

/* One attempt record: the proof of delivery (R-LOG-1). */
struct store_attempt {
	int64_t rcpt_id;
	const char *msg_id;
	const char *domain;
	time_t time;
	const char *channel, *host, *addr, *tls_version, *cipher;
	const char *peer_cert_sha256;
	const char *auth_result;	/* dane-ee / dane-ta / pkix / pkix+ou / none / failed:... */
	const char *nta_record, *nta_dnssec, *nta_verdict;
	const char *reply;
	const char *result;		/* delivered / deferred / bounced / channel-failed / portal */
};
int store_attempt_add(struct store *s, const struct store_attempt *a);
/* An attempt and the recipient's new state in one transaction (either may be NULL). */
int store_rcpt_record(struct store *s, int64_t rcpt_id, const struct store_rcpt_update *u,
    const struct store_attempt *a);
/*
 * Callers in several threads share one commit (group commit): each returns
 * only when its own record is durable.  Batches committed and records in
 * them since store_open, for the benchmark and tests.
 */
void store_rcpt_record_stats(struct store *s, uint64_t *batches, uint64_t *records);

/* A row of the log export, attempts joined with recipient and message. */
struct store_log_row {
	time_t time;
	char msg_id[STORE_ID_LEN];
	char account[STORE_ADDR_MAX], mail_from[STORE_ADDR_MAX], rcpt[STORE_ADDR_MAX];
	char message_id[STORE_ADDR_MAX];
	int cls_health;
	char domain[256], channel[16], host[256], addr[64];
	char tls_version[16], cipher[64], peer_cert_sha256[65], auth_result[64];
	char nta_record[512], nta_dnssec[16], nta_verdict[64];
	char reply[STORE_REPLY_MAX], result[32];
};

/*
 * Attempts since t, oldest first: all (domain NULL), or those of mail to
 * or from domain (recipient, envelope sender or account in it; R-LOG-1).
 */
int store_log_query(struct store *s, const char *domain, time_t since,
    int (*cb)(const struct store_log_row *r, void *arg), void *arg);

#endif
