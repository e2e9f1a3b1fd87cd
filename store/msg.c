/*
 * msg.c - writing a message: streaming encryption into chunk rows, and the
 * group commit that makes message, recipients and sealed DK visible at once.
 *
 * A message of at most one chunk touches the database only in its commit.
 * Longer ones write each full chunk in a short transaction of its own under
 * an 'incomplete' row owned by our pid; store_open() removes such rows of
 * dead writers, so a crash never leaves a message that looks whole.
 */
#include "store/store_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wipe.h"

#define MSG_BUF_START 8192

struct store_msg {
	struct store *s;
	char id[STORE_ID_LEN];
	uint8_t *dk;				/* guarded; freed once ctx is keyed */
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint32_t key_id;
	EVP_CIPHER_CTX *ctx;
	uint8_t *buf;				/* plaintext of the open chunk */
	size_t cap;				/* of buf; ct holds cap + overhead */
	size_t fill;
	size_t used;				/* high-water mark of buf, to wipe */
	uint8_t *ct;				/* one sealed chunk */
	size_t ctlen;
	uint32_t idx;				/* index of the open chunk */
	int64_t size;
	int row_written;			/* an 'incomplete' row exists */
	int err;				/* sticky: first failure */
	time_t created;
	char **rcpt;
	size_t nrcpt, caprcpt;
};

struct gc_req {
	struct store_gcreq base;	/* first: gc.c sees only this */
	struct store_msg *m;
	const struct store_meta *meta;
};

static void
msg_free(struct store_msg *m)
{
	if (m == NULL)
		return;
	keys_dk_free(m->dk);
	EVP_CIPHER_CTX_free(m->ctx);
	wipe_free(m->buf, m->used > m->fill ? m->used : m->fill);
	free(m->ct);
	for (size_t i = 0; i < m->nrcpt; i++)
		free(m->rcpt[i]);
	free(m->rcpt);
	free(m);
}

int
store_msg_new(struct store *s, const struct keys_pub *pub, struct store_msg **out)
{
	struct store_msg *m = calloc(1, sizeof(*m));
	uint8_t rnd[16];
	struct timespec ts;

	*out = NULL;
	if (m == NULL)
		return STORE_ERR;
	m->s = s;
	m->created = time(NULL);
	m->dk = keys_dk_new_sealed(pub, m->sealed, &m->key_id);
	/* Most mail is a few KB: start small, grow to a chunk when needed. */
	m->cap = MSG_BUF_START;
	m->buf = malloc(m->cap);
	m->ct = malloc(m->cap + STORE_CHUNK_OVERHEAD);
	if (m->dk == NULL || m->buf == NULL || m->ct == NULL ||
	    (m->ctx = store_gcm_new(m->dk, 1)) == NULL) {
		msg_free(m);
		return STORE_ERR;
	}
	/* The cipher context holds the key schedule now: no second copy lingers. */
	keys_dk_free(m->dk);
	m->dk = NULL;
	/*
	 * Id: 48-bit milliseconds then 80 random bits.  Time-ordered ids land on
	 * the right edge of every index keyed by message id, so a commit dirties
	 * a few pages instead of one random page per index.
	 */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (int i = 0; i < 6; i++)
		rnd[i] = (uint8_t)(ms >> (40 - 8 * i));
	randombytes_buf(rnd + 6, sizeof(rnd) - 6);
	(void)sodium_bin2hex(m->id, sizeof(m->id), rnd, sizeof(rnd));
	*out = m;
	return STORE_OK;
}

const char *
store_msg_id(const struct store_msg *m)
{
	return m->id;
}

static int
step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return STORE_OK;
	rc = store_map(sqlite3_extended_errcode(s->db));
	return rc == STORE_OK ? STORE_ERR : rc;
}

