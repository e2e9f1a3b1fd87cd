/*
 * test_store_rcptrecord.c - the group commit of store_rcpt_record (queue.c):
 * records of several threads share one transaction, each caller gets its
 * own result, a failing record fails alone, and a deliver process killed
 * before its record is durable leaves the recipient queued (retryable: a
 * duplicate delivery at worst, never a loss), while a record that returned
 * survives the kill.
 *
 * Batching is forced, not timed: the test holds the store lock so the
 * first caller (the leader) waits in front of it while the others queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "store/store_int.h"
#include "test_store_util.h"

#define NREC 8

struct rec {
	struct store *s;
	int64_t rcpt_id;
	const char *msg_id;
	const char *reply;
	int rc;
};

static void *
rec_work(void *arg)
{
	struct rec *w = arg;
	struct store_rcpt_update u = {.state = "delivered", .channel = "dane", .reason = "ok",
	    .last_reply = w->reply, .tried = 1, .now = 1000};
	struct store_attempt a = {.rcpt_id = w->rcpt_id, .msg_id = w->msg_id,
	    .domain = "example.net", .time = 1000, .channel = "dane", .reply = w->reply,
	    .result = "delivered"};

	w->rc = store_rcpt_record(w->s, w->rcpt_id, &u, &a);
	return NULL;
}

static int
first_rcpt(const struct store_rcpt *r, void *arg)
{
	*(struct store_rcpt *)arg = *r;
	return 1;
}

/* A message with one recipient; its row in *r. */
static void
put_one(struct tenv *t, unsigned seed, char id[STORE_ID_LEN], struct store_rcpt *r)
{
	assert_int_equal(tenv_put(t, 100, seed, id), 0);
	memset(r, 0, sizeof(*r));
	assert_int_equal(store_queue_list(t->s, id, first_rcpt, r), 0);
	assert_true(r->id > 0);
}

/* Poll for a state, never for a time: the threads get there eventually. */
static void
wait_queue(struct store *s, int leader, size_t waiting)
{
	for (;;) {
		assert_int_equal(pthread_mutex_lock(&s->gc_mu), 0);
		int ok = s->gc_rcpts.leader == leader && s->gc_rcpts.waiting == waiting;
		assert_int_equal(pthread_mutex_unlock(&s->gc_mu), 0);
		if (ok)
			return;
		(void)usleep(1000);
	}
}

