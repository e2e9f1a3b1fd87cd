/*
 * queue.c - the delivery side of the store: due recipients, state changes,
 * operator actions, attempt records and the R-LOG-1 log query.
 *
 * Rows are read in pages under the store lock and handed to callbacks
 * after it is released, so a callback may call the store again.
 *
 * Every sqlite3_step() here is checked; sqlite3_reset() (also the one in
 * store_release) only repeats the last step's error, so its return is
 * ignored on purpose.
 */
#include "store/store_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 128
#define PAGE_S "128"	/* PAGE in SQL */

int
store_rcpt_state_final(const char *state)
{
	return strcmp(state, "delivered") == 0 || strcmp(state, "bounced") == 0 ||
	    strcmp(state, "portal") == 0 || strcmp(state, "deleted") == 0;
}

static void
col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

#define RCPT_COLS \
	"r.id, r.msg_id, r.addr, r.domain, r.state, r.attempts," \
	" COALESCE(r.next_attempt, 0), COALESCE(r.first_attempt, 0), r.channel, r.reason," \
	" r.last_reply, m.created, m.account, m.mail_from, m.message_id, m.cls_health," \
	" m.cls_score, m.cls_forced, m.body_8bit, m.size, m.sealed_dk IS NULL" \
	" FROM recipients r JOIN messages m ON m.id = r.msg_id"

static void
rcpt_row(sqlite3_stmt *st, struct store_rcpt *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, r->msg_id, sizeof(r->msg_id));
	col_text(st, 2, r->addr, sizeof(r->addr));
	col_text(st, 3, r->domain, sizeof(r->domain));
	col_text(st, 4, r->state, sizeof(r->state));
	r->attempts = sqlite3_column_int(st, 5);
	r->next_attempt = (time_t)sqlite3_column_int64(st, 6);
	r->first_attempt = (time_t)sqlite3_column_int64(st, 7);
	col_text(st, 8, r->channel, sizeof(r->channel));
	col_text(st, 9, r->reason, sizeof(r->reason));
	col_text(st, 10, r->last_reply, sizeof(r->last_reply));
	r->created = (time_t)sqlite3_column_int64(st, 11);
	col_text(st, 12, r->account, sizeof(r->account));
	col_text(st, 13, r->mail_from, sizeof(r->mail_from));
	col_text(st, 14, r->message_id, sizeof(r->message_id));
	r->cls_health = sqlite3_column_int(st, 15);
	r->cls_score = sqlite3_column_int(st, 16);
	r->cls_forced = sqlite3_column_int(st, 17);
	r->body_8bit = sqlite3_column_int(st, 18);
	r->size = sqlite3_column_int64(st, 19);
	r->shredded = sqlite3_column_int(st, 20);
}

/*
 * Read up to PAGE recipients of a query whose parameters are bound by
 * bind(); rows go to out[], *n of them.  Lock taken and released here.
 */
static int
rcpt_page(struct store *s, const char *sql, int (*bind)(sqlite3_stmt *, const void *),
    const void *barg, struct store_rcpt *out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	store_lock(s);
	rc = store_prepare(s, sql, &st);
	if (rc == STORE_OK)
		rc = bind(st, barg);
	if (rc == STORE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < PAGE)
			rcpt_row(st, &out[(*n)++]);
		rc = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? STORE_OK : store_map(rc);
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return rc;
}

struct due_args { time_t now; int64_t after_id; size_t limit; };

static int
bind_due(sqlite3_stmt *st, const void *a)
{
	const struct due_args *d = a;
	int rc = STORE_OK;

	store_bind_int64(&rc, st, 1, d->now);
	return store_bind_int64(&rc, st, 2, (int64_t)d->limit);
}

int
store_queue_due(struct store *s, time_t now, size_t max, store_rcpt_cb cb, void *arg)
{
	struct store_rcpt *rows = calloc(PAGE, sizeof(*rows));
	struct due_args d = {.now = now, .limit = max < PAGE ? max : PAGE};
	size_t n = 0;
	int rc;

	if (rows == NULL)
		return STORE_ERR;
	/* One page is enough: the worker rescans after each round. */
	rc = rcpt_page(s, "SELECT " RCPT_COLS " WHERE r.state = 'queued' AND m.state = 'queued'"
	    " AND COALESCE(r.next_attempt, 0) <= ?1 ORDER BY r.domain, r.next_attempt, r.id"
	    " LIMIT ?2", bind_due, &d, rows, &n);
	for (size_t i = 0; rc == STORE_OK && i < n; i++)
		if (cb(&rows[i], arg) != 0)
			break;
	free(rows);
	return rc;
}