static int
insert_chunk(struct store_msg *m)
{
	sqlite3_stmt *st;
	int rc = store_cached(m->s, STORE_SLOT_CHUNK_INS,
	    "INSERT INTO chunks (msg_id, idx, data) VALUES (?1, ?2, ?3)", &st);

	if (rc != STORE_OK)
		return rc;
	store_bind_text(&rc, st, 1, m->id);
	store_bind_int64(&rc, st, 2, m->idx);
	store_bind_blob(&rc, st, 3, m->ct, m->ctlen);
	if (rc == STORE_OK)
		rc = step_done(m->s, st);
	store_release(st);
	return rc;
}

static int
insert_incomplete_row(struct store_msg *m)
{
	sqlite3_stmt *st;
	int rc = store_prepare(m->s, "INSERT INTO messages (id, created, state, writer_pid,"
	    " writer_start) VALUES (?1, ?2, 'incomplete', ?3, ?4)", &st);
	int64_t start = store_proc_start(getpid());

	if (rc != STORE_OK)
		return rc;
	store_bind_text(&rc, st, 1, m->id);
	store_bind_int64(&rc, st, 2, m->created);
	store_bind_int64(&rc, st, 3, getpid());
	if (start >= 0)		/* unknown start: NULL, the pid alone identifies the writer */
		store_bind_int64(&rc, st, 4, start);
	if (rc == STORE_OK)
		rc = step_done(m->s, st);
	sqlite3_finalize(st);
	return rc;
}

/*
 * Write the sealed chunk in m->ct as chunk m->idx of an incomplete message.
 * Not durable on its own (synchronous=NORMAL): the commit's fsync of the
 * WAL covers these frames too, and until then the row is 'incomplete'.
 */
static int
flush_chunk(struct store_msg *m)
{
	struct store *s = m->s;
	int rc;

	store_lock(s);
	(void)store_exec(s, "PRAGMA synchronous=NORMAL");
	rc = store_begin(s);
	if (rc == STORE_OK && !m->row_written)
		rc = insert_incomplete_row(m);
	if (rc == STORE_OK)
		rc = insert_chunk(m);
	rc = store_end(s, rc);
	if (store_exec(s, "PRAGMA synchronous=FULL") != STORE_OK && rc == STORE_OK)
		rc = STORE_ERR;		/* never leave the connection non-durable */
	store_unlock(s);
	if (rc == STORE_OK)
		m->row_written = 1;
	return rc;
}

/*
 * Room for need plaintext bytes in the open chunk.  The old buffer is
 * wiped before it is freed: realloc() could leave plaintext behind.
 */
static int
grow(struct store_msg *m, size_t need)
{
	size_t cap = m->cap * 2 > need ? m->cap * 2 : need;
	uint8_t *buf, *ct;

	if (cap > STORE_CHUNK)
		cap = STORE_CHUNK;
	if ((ct = malloc(cap + STORE_CHUNK_OVERHEAD)) == NULL)
		return STORE_ERR;
	/* Only the first chunk grows (a flushed one is full size): fill is all in use. */
	if ((buf = wipe_grow(m->buf, m->fill, cap)) == NULL) {
		free(ct);
		return STORE_ERR;
	}
	free(m->ct);
	m->buf = buf;
	m->ct = ct;
	m->cap = cap;
	return STORE_OK;
}

/* Seal the open chunk into m->ct; final marks the last one. */
static int
seal_open_chunk(struct store_msg *m, int final)
{
	return store_chunk_seal(m->ctx, m->id, m->idx, final, m->buf, m->fill,
	    m->ct, &m->ctlen);
}

int
store_msg_write(struct store_msg *m, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (m->err != STORE_OK)
		return m->err;
	if ((int64_t)len > STORE_MAX_SIZE - m->size)
		return m->err = STORE_TOOBIG;
	while (len > 0) {
		/* Flush lazily: a full chunk is final if nothing follows. */
		if (m->fill == STORE_CHUNK) {
			int rc = seal_open_chunk(m, 0);
			if (rc == STORE_OK)
				rc = flush_chunk(m);
			if (rc != STORE_OK)
				return m->err = rc;
			m->idx++;
			m->used = STORE_CHUNK;
			m->fill = 0;
		}
		size_t n = STORE_CHUNK - m->fill;
		if (n > len)
			n = len;
		if (m->fill + n > m->cap && grow(m, m->fill + n) != STORE_OK)
			return m->err = STORE_ERR;
		memcpy(m->buf + m->fill, p, n);
		m->fill += n;
		m->size += (int64_t)n;
		p += n;
		len -= n;
	}
	return STORE_OK;
}