static int64_t
count(struct tenv *t, const char *sql)
{
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n;

	snprintf(path, sizeof(path), "%s/ntamsa.db", t->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void
exec_sql(struct tenv *t, const char *sql)
{
	char path[PATH_MAX + 16];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/ntamsa.db", t->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * NREC records with the store lock held until all have queued: the first
 * (leader) commits alone, the other NREC-1 in one batch.  w[bad] (if >= 0)
 * carries a reply the test's trigger refuses.
 */
static void
run_forced_batch(struct tenv *t, struct rec *w, char ids[][STORE_ID_LEN], int bad)
{
	pthread_t th[NREC];

	for (int i = 0; i < NREC; i++) {
		struct store_rcpt r;
		put_one(t, (unsigned)i, ids[i], &r);
		w[i] = (struct rec){.s = t->s, .rcpt_id = r.id, .msg_id = ids[i],
		    .reply = i == bad ? "refuse" : "250 ok", .rc = -999};
	}
	store_lock(t->s);
	assert_int_equal(pthread_create(&th[0], NULL, rec_work, &w[0]), 0);
	wait_queue(t->s, 1, 0);
	for (int i = 1; i < NREC; i++)
		assert_int_equal(pthread_create(&th[i], NULL, rec_work, &w[i]), 0);
	wait_queue(t->s, 1, NREC - 1);
	store_unlock(t->s);
	for (int i = 0; i < NREC; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
}

static void
test_batched(void **state)
{
	struct tenv t;
	struct rec w[NREC];
	char ids[NREC][STORE_ID_LEN];
	uint64_t batches, recs;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	run_forced_batch(&t, w, ids, -1);
	for (int i = 0; i < NREC; i++)
		if (w[i].rc != 0)
			fail_msg("record %d: got %d, want 0", i, w[i].rc);
	store_rcpt_record_stats(t.s, &batches, &recs);
	if (batches != 2 || recs != NREC)
		fail_msg("got %llu records in %llu commits, want %d in 2",
		    (unsigned long long)recs, (unsigned long long)batches, NREC);
	assert_int_equal(count(&t, "SELECT count(*) FROM recipients WHERE state = 'delivered'"
	    " AND attempts = 1 AND first_attempt = 1000"), NREC);
	assert_int_equal(count(&t, "SELECT count(*) FROM attempts a JOIN recipients r"
	    " ON r.id = a.rcpt_id WHERE a.result = 'delivered'"), NREC);
	tenv_teardown(&t);
}

/* A record refused inside the batch fails alone, and leaves its recipient queued. */
static void
test_failure_in_batch(void **state)
{
	struct tenv t;
	struct rec w[NREC];
	char ids[NREC][STORE_ID_LEN];
	const int bad = 3;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	exec_sql(&t, "CREATE TRIGGER refuse BEFORE INSERT ON attempts WHEN NEW.reply = 'refuse'"
	    " BEGIN SELECT RAISE(ABORT, 'refused'); END");
	run_forced_batch(&t, w, ids, bad);
	for (int i = 0; i < NREC; i++) {
		if (i == bad && w[i].rc == 0)
			fail_msg("record %d: refused record got 0", i);
		if (i != bad && w[i].rc != 0)
			fail_msg("record %d: got %d, want 0", i, w[i].rc);
	}
	assert_int_equal(count(&t, "SELECT count(*) FROM recipients WHERE state = 'delivered'"),
	    NREC - 1);
	assert_int_equal(count(&t, "SELECT count(*) FROM recipients WHERE state = 'queued'"
	    " AND attempts = 0"), 1);
	assert_int_equal(count(&t, "SELECT count(*) FROM attempts"), NREC - 1);
	tenv_teardown(&t);
}

/*
 * Child: record a (returns: durable), tell the parent, then start the
 * record of b while holding the store lock so it cannot commit; the parent
 * kills it there, as a crash between the receiver's 250 and its record.
 */
static void
child(const char *dir, int64_t a, int64_t b, const char *ida, const char *idb, int fd)
{
	char err[256];
	struct store *s;
	struct rec wa = {.rcpt_id = a, .msg_id = ida, .reply = "250 ok"};
	struct rec wb = {.rcpt_id = b, .msg_id = idb, .reply = "250 ok"};
	pthread_t th;

	if (store_open(dir, &s, err, sizeof(err)) != 0)
		_exit(2);
	wa.s = wb.s = s;
	(void)rec_work(&wa);
	if (wa.rc != 0)
		_exit(3);
	store_lock(s);
	if (pthread_create(&th, NULL, rec_work, &wb) != 0)
		_exit(4);
	for (;;) {
		(void)pthread_mutex_lock(&s->gc_mu);
		int leading = s->gc_rcpts.leader;
		(void)pthread_mutex_unlock(&s->gc_mu);
		if (leading)
			break;
		(void)usleep(1000);
	}
	if (write(fd, "k", 1) != 1)
		_exit(5);
	for (;;)
		(void)pause();	/* killed here */
}

static int
due_count(const struct store_rcpt *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static void
test_killed_before_durable(void **state)
{
	struct tenv t;
	char ida[STORE_ID_LEN], idb[STORE_ID_LEN], c;
	struct store_rcpt ra, rb;
	int fds[2], status, due = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	put_one(&t, 1, ida, &ra);
	put_one(&t, 2, idb, &rb);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)close(fds[0]);
		child(t.dir, ra.id, rb.id, ida, idb, fds[1]);
	}
	(void)close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		(void)waitpid(pid, &status, 0);
		fail_msg("child died before its second record (status %d)", status);
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	(void)close(fds[0]);
	/* a returned: durable.  b: still queued, due, no attempt recorded. */
	assert_int_equal(count(&t, "SELECT count(*) FROM recipients WHERE state = 'delivered'"),
	    1);
	memset(&ra, 0, sizeof(ra));
	assert_int_equal(store_queue_list(t.s, ida, first_rcpt, &ra), 0);
	assert_string_equal(ra.state, "delivered");
	assert_int_equal(store_queue_due(t.s, time(NULL) + 1, 10, due_count, &due), 0);
	assert_int_equal(due, 1);
	memset(&rb, 0, sizeof(rb));
	assert_int_equal(store_queue_list(t.s, idb, first_rcpt, &rb), 0);
	assert_string_equal(rb.state, "queued");
	assert_int_equal(count(&t, "SELECT count(*) FROM attempts"), 1);
	tenv_teardown(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batched),
		cmocka_unit_test(test_failure_in_batch),
		cmocka_unit_test(test_killed_before_durable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
