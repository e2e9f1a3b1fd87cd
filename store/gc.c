/*
 * gc.c - group commit shared by message commits (msg.c) and delivery
 * records (queue.c): many callers, one durable transaction per batch.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>

int
store_exec_cached(struct store *s, int slot, const char *sql)
{
	sqlite3_stmt *st;
	int rc = store_cached(s, slot, sql, &st);

	if (rc != STORE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rc = STORE_OK;
	else {
		rc = store_map(sqlite3_extended_errcode(s->db));
		if (rc == STORE_OK)
			rc = STORE_ERR;
	}
	store_release(st);
	return rc;
}

/* Leader: one durable transaction for the whole batch. */
static void
run_batch(struct store *s, struct store_gcreq *batch, store_gc_apply_fn apply)
{
	int rc;

	store_lock(s);
	rc = store_begin(s);
	for (struct store_gcreq *r = batch; r != NULL; r = r->next)
		r->rc = rc == STORE_OK ? apply(s, r) : rc;
	if (rc == STORE_OK && (rc = store_commit_tx(s)) != STORE_OK)	/* fsync of the WAL */
		for (struct store_gcreq *r = batch; r != NULL; r = r->next)
			r->rc = rc;
	if (s->ckpt_pending)
		(void)store_checkpoint(s);	/* a shredded key may still be in the WAL */
	store_unlock(s);
}

/*
 * Wait in q until r is done or handed the leadership; gc_mu is held on
 * entry and released on return.  The wait itself is on r's own semaphore with
 * gc_mu released: a condition variable would make each of a batch's
 * members, woken together, queue again for gc_mu only to see that it is
 * done, a convoy of futex calls and context switches per message.
 */
static void
follow(struct store *s, struct store_gcq *q, struct store_gcreq *r)
{
	if (q->tail != NULL)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->waiting++;
	(void)pthread_mutex_unlock(&s->gc_mu);
	while (sem_wait(&r->wake) != 0)
		if (errno != EINTR)
			abort();
	/* sem_post/sem_wait order the waker's writes of done and lead. */
}

/* Wake the members of a finished batch other than self, then the next leader. */
static void
release(struct store_gcreq *batch, struct store_gcreq *self, struct store_gcreq *next_leader)
{
	/* Followers' requests live on their stacks: read next before waking. */
	for (struct store_gcreq *x = batch, *next; x != NULL; x = next) {
		next = x->next;
		x->done = 1;
		if (x != self && sem_post(&x->wake) != 0)
			abort();
	}
	if (next_leader != NULL && sem_post(&next_leader->wake) != 0)
		abort();
}

/*
 * Leader/follower: the first caller with nobody leading commits everything
 * queued in one transaction; who arrives meanwhile queues up for the next
 * batch.  The finishing leader wakes each member of its batch and hands
 * leadership to the head of the queue, so a batch never wakes more threads
 * than it holds, and none of them needs gc_mu to learn it is done.
 */
void
store_gc_commit(struct store *s, struct store_gcq *q, struct store_gcreq *r,
    store_gc_apply_fn apply)
{
	r->next = NULL;
	r->done = r->lead = 0;
	if (sem_init(&r->wake, 0, 0) != 0) {
		r->rc = STORE_ERR;
		return;
	}
	if (pthread_mutex_lock(&s->gc_mu) != 0)
		abort();
	if (q->leader) {
		follow(s, q, r);
		if (r->done) {
			(void)sem_destroy(&r->wake);
			return;
		}
		if (pthread_mutex_lock(&s->gc_mu) != 0)
			abort();
	} else {
		q->leader = 1;
		r->next = q->head;	/* normally empty: leadership is handed on */
		q->head = r;
		if (q->tail == NULL)
			q->tail = r;
	}
	/* Leading: take everything queued, r included (it is the head). */
	struct store_gcreq *batch = q->head, *next_leader = NULL;
	q->head = q->tail = NULL;
	q->waiting = 0;
	(void)pthread_mutex_unlock(&s->gc_mu);
	run_batch(s, batch, apply);
	if (pthread_mutex_lock(&s->gc_mu) != 0)
		abort();
	uint64_t n = 0;
	for (struct store_gcreq *x = batch; x != NULL; x = x->next)
		n++;
	q->batches++;
	q->items += n;
	if (q->head != NULL) {
		next_leader = q->head;
		next_leader->lead = 1;
	} else
		q->leader = 0;
	(void)pthread_mutex_unlock(&s->gc_mu);
	release(batch, r, next_leader);
	(void)sem_destroy(&r->wake);
}
