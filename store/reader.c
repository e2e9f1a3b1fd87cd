/*
 * reader.c - reading a message back (needs the secret key ring), shredding,
 * deleting, and resealing data keys after a key rotation.
 *
 * Every sqlite3_step() here is checked; sqlite3_reset() (also the one in
 * store_release) only repeats the last step's error, so its return is
 * ignored on purpose.
 */
#include "store/store_int.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define RESEAL_BATCH 200

struct store_reader {
	struct store *s;
	char id[STORE_ID_LEN];
	EVP_CIPHER_CTX *ctx;
	uint32_t nchunks, next;
	uint8_t *pt;			/* plaintext of the current chunk */
	size_t ptlen, ptpos;
	int err;			/* sticky */
};

static int
db_err(struct store *s)
{
	int rc = store_map(sqlite3_extended_errcode(s->db));

	return rc == STORE_OK ? STORE_ERR : rc;
}

static int
map_keys_err(int krc)
{
	return krc == KEYS_OK ? STORE_OK : STORE_KEY;
}

/* Look the message up; on success sealed holds its DK as stored. */
static int
load_header(struct store_reader *r, uint8_t sealed[KEYS_SEALED_DK_LEN], uint32_t *key_id,
    int need_key)
{
	struct store *s = r->s;
	sqlite3_stmt *st;
	int rc;

	store_lock(s);
	rc = store_prepare(s, "SELECT state, key_id, sealed_dk, nchunks FROM messages"
	    " WHERE id = ?1", &st);
	if (rc != STORE_OK) {
		store_unlock(s);
		return rc;
	}
	/* A failed bind leaves its store error in rc: negative, unlike SQLite's codes. */
	if (store_bind_text(&rc, st, 1, r->id) == STORE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 3);
		if (state == NULL || !strcmp(state, "incomplete"))
			rc = STORE_NOTFOUND;
		else if (n < 1 || n > UINT32_MAX)
			rc = STORE_TAMPER;
		else if (!need_key) {
			r->nchunks = (uint32_t)n;	/* the caller brings the DK */
			rc = STORE_OK;
		} else if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			rc = STORE_SHREDDED;
		else if (sqlite3_column_bytes(st, 2) != KEYS_SEALED_DK_LEN)
			rc = STORE_TAMPER;
		else {
			memcpy(sealed, sqlite3_column_blob(st, 2), KEYS_SEALED_DK_LEN);
			*key_id = (uint32_t)sqlite3_column_int64(st, 1);
			r->nchunks = (uint32_t)n;
			rc = STORE_OK;
		}
	} else if (rc >= 0)
		rc = rc == SQLITE_DONE ? STORE_NOTFOUND : db_err(s);
	sqlite3_finalize(st);
	store_unlock(s);
	return rc;
}

/* A reader for msg_id whose DK the caller opens through open_dk. */
static int
reader_new(struct store *s, const char *msg_id, uint8_t sealed[KEYS_SEALED_DK_LEN],
    uint32_t *key_id, int need_key, struct store_reader **out)
{
	struct store_reader *r;
	int rc;

	*out = NULL;
	if (strlen(msg_id) != STORE_ID_LEN - 1)
		return STORE_NOTFOUND;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return STORE_ERR;
	r->s = s;
	memcpy(r->id, msg_id, STORE_ID_LEN);
	if ((rc = load_header(r, sealed, key_id, need_key)) != STORE_OK ||
	    (r->pt = malloc(STORE_CHUNK)) == NULL) {
		free(r);
		return rc != STORE_OK ? rc : STORE_ERR;
	}
	*out = r;
	return STORE_OK;
}

int
store_reader_open(struct store *s, const struct keys_ring *ring,
    const char *msg_id, struct store_reader **out)
{
	struct store_reader *r;
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint32_t key_id = 0;
	uint8_t *dk;
	int rc;

	*out = NULL;
	if ((rc = reader_new(s, msg_id, sealed, &key_id, 1, &r)) != STORE_OK)
		return rc;
	if ((dk = keys_dk_new()) == NULL) {
		store_reader_close(r);
		return STORE_ERR;
	}
	rc = map_keys_err(keys_dk_open(ring, key_id, sealed, dk));
	if (rc == STORE_OK && (r->ctx = store_gcm_new(dk, 0)) == NULL)
		rc = STORE_ERR;
	keys_dk_free(dk);
	if (rc != STORE_OK) {
		store_reader_close(r);
		return rc;
	}
	*out = r;
	return STORE_OK;
}

