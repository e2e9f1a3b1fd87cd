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

/* Delete the sealed DK (crypto-shredding) and checkpoint the WAL. */
int store_msg_shred(struct store *s, const char *msg_id);
/* Remove a message with its chunks, recipients kept in the audit log. */
int store_msg_delete(struct store *s, const char *msg_id);

/* Reseal every DK sealed to another key id to pub; count in *n. */
int store_reseal_all(struct store *s, const struct keys_ring *ring,
    const struct keys_pub *pub, size_t *n);
/* How many live sealed DKs each key id protects (for keys status). */
int store_count_by_key(struct store *s, uint32_t key_id, int64_t *n);

/* ---- accounts ---- */

#define STORE_LIST_MAX 32

struct store_account {
	char address[STORE_ADDR_MAX];
	char pwhash[256];		/* crypto_pwhash_str (Argon2id) */
	int rate_per_hour;
	size_t n_allow_from;
	char allow_from[STORE_LIST_MAX][STORE_ADDR_MAX];	/* addr or *@domain */
	size_t n_allow_ip;
	char allow_ip[STORE_LIST_MAX][64];			/* CIDR */
	time_t created;
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

#endif
