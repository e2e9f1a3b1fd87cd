/*
 * store_int.h - internals shared by the files of the store module
 * (db.c, msg.c, reader.c, account.c, and later queue.c).  Not for use
 * outside store/.
 *
 * Locking: every use of s->db happens with s->mu held (store_lock).  Write
 * transactions go through store_begin() (BEGIN IMMEDIATE, retried while
 * another process holds the write lock) and store_end().
 */
#ifndef NTAMSA_STORE_STORE_INT_H
#define NTAMSA_STORE_STORE_INT_H

#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>

#include "store/store.h"

#define STORE_SCHEMA_VERSION 4
#define STORE_BUSY_MS 10000		/* busy_timeout per statement */
#define STORE_CKPT_WAIT_MS 200		/* a shred's checkpoint waits this long for readers */
#define STORE_BEGIN_TRIES 30		/* BEGIN IMMEDIATE attempts on SQLITE_BUSY */
#define STORE_MAX_SIZE ((int64_t)2 << 30)	/* hard cap on one message */
#define STORE_MAX_RCPTS 10000

/*
 * Group commit (gc.c): callers queue a request and the first one with
 * nobody leading commits every queued request in one durable transaction.
 * A request type embeds struct store_gcreq as its first member.
 */
struct store_gcreq {
	struct store_gcreq *next;
	sem_t wake;			/* posted once: done, or handed the lead */
	int done;			/* durable (or failed): rc is final */
	int lead;			/* handed the leadership for the next batch */
	int rc;
};

struct store_gcq {
	struct store_gcreq *head, *tail;	/* waiting to be committed */
	int leader;			/* a thread is committing a batch */
	size_t waiting;			/* requests in head (tests force batches with it) */
	uint64_t batches, items;	/* for the benchmarks and tests */
};

/* Statements of the hot paths, prepared once per connection (store_cached). */
enum store_slot {
	STORE_SLOT_CHUNK_INS,
	STORE_SLOT_MSG_INS,
	STORE_SLOT_MSG_UPD,
	STORE_SLOT_RCPT_INS,
	STORE_SLOT_CHUNK_SEL,
	STORE_SLOT_SAVEPOINT,
	STORE_SLOT_RELEASE,
	STORE_SLOT_ROLLBACK_TO,
	STORE_SLOT_ATT_INS,		/* queue.c: attempt insert */
	STORE_SLOT_RCPT_UPD,		/* queue.c: recipient state update */
	STORE_SLOT_MAX = 16		/* room for queue.c */
};

struct store {
	sqlite3 *db;
	pthread_mutex_t mu;		/* serialises every use of db */
	char path[4096];

	/* group commit; both queues are guarded by gc_mu */
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;
	struct store_gcq gc_msgs;	/* messages (msg.c) */
	struct store_gcq gc_rcpts;	/* attempt records and recipient updates (queue.c) */

	sqlite3_stmt *cache[STORE_SLOT_MAX];
	int ckpt_pending;		/* a shred's TRUNCATE checkpoint was blocked */
};

void store_lock(struct store *s);
void store_unlock(struct store *s);

/* Map an SQLite result code to an enum store_err. */
int store_map(int rc);

/* BEGIN IMMEDIATE (retrying on BUSY) / COMMIT or ROLLBACK.  Lock held. */
int store_begin(struct store *s);
int store_commit_tx(struct store *s);
void store_rollback(struct store *s);
/* End a write transaction: COMMIT when rc is STORE_OK, else ROLLBACK; returns the outcome. */
int store_end(struct store *s, int rc);

/* Run SQL without results.  Lock held. */
int store_exec(struct store *s, const char *sql);

/* Prepare a statement (cached by SQLite's own cache is not enough: we keep none). */
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **st);

/*
 * A cached statement for slot (prepared on first use).  Lock held.  Give it
 * back with store_release() before unlocking: a statement left mid-step
 * would hold a read snapshot open and block WAL checkpoints.
 */
int store_cached(struct store *s, int slot, const char *sql, sqlite3_stmt **st);
void store_release(sqlite3_stmt *st);

/*
 * Checkpoint the WAL and truncate it (after shredding).  Lock held.  When a
 * reader in another process blocks it, ckpt_pending makes the next commit
 * (and store_close) try again, so shredded keys do not linger in the WAL.
 */
int store_checkpoint(struct store *s);

/* Start time of process pid (/proc/<pid>/stat field 22), -1 if unknown. */
int64_t store_proc_start(pid_t pid);

/* Incomplete messages of dead writers: gone (db.c calls it in store_open). */
int store_recover(struct store *s);

/*
 * Chunk format (crypt.c): version byte | 96-bit random nonce | ciphertext |
 * 128-bit GCM tag.  AAD = version | message id (32 hex) | index u32 BE |
 * final flag, so a chunk only opens at its own place in its own message.
 */
#define STORE_CHUNK_VERSION 1
#define STORE_NONCE_LEN 12
#define STORE_TAG_LEN 16
#define STORE_CHUNK_OVERHEAD (1 + STORE_NONCE_LEN + STORE_TAG_LEN)

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

/* A GCM context keyed with dk, for sealing (enc=1) or opening (enc=0). */
EVP_CIPHER_CTX *store_gcm_new(const uint8_t *dk, int enc);
int store_chunk_seal(EVP_CIPHER_CTX *ctx, const char *msg_id, uint32_t idx,
    int final, const uint8_t *pt, size_t len, uint8_t *out, size_t *outlen);
/* STORE_TAMPER when the chunk does not authenticate at this place. */
int store_chunk_open(EVP_CIPHER_CTX *ctx, const char *msg_id, uint32_t idx,
    int final, const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen);

/* Group-commit statistics for the benchmark. */
void store_gc_stats(struct store *s, uint64_t *batches, uint64_t *msgs);

/* One request's part of a group transaction (called with the store locked). */
typedef int (*store_gc_apply_fn)(struct store *s, struct store_gcreq *r);

/*
 * Queue r on q and return once it is durable or has failed; the outcome
 * is in r->rc (STORE_ERR if r could not even be queued).  apply runs inside the batch's
 * transaction, once per request.
 */
void store_gc_commit(struct store *s, struct store_gcq *q, struct store_gcreq *r,
    store_gc_apply_fn apply);

/* Step a cached statement that returns no rows (SAVEPOINT, RELEASE, ...). */
int store_exec_cached(struct store *s, int slot, const char *sql);

/*
 * Checked binds (bind.c) with a sticky error: each does nothing while *rc
 * is an error, else binds and sets *rc to STORE_OK, STORE_TOOBIG
 * (SQLITE_TOOBIG) or STORE_ERR (SQLITE_RANGE, SQLITE_NOMEM, ...), and
 * returns *rc.  Bind a run of parameters, then step only when *rc is
 * STORE_OK.  A NULL text binds NULL.  The plain forms are SQLITE_STATIC (v
 * must outlive the step); the _copy forms SQLITE_TRANSIENT.
 */
int store_bind_text(int *rc, sqlite3_stmt *st, int i, const char *v);
int store_bind_text_copy(int *rc, sqlite3_stmt *st, int i, const char *v);
int store_bind_int64(int *rc, sqlite3_stmt *st, int i, int64_t v);
int store_bind_blob(int *rc, sqlite3_stmt *st, int i, const void *v, size_t len);
int store_bind_blob_copy(int *rc, sqlite3_stmt *st, int i, const void *v, size_t len);
int store_bind_null(int *rc, sqlite3_stmt *st, int i);

#endif