int
store_msg_dk(struct store *s, const struct keys_ring *ring, const char *msg_id, uint8_t *dk)
{
	struct store_reader *r;
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint32_t key_id = 0;
	int rc = reader_new(s, msg_id, sealed, &key_id, 1, &r);

	if (rc != STORE_OK)
		return rc;
	store_reader_close(r);
	return map_keys_err(keys_dk_open(ring, key_id, sealed, dk));
}

int
store_reader_open_dk(struct store *s, const uint8_t *dk, const char *msg_id,
    struct store_reader **out)
{
	struct store_reader *r;
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint32_t key_id = 0;
	int rc;

	*out = NULL;
	/* The portal reads with its own copy of the DK: a shredded row is fine. */
	if ((rc = reader_new(s, msg_id, sealed, &key_id, 0, &r)) != STORE_OK)
		return rc;
	if ((r->ctx = store_gcm_new(dk, 0)) == NULL) {
		store_reader_close(r);
		return STORE_ERR;
	}
	*out = r;
	return STORE_OK;
}

/* Fetch and open chunk r->next into r->pt. */
static int
next_chunk(struct store_reader *r)
{
	struct store *s = r->s;
	sqlite3_stmt *st;
	int rc;

	store_lock(s);
	rc = store_cached(s, STORE_SLOT_CHUNK_SEL,
	    "SELECT data FROM chunks WHERE msg_id = ?1 AND idx = ?2", &st);
	if (rc != STORE_OK) {
		store_unlock(s);
		return rc;
	}
	store_bind_text(&rc, st, 1, r->id);
	if (store_bind_int64(&rc, st, 2, r->next) == STORE_OK)	/* else rc < 0, see load_header */
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* A missing or misplaced chunk is tampering, like a bad tag. */
		rc = store_chunk_open(r->ctx, r->id, r->next, r->next + 1 == r->nchunks,
		    sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		    r->pt, &r->ptlen);
	} else if (rc >= 0)
		rc = rc == SQLITE_DONE ? STORE_TAMPER : db_err(s);
	store_release(st);
	store_unlock(s);
	if (rc == STORE_OK) {
		r->ptpos = 0;
		r->next++;
	}
	return rc;
}

ssize_t
store_reader_read(struct store_reader *r, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t got = 0;

	if (r->err != STORE_OK)
		return r->err;
	while (got < len) {
		if (r->ptpos == r->ptlen) {
			if (r->next == r->nchunks)
				break;		/* the final chunk authenticated: real end */
			int rc = next_chunk(r);
			if (rc != STORE_OK) {
				r->err = rc;
				return got > 0 ? (ssize_t)got : rc;
			}
			continue;
		}
		size_t n = r->ptlen - r->ptpos;
		if (n > len - got)
			n = len - got;
		memcpy(out + got, r->pt + r->ptpos, n);
		r->ptpos += n;
		got += n;
	}
	return (ssize_t)got;
}

void
store_reader_close(struct store_reader *r)
{
	if (r == NULL)
		return;
	EVP_CIPHER_CTX_free(r->ctx);
	if (r->pt != NULL) {
		sodium_memzero(r->pt, STORE_CHUNK);
		free(r->pt);
	}
	free(r);
}