int
store_msg_add_rcpt(struct store_msg *m, const char *addr)
{
	size_t len = strlen(addr);

	if (len == 0 || len >= STORE_ADDR_MAX)
		return STORE_ERR;
	if (m->nrcpt == m->caprcpt) {
		size_t cap = m->caprcpt ? m->caprcpt * 2 : 8;
		char **r;
		if (cap > STORE_MAX_RCPTS)
			return STORE_TOOBIG;
		if ((r = realloc(m->rcpt, cap * sizeof(*r))) == NULL)
			return STORE_ERR;
		m->rcpt = r;
		m->caprcpt = cap;
	}
	if ((m->rcpt[m->nrcpt] = strdup(addr)) == NULL)
		return STORE_ERR;
	m->nrcpt++;
	return STORE_OK;
}

static const char *
str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Bind meta fields ?1..?14 shared by the INSERT and UPDATE forms. */
static int
bind_meta(sqlite3_stmt *st, struct store_msg *m, const struct store_meta *meta)
{
	int rc = STORE_OK;

	store_bind_text(&rc, st, 1, m->id);
	store_bind_int64(&rc, st, 2, m->created);
	store_bind_text(&rc, st, 3, str_or_empty(meta->account));
	store_bind_text(&rc, st, 4, str_or_empty(meta->mail_from));
	store_bind_text(&rc, st, 5, str_or_empty(meta->message_id));
	store_bind_int64(&rc, st, 6, m->size);
	store_bind_int64(&rc, st, 7, meta->cls_health);
	store_bind_int64(&rc, st, 8, meta->cls_score);
	store_bind_text(&rc, st, 9, str_or_empty(meta->cls_reasons));
	store_bind_int64(&rc, st, 10, meta->cls_forced);
	store_bind_int64(&rc, st, 11, meta->body_8bit);
	store_bind_int64(&rc, st, 12, m->key_id);
	store_bind_blob(&rc, st, 13, m->sealed, KEYS_SEALED_DK_LEN);
	store_bind_int64(&rc, st, 14, (int64_t)m->idx + 1);
	return rc;
}

static int
put_message_row(struct store_msg *m, const struct store_meta *meta)
{
	static const char ins[] = "INSERT INTO messages (id, created, account, mail_from,"
	    " message_id, size, cls_health, cls_score, cls_reasons, cls_forced, body_8bit,"
	    " key_id, sealed_dk, nchunks, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?9, ?10, ?11, ?12, ?13, ?14, 'queued')";
	static const char upd[] = "UPDATE messages SET created = ?2, account = ?3,"
	    " mail_from = ?4, message_id = ?5, size = ?6, cls_health = ?7, cls_score = ?8,"
	    " cls_reasons = ?9, cls_forced = ?10, body_8bit = ?11, key_id = ?12,"
	    " sealed_dk = ?13, nchunks = ?14, state = 'queued', writer_pid = NULL,"
	    " writer_start = NULL"
	    " WHERE id = ?1 AND state = 'incomplete'";
	sqlite3_stmt *st;
	int rc = store_cached(m->s, m->row_written ? STORE_SLOT_MSG_UPD : STORE_SLOT_MSG_INS,
	    m->row_written ? upd : ins, &st);

	if (rc != STORE_OK)
		return rc;
	rc = bind_meta(st, m, meta);
	if (rc == STORE_OK)
		rc = step_done(m->s, st);
	if (rc == STORE_OK && m->row_written && sqlite3_changes(m->s->db) != 1)
		rc = STORE_NOTFOUND;	/* removed as abandoned: never commit a partial */
	store_release(st);
	return rc;
}