struct list_args { const char *msg_id; int64_t after_id; };

static int
bind_list(sqlite3_stmt *st, const void *a)
{
	const struct list_args *l = a;
	int rc = STORE_OK;

	store_bind_int64(&rc, st, 1, l->after_id);
	return store_bind_text_copy(&rc, st, 2, l->msg_id);	/* NULL: every message */
}

int
store_queue_list(struct store *s, const char *msg_id, store_rcpt_cb cb, void *arg)
{
	struct store_rcpt *rows = calloc(PAGE, sizeof(*rows));
	struct list_args l = {.msg_id = msg_id, .after_id = 0};
	size_t n;
	int rc, stop = 0;

	if (rows == NULL)
		return STORE_ERR;
	do {
		rc = rcpt_page(s, "SELECT " RCPT_COLS " WHERE r.id > ?1 AND m.state <> 'incomplete'"
		    " AND ((?2 IS NULL AND r.state <> 'deleted') OR r.msg_id = ?2)"
		    " ORDER BY r.id LIMIT " PAGE_S, bind_list, &l, rows, &n);
		for (size_t i = 0; rc == STORE_OK && i < n && !stop; i++)
			stop = cb(&rows[i], arg) != 0;
		if (n > 0)
			l.after_id = rows[n - 1].id;
	} while (rc == STORE_OK && n == PAGE && !stop);
	free(rows);
	return rc;
}

int
store_queue_next_due(struct store *s, time_t *when)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*when = 0;
	store_lock(s);
	rc = store_prepare(s, "SELECT MIN(COALESCE(r.next_attempt, 0)) FROM recipients r"
	    " JOIN messages m ON m.id = r.msg_id WHERE r.state = 'queued' AND m.state = 'queued'", &st);
	if (rc == STORE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			*when = (time_t)sqlite3_column_int64(st, 0);
		rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : store_map(rc);
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return rc;
}

/* Run one write statement in its own IMMEDIATE transaction; *changes rows. */
static int
write_one(struct store *s, sqlite3_stmt *st, int64_t *changes)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return store_map(rc);
	if (changes != NULL)
		*changes = sqlite3_changes(s->db);
	return STORE_OK;
}

int
store_rcpt_update(struct store *s, int64_t rcpt_id, const struct store_rcpt_update *u)
{
	return store_rcpt_record(s, rcpt_id, u, NULL);
}

static const char *
op_sql(const char *op)
{
	/* ?1 msg id, ?2 recipient or NULL, ?3 now */
	if (strcmp(op, "hold") == 0)
		return "UPDATE recipients SET state = 'hold', updated = ?3"
		    " WHERE msg_id = ?1 AND (?2 IS NULL OR addr = ?2) AND state = 'queued'";
	if (strcmp(op, "release") == 0)
		return "UPDATE recipients SET state = 'queued', next_attempt = ?3, updated = ?3"
		    " WHERE msg_id = ?1 AND (?2 IS NULL OR addr = ?2) AND state = 'hold'";
	if (strcmp(op, "flush") == 0)
		return "UPDATE recipients SET next_attempt = ?3, updated = ?3"
		    " WHERE msg_id = ?1 AND (?2 IS NULL OR addr = ?2) AND state = 'queued'";
	if (strcmp(op, "delete") == 0)
		return "UPDATE recipients SET state = 'deleted', reason = 'operator', updated = ?3"
		    " WHERE msg_id = ?1 AND (?2 IS NULL OR addr = ?2)"
		    " AND state IN ('queued', 'hold')";
	return NULL;
}