/* Run one UPDATE/DELETE on msg_id in its own transaction; NOTFOUND if no row. */
static int
exec_on_msg(struct store *s, const char *sql, const char *msg_id)
{
	sqlite3_stmt *st;
	int rc = store_begin(s);

	if (rc != STORE_OK)
		return rc;
	if ((rc = store_prepare(s, sql, &st)) != STORE_OK) {
		store_rollback(s);
		return rc;
	}
	if (store_bind_text(&rc, st, 1, msg_id) == STORE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : db_err(s);
	if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
		rc = STORE_NOTFOUND;
	sqlite3_finalize(st);
	return store_end(s, rc);
}

int
store_msg_shred(struct store *s, const char *msg_id)
{
	int rc;

	store_lock(s);
	/* Key and state change in one transaction: never 'done' with a live key. */
	rc = exec_on_msg(s, "UPDATE messages SET sealed_dk = NULL, state = 'done'"
	    " WHERE id = ?1 AND state != 'incomplete'", msg_id);
	/* secure_delete zeroes the freed page; the WAL still holds the old one. */
	if (rc == STORE_OK)
		rc = store_checkpoint(s);
	store_unlock(s);
	return rc;
}

/* The audit row for the recipient sel is on. */
static int
audit_one(struct store *s, sqlite3_stmt *sel, sqlite3_stmt *ins, const char *msg_id)
{
	char detail[STORE_ADDR_MAX + 64];
	int rc = STORE_OK;

	(void)snprintf(detail, sizeof(detail), "rcpt=%s state=%s",
	    (const char *)sqlite3_column_text(sel, 0),
	    (const char *)sqlite3_column_text(sel, 1));
	store_bind_int64(&rc, ins, 1, time(NULL));
	store_bind_text(&rc, ins, 2, msg_id);
	store_bind_text_copy(&rc, ins, 3, detail);
	if (rc == STORE_OK)
		rc = sqlite3_step(ins) == SQLITE_DONE ? STORE_OK : db_err(s);
	(void)sqlite3_reset(ins);
	return rc;
}

/*
 * Audit one line per recipient of a message about to be deleted.  A failed
 * step on the SELECT is an error, not the end of the rows: the message
 * would go with recipients missing from the audit.
 */
static int
audit_recipients(struct store *s, const char *msg_id)
{
	sqlite3_stmt *sel, *ins;
	int step = SQLITE_DONE;
	int rc = store_prepare(s, "SELECT addr, state FROM recipients WHERE msg_id = ?1", &sel);

	if (rc != STORE_OK)
		return rc;
	if ((rc = store_prepare(s, "INSERT INTO audit (time, event, msg_id, detail)"
	    " VALUES (?1, 'msg-deleted-rcpt', ?2, ?3)", &ins)) != STORE_OK) {
		sqlite3_finalize(sel);
		return rc;
	}
	store_bind_text(&rc, sel, 1, msg_id);
	while (rc == STORE_OK && (step = sqlite3_step(sel)) == SQLITE_ROW)
		rc = audit_one(s, sel, ins, msg_id);
	if (rc == STORE_OK && step != SQLITE_DONE)
		rc = db_err(s);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return rc;
}

int
store_msg_delete(struct store *s, const char *msg_id)
{
	sqlite3_stmt *st;
	int rc;

	store_lock(s);
	if ((rc = store_begin(s)) != STORE_OK)
		goto out;
	rc = audit_recipients(s, msg_id);
	if (rc == STORE_OK)
		rc = store_prepare(s, "DELETE FROM messages WHERE id = ?1", &st);
	if (rc == STORE_OK) {
		if (store_bind_text(&rc, st, 1, msg_id) == STORE_OK)
			rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : db_err(s);
		if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
			rc = STORE_NOTFOUND;
		sqlite3_finalize(st);
	}
	if ((rc = store_end(s, rc)) == STORE_OK)
		rc = store_checkpoint(s);
out:
	store_unlock(s);
	return rc;
}

struct reseal_row {
	char id[STORE_ID_LEN];
	uint32_t key_id;
	uint8_t sealed[KEYS_SEALED_DK_LEN];
};

/*
 * Collect up to RESEAL_BATCH rows sealed to another key first: updating rows
 * while a SELECT still walks their index is undefined in SQLite.
 */
static int
reseal_select(struct store *s, const struct keys_pub *pub, struct reseal_row *rows,
    size_t *n)
{
	sqlite3_stmt *sel;
	int rc = store_prepare(s, "SELECT id, key_id, sealed_dk FROM messages WHERE"
	    " sealed_dk IS NOT NULL AND key_id != ?1 LIMIT ?2", &sel);

	*n = 0;
	if (rc != STORE_OK)
		return rc;
	store_bind_int64(&rc, sel, 1, keys_pub_id(pub));
	if (store_bind_int64(&rc, sel, 2, RESEAL_BATCH) != STORE_OK) {
		sqlite3_finalize(sel);
		return rc;
	}
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		struct reseal_row *w = &rows[*n];
		const char *id = (const char *)sqlite3_column_text(sel, 0);
		if (sqlite3_column_bytes(sel, 2) != KEYS_SEALED_DK_LEN || id == NULL ||
		    strlen(id) != STORE_ID_LEN - 1) {
			sqlite3_finalize(sel);
			return STORE_TAMPER;
		}
		memcpy(w->id, id, STORE_ID_LEN);
		w->key_id = (uint32_t)sqlite3_column_int64(sel, 1);
		memcpy(w->sealed, sqlite3_column_blob(sel, 2), KEYS_SEALED_DK_LEN);
		(*n)++;
	}
	rc = rc == SQLITE_DONE ? STORE_OK : db_err(s);
	sqlite3_finalize(sel);
	return rc;
}