static int
put_recipients(struct store_msg *m)
{
	sqlite3_stmt *st;
	int rc = store_cached(m->s, STORE_SLOT_RCPT_INS, "INSERT INTO recipients (msg_id,"
	    " addr, domain, state, next_attempt, updated) VALUES (?1, ?2, ?3, 'queued', ?4, ?4)",
	    &st);

	if (rc != STORE_OK)
		return rc;
	for (size_t i = 0; i < m->nrcpt && rc == STORE_OK; i++) {
		char dom[STORE_ADDR_MAX];
		const char *at = strrchr(m->rcpt[i], '@');
		size_t k = 0;
		for (const char *d = at ? at + 1 : ""; *d && k < sizeof(dom) - 1; d++)
			dom[k++] = (char)tolower((unsigned char)*d);
		dom[k] = '\0';
		store_bind_text(&rc, st, 1, m->id);
		store_bind_text(&rc, st, 2, m->rcpt[i]);
		store_bind_text_copy(&rc, st, 3, dom);
		store_bind_int64(&rc, st, 4, m->created);
		if (rc == STORE_OK)
			rc = step_done(m->s, st);
		sqlite3_reset(st);
	}
	store_release(st);
	return rc;
}

/* Run a cached statement without results (the savepoint commands). */

/* One message's part of a group transaction, inside a savepoint. */
static int
apply_one(struct store *s, struct store_gcreq *base)
{
	struct gc_req *r = (struct gc_req *)base;
	int rc = store_exec_cached(s, STORE_SLOT_SAVEPOINT, "SAVEPOINT msg");

	if (rc != STORE_OK)
		return rc;
	rc = put_message_row(r->m, r->meta);
	if (rc == STORE_OK)
		rc = insert_chunk(r->m);
	if (rc == STORE_OK)
		rc = put_recipients(r->m);
	/* One bad message must not take the rest of its batch down. */
	if (rc != STORE_OK)
		(void)store_exec_cached(s, STORE_SLOT_ROLLBACK_TO, "ROLLBACK TO msg");
	if (store_exec_cached(s, STORE_SLOT_RELEASE, "RELEASE msg") != STORE_OK && rc == STORE_OK)
		rc = STORE_ERR;
	return rc;
}

/* Remove what a failed or abandoned message already wrote. */
static void
drop_rows(struct store_msg *m)
{
	sqlite3_stmt *st;

	if (!m->row_written)
		return;
	store_lock(m->s);
	if (store_begin(m->s) == STORE_OK &&
	    store_prepare(m->s, "DELETE FROM messages WHERE id = ?1 AND state = 'incomplete'",
	    &st) == STORE_OK) {
		int rc = STORE_OK;
		if (store_bind_text(&rc, st, 1, m->id) == STORE_OK)
			rc = step_done(m->s, st);
		sqlite3_finalize(st);
		if (rc == STORE_OK)
			(void)store_commit_tx(m->s);
	}
	store_rollback(m->s);	/* no-op after a commit */
	store_unlock(m->s);
	/* If that failed, store_open of a later process removes the rows. */
}

int
store_msg_commit(struct store_msg *m, const struct store_meta *meta)
{
	struct gc_req r = {.base = {.rc = STORE_OK}, .m = m, .meta = meta};
	int rc = m->err;

	if (rc == STORE_OK && m->nrcpt == 0)
		rc = STORE_ERR;		/* a message nobody receives is a caller bug */
	if (rc == STORE_OK)
		rc = seal_open_chunk(m, 1);
	if (rc == STORE_OK) {
		sodium_memzero(m->buf, m->used > m->fill ? m->used : m->fill);
		m->used = m->fill = 0;
		store_gc_commit(m->s, &m->s->gc_msgs, &r.base, apply_one);
		rc = r.base.rc;
	}
	if (rc != STORE_OK) {
		log_warn("store-commit-failed", "msg=%s err=\"%s\"", m->id, store_strerror(rc));
		drop_rows(m);
	}
	msg_free(m);
	return rc;
}

void
store_msg_abort(struct store_msg *m)
{
	if (m == NULL)
		return;
	drop_rows(m);
	msg_free(m);
}