int
store_queue_op(struct store *s, const char *op, const char *msg_id,
    const char *rcpt, time_t now, int64_t *n)
{
	const char *sql = op_sql(op);
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	if (sql == NULL)
		return STORE_ERR;
	store_lock(s);
	if ((rc = store_begin(s)) != STORE_OK)
		goto out;
	rc = store_prepare(s, sql, &st);
	if (rc == STORE_OK) {
		store_bind_text_copy(&rc, st, 1, msg_id);
		store_bind_text_copy(&rc, st, 2, rcpt);
		store_bind_int64(&rc, st, 3, now);
		if (rc == STORE_OK)
			rc = write_one(s, st, n);
	}
	sqlite3_finalize(st);
	if (rc == STORE_OK)
		rc = store_commit_tx(s);
	else
		store_rollback(s);
out:
	store_unlock(s);
	return rc;
}

int
store_msg_pending(struct store *s, const char *msg_id, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	store_lock(s);
	rc = store_prepare(s, "SELECT COUNT(*) FROM recipients WHERE msg_id = ?1"
	    " AND state NOT IN ('delivered', 'bounced', 'deleted')", &st);
	if (rc == STORE_OK) {
		if (store_bind_text_copy(&rc, st, 1, msg_id) == STORE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				*n = sqlite3_column_int64(st, 0);
			rc = rc == SQLITE_ROW ? STORE_OK : store_map(rc);
		}
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return rc;
}

/* Insert one attempt; lock held, inside a transaction. */
static int
attempt_insert(struct store *s, const struct store_attempt *a)
{
	sqlite3_stmt *st = NULL;
	const char *v[] = {a->channel, a->host, a->addr, a->tls_version, a->cipher,
	    a->peer_cert_sha256, a->auth_result, a->nta_record, a->nta_dnssec,
	    a->nta_verdict, a->reply, a->result};
	int rc = store_cached(s, STORE_SLOT_ATT_INS, "INSERT INTO attempts (rcpt_id, msg_id,"
	    " domain, time, channel, host, addr, tls_version, cipher, peer_cert_sha256,"
	    " auth_result, nta_record, nta_dnssec, nta_verdict, reply, result) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)", &st);

	if (rc == STORE_OK) {
		if (a->rcpt_id > 0)
			store_bind_int64(&rc, st, 1, a->rcpt_id);
		else
			store_bind_null(&rc, st, 1);
		store_bind_text_copy(&rc, st, 2, a->msg_id);
		store_bind_text_copy(&rc, st, 3, a->domain);
		store_bind_int64(&rc, st, 4, a->time);
		for (int i = 0; i < 12; i++)
			store_bind_text_copy(&rc, st, 5 + i, v[i]);
		if (rc == STORE_OK)
			rc = write_one(s, st, NULL);
	}
	store_release(st);
	return rc;
}

/* Update one recipient; lock held, inside a transaction. */
static int
rcpt_update(struct store *s, int64_t rcpt_id, const struct store_rcpt_update *u)
{
	sqlite3_stmt *st = NULL;
	int rc = store_cached(s, STORE_SLOT_RCPT_UPD, "UPDATE recipients SET state = ?2,"
	    " next_attempt = NULLIF(?3, 0), channel = COALESCE(?4, channel),"
	    " reason = COALESCE(?5, reason), last_reply = COALESCE(?6, last_reply),"
	    " attempts = attempts + ?7,"
	    " first_attempt = CASE WHEN ?7 = 1 THEN COALESCE(first_attempt, ?8) ELSE first_attempt END,"
	    " updated = ?8 WHERE id = ?1", &st);

	if (rc == STORE_OK) {
		store_bind_int64(&rc, st, 1, rcpt_id);
		store_bind_text_copy(&rc, st, 2, u->state);
		store_bind_int64(&rc, st, 3, u->next_attempt);
		store_bind_text_copy(&rc, st, 4, u->channel);	/* NULL keeps the column */
		store_bind_text_copy(&rc, st, 5, u->reason);
		store_bind_text_copy(&rc, st, 6, u->last_reply);
		store_bind_int64(&rc, st, 7, u->tried ? 1 : 0);
		store_bind_int64(&rc, st, 8, u->now);
		if (rc == STORE_OK)
			rc = write_one(s, st, NULL);
	}
	store_release(st);
	return rc;
}

/*
 * Group commit of attempt records, as store_msg_commit does for smtpd:
 * the deliver threads share one connection, and one fsync per recipient
 * (synchronous=FULL) held the store lock for each, serialising them.  A
 * caller still returns only once its own record is durable, so a 250 is
 * never forgotten; a crash between the receiver's 250 and the commit
 * leaves the recipient queued: a duplicate delivery later, never a loss.
 */
struct rq_req {
	struct store_gcreq base;	/* first: gc.c sees only this */
	int64_t rcpt_id;
	const struct store_rcpt_update *u;
	const struct store_attempt *a;
};


/* One request's part of a batch, in a savepoint: a failure stays its own. */
static int
rq_apply(struct store *s, struct store_gcreq *base)
{
	const struct rq_req *r = (const struct rq_req *)base;
	/* Same SQL text as msg.c uses for these slots. */
	int rc = store_exec_cached(s, STORE_SLOT_SAVEPOINT, "SAVEPOINT msg");

	if (rc != STORE_OK)
		return rc;
	if (r->a != NULL)
		rc = attempt_insert(s, r->a);
	if (rc == STORE_OK && r->u != NULL)
		rc = rcpt_update(s, r->rcpt_id, r->u);
	if (rc != STORE_OK)
		(void)store_exec_cached(s, STORE_SLOT_ROLLBACK_TO, "ROLLBACK TO msg");
	if (store_exec_cached(s, STORE_SLOT_RELEASE, "RELEASE msg") != STORE_OK && rc == STORE_OK)
		rc = STORE_ERR;
	return rc;
}

int
store_rcpt_record(struct store *s, int64_t rcpt_id, const struct store_rcpt_update *u,
    const struct store_attempt *a)
{
	struct rq_req r = {.base = {.rc = STORE_OK}, .rcpt_id = rcpt_id, .u = u, .a = a};

	store_gc_commit(s, &s->gc_rcpts, &r.base, rq_apply);
	return r.base.rc;
}

void
store_rcpt_record_stats(struct store *s, uint64_t *batches, uint64_t *records)
{
	if (pthread_mutex_lock(&s->gc_mu) != 0)
		abort();
	*batches = s->gc_rcpts.batches;
	*records = s->gc_rcpts.items;
	(void)pthread_mutex_unlock(&s->gc_mu);
}

int
store_attempt_add(struct store *s, const struct store_attempt *a)
{
	return store_rcpt_record(s, 0, NULL, a);
}

static void
log_row(sqlite3_stmt *st, struct store_log_row *r)
{
	memset(r, 0, sizeof(*r));
	r->time = (time_t)sqlite3_column_int64(st, 1);
	col_text(st, 2, r->msg_id, sizeof(r->msg_id));
	col_text(st, 3, r->account, sizeof(r->account));
	col_text(st, 4, r->mail_from, sizeof(r->mail_from));
	col_text(st, 5, r->rcpt, sizeof(r->rcpt));
	col_text(st, 6, r->message_id, sizeof(r->message_id));
	r->cls_health = sqlite3_column_int(st, 7);
	col_text(st, 8, r->domain, sizeof(r->domain));
	col_text(st, 9, r->channel, sizeof(r->channel));
	col_text(st, 10, r->host, sizeof(r->host));
	col_text(st, 11, r->addr, sizeof(r->addr));
	col_text(st, 12, r->tls_version, sizeof(r->tls_version));
	col_text(st, 13, r->cipher, sizeof(r->cipher));
	col_text(st, 14, r->peer_cert_sha256, sizeof(r->peer_cert_sha256));
	col_text(st, 15, r->auth_result, sizeof(r->auth_result));
	col_text(st, 16, r->nta_record, sizeof(r->nta_record));
	col_text(st, 17, r->nta_dnssec, sizeof(r->nta_dnssec));
	col_text(st, 18, r->nta_verdict, sizeof(r->nta_verdict));
	col_text(st, 19, r->reply, sizeof(r->reply));
	col_text(st, 20, r->result, sizeof(r->result));
}

/*
 * One page of log rows after attempt id *after; returns count via *n.
 * domain matches mail sent to it (the recipient's domain) and from it
 * (the envelope sender's or the account's domain), exactly: no pattern.
 */
static int
log_page(struct store *s, const char *domain, time_t since, int64_t *after,
    struct store_log_row *rows, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	store_lock(s);
	rc = store_prepare(s, "SELECT a.id, a.time, a.msg_id, m.account, m.mail_from, r.addr,"
	    " m.message_id, m.cls_health, a.domain, a.channel, a.host, a.addr, a.tls_version,"
	    " a.cipher, a.peer_cert_sha256, a.auth_result, a.nta_record, a.nta_dnssec,"
	    " a.nta_verdict, a.reply, a.result FROM attempts a"
	    " LEFT JOIN recipients r ON r.id = a.rcpt_id LEFT JOIN messages m ON m.id = a.msg_id"
	    " WHERE a.id > ?1 AND a.time >= ?2 AND (?3 IS NULL OR a.domain = ?3 COLLATE NOCASE"
	    " OR lower(substr(m.mail_from, -length(?3) - 1)) = '@' || lower(?3)"
	    " OR lower(substr(m.account, -length(?3) - 1)) = '@' || lower(?3))"
	    " ORDER BY a.id LIMIT " PAGE_S, &st);
	store_bind_int64(&rc, st, 1, *after);
	store_bind_int64(&rc, st, 2, since);
	store_bind_text_copy(&rc, st, 3, domain);	/* NULL: every domain */
	if (rc == STORE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < PAGE) {
			*after = sqlite3_column_int64(st, 0);
			log_row(st, &rows[(*n)++]);
		}
		rc = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? STORE_OK : store_map(rc);
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return rc;
}

int
store_log_query(struct store *s, const char *domain, time_t since,
    int (*cb)(const struct store_log_row *r, void *arg), void *arg)
{
	struct store_log_row *rows = calloc(PAGE, sizeof(*rows));
	int64_t after = 0;
	size_t n;
	int rc, stop = 0;

	if (rows == NULL)
		return STORE_ERR;
	do {
		rc = log_page(s, domain, since, &after, rows, &n);
		for (size_t i = 0; rc == STORE_OK && i < n && !stop; i++)
			stop = cb(&rows[i], arg) != 0;
	} while (rc == STORE_OK && n == PAGE && !stop);
	free(rows);
	return rc;
}

int
store_queue_shred_done(struct store *s, const char *const *ids, size_t n, size_t *shredded)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*shredded = 0;
	store_lock(s);
	if ((rc = store_begin(s)) != STORE_OK)
		goto out;
	/* Key and state change together, as store_msg_shred() does. */
	rc = store_prepare(s, "UPDATE messages SET sealed_dk = NULL, state = 'done'"
	    " WHERE id = ?1 AND state != 'incomplete' AND sealed_dk IS NOT NULL"
	    " AND NOT EXISTS (SELECT 1 FROM recipients WHERE msg_id = ?1"
	    " AND state NOT IN ('delivered', 'bounced', 'deleted'))", &st);
	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		if (store_bind_text_copy(&rc, st, 1, ids[i]) != STORE_OK)
			break;
		if (sqlite3_step(st) == SQLITE_DONE)
			*shredded += (size_t)sqlite3_changes(s->db);
		else
			rc = store_map(sqlite3_extended_errcode(s->db));
		(void)sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc == STORE_OK)
		rc = store_commit_tx(s);
	else
		store_rollback(s);
	/* secure_delete zeroed the pages; one checkpoint clears the WAL copies. */
	if (rc == STORE_OK && *shredded > 0)
		rc = store_checkpoint(s);
out:
	store_unlock(s);
	return rc;
}

int
store_queue_shred_retained(struct store *s, time_t before, size_t *shredded)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*shredded = 0;
	store_lock(s);
	if ((rc = store_begin(s)) != STORE_OK)
		goto out;
	rc = store_prepare(s, "UPDATE messages SET sealed_dk = NULL, state = 'done'"
	    " WHERE sealed_dk IS NOT NULL AND state = 'queued'"
	    " AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.msg_id = messages.id"
	    " AND (r.state NOT IN ('delivered', 'bounced', 'deleted') OR r.updated >= ?1))",
	    &st);
	if (store_bind_int64(&rc, st, 1, before) == STORE_OK) {
		int64_t n = 0;
		rc = write_one(s, st, &n);
		*shredded = (size_t)n;
	}
	sqlite3_finalize(st);
	if (rc == STORE_OK)
		rc = store_commit_tx(s);
	else
		store_rollback(s);
	if (rc == STORE_OK && *shredded > 0)
		rc = store_checkpoint(s);
out:
	store_unlock(s);
	return rc;
}