/* Reseal up to RESEAL_BATCH DKs in one transaction; *done = how many. */
static int
reseal_batch(struct store *s, const struct keys_ring *ring, const struct keys_pub *pub,
    uint8_t *dk, struct reseal_row *rows, size_t *done)
{
	sqlite3_stmt *upd = NULL;
	size_t n = 0;
	int rc;

	*done = 0;
	if ((rc = store_begin(s)) != STORE_OK)
		return rc;
	rc = reseal_select(s, pub, rows, &n);
	if (rc == STORE_OK)
		rc = store_prepare(s, "UPDATE messages SET key_id = ?1, sealed_dk = ?2"
		    " WHERE id = ?3", &upd);
	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		uint8_t sealed[KEYS_SEALED_DK_LEN];
		uint32_t new_id;
		rc = map_keys_err(keys_dk_open(ring, rows[i].key_id, rows[i].sealed, dk));
		if (rc == STORE_OK && keys_dk_seal(pub, dk, sealed, &new_id) != KEYS_OK)
			rc = STORE_ERR;
		sodium_memzero(dk, KEYS_DK_LEN);
		if (rc != STORE_OK)
			break;
		store_bind_int64(&rc, upd, 1, new_id);
		store_bind_blob_copy(&rc, upd, 2, sealed, sizeof(sealed));
		store_bind_text(&rc, upd, 3, rows[i].id);
		if (rc == STORE_OK)
			rc = sqlite3_step(upd) == SQLITE_DONE ? STORE_OK : db_err(s);
		(void)sqlite3_reset(upd);
	}
	sqlite3_finalize(upd);
	if ((rc = store_end(s, rc)) == STORE_OK)
		*done = n;
	return rc;
}

int
store_reseal_all(struct store *s, const struct keys_ring *ring,
    const struct keys_pub *pub, size_t *n)
{
	uint8_t *dk = sodium_malloc(KEYS_DK_LEN);
	struct reseal_row *rows = calloc(RESEAL_BATCH, sizeof(*rows));
	size_t done;
	int rc = STORE_OK;

	*n = 0;
	if (dk == NULL || rows == NULL) {
		sodium_free(dk);
		free(rows);
		return STORE_ERR;
	}
	store_lock(s);
	do {
		rc = reseal_batch(s, ring, pub, dk, rows, &done);
		*n += done;
	} while (rc == STORE_OK && done > 0);
	/* The old sealed forms must not linger in the WAL either. */
	if (rc == STORE_OK)
		rc = store_checkpoint(s);
	store_unlock(s);
	sodium_free(dk);
	free(rows);
	if (rc != STORE_OK)
		log_warn("store-reseal-failed", "resealed=%zu err=\"%s\"", *n, store_strerror(rc));
	return rc;
}

/* Live sealed DKs of key_id.  Lock held. */
static int
count_sealed(struct store *s, uint32_t key_id, int64_t *n)
{
	sqlite3_stmt *st;
	int rc = store_prepare(s, "SELECT count(*) FROM messages WHERE key_id = ?1"
	    " AND sealed_dk IS NOT NULL", &st);

	if (rc != STORE_OK)
		return rc;
	if (store_bind_int64(&rc, st, 1, key_id) == STORE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*n = sqlite3_column_int64(st, 0);
		else
			rc = db_err(s);
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_count_by_key(struct store *s, uint32_t key_id, int64_t *n)
{
	int rc;

	*n = 0;
	store_lock(s);
	rc = count_sealed(s, key_id, n);
	store_unlock(s);
	return rc;
}

/* Count key_id's live DKs; none: mark it retired.  Lock held, in a transaction. */
static int
retire_mark(struct store *s, uint32_t key_id, int64_t *left)
{
	sqlite3_stmt *st;
	int rc = count_sealed(s, key_id, left);

	if (rc != STORE_OK || *left != 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT OR IGNORE INTO retired_keys (key_id, time)"
	    " VALUES (?1, ?2)", &st)) != STORE_OK)
		return rc;
	store_bind_int64(&rc, st, 1, key_id);
	store_bind_int64(&rc, st, 2, time(NULL));
	if (rc == STORE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : db_err(s);
	sqlite3_finalize(st);
	return rc;
}

int
store_key_retire(struct store *s, uint32_t key_id, int64_t *left)
{
	int rc;

	*left = -1;
	store_lock(s);
	/* BEGIN IMMEDIATE: no commit can slip in between the count and the mark. */
	if ((rc = store_begin(s)) == STORE_OK)
		rc = store_end(s, retire_mark(s, key_id, left));
	store_unlock(s);
	return rc;
}
