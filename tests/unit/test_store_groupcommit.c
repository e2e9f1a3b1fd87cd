/*
 * test_store_groupcommit.c - many threads sharing one struct store commit
 * concurrently; every commit that returned 0 is readable afterwards, and
 * the batches counted by the group commit add up to the messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>

#include "store/store_int.h"
#include "test_store_util.h"

#define THREADS 16
#define PER_THREAD 12

struct worker {
	struct tenv *t;
	unsigned n;
	char ids[PER_THREAD][STORE_ID_LEN];
	int rc;
};

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD && w->rc == 0; i++)
		w->rc = tenv_put(w->t, 2048 + w->n * 100 + (unsigned)i, w->n * 100 + (unsigned)i,
		    w->ids[i]);
	return NULL;
}

static void
test_threads(void **state)
{
	struct tenv t;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	uint64_t batches, msgs;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.t = &t, .n = i};
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		if (w[i].rc != 0)
			fail_msg("thread %u: commit got %d (%s), want 0", i, w[i].rc,
			    store_strerror(w[i].rc));
		for (unsigned k = 0; k < PER_THREAD; k++) {
			int rc = tenv_check(&t, w[i].ids[k], 2048 + i * 100 + k, i * 100 + k);
			if (rc != 0)
				fail_msg("thread %u msg %u: read got %d, want 0", i, k, rc);
		}
	}
	store_gc_stats(t.s, &batches, &msgs);
	assert_int_equal(msgs, THREADS * PER_THREAD);
	assert_true(batches >= 1 && batches <= msgs);
	print_message("group commit: %llu messages in %llu transactions\n",
	    (unsigned long long)msgs, (unsigned long long)batches);
	tenv_teardown(&t);
}

/* One failing message in a batch does not take the others down. */
static void
test_failure_isolated(void **state)
{
	struct tenv t;
	struct store_msg *m;
	struct store_meta meta = {.account = "a"};
	char id[STORE_ID_LEN];

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	assert_int_equal(store_msg_new(t.s, t.pub, &m), 0);
	assert_int_equal(store_msg_write(m, "abc", 3), 0);
	assert_int_equal(store_msg_add_rcpt(m, ""), STORE_ERR);
	assert_int_equal(store_msg_add_rcpt(m, "x@y"), 0);
	assert_int_equal(store_msg_commit(m, &meta), 0);
	assert_int_equal(tenv_put(&t, 10, 1, id), 0);
	assert_int_equal(tenv_check(&t, id, 10, 1), 0);
	tenv_teardown(&t);
}

struct mixed {
	struct tenv *t;
	int bad;		/* this thread's messages must fail */
	int rc[PER_THREAD];
	char ids[PER_THREAD][STORE_ID_LEN];
};

static void *
mixed_work(void *arg)
{
	struct mixed *w = arg;
	struct store_meta meta = {.account = "a"};

	for (int i = 0; i < PER_THREAD; i++) {
		struct store_msg *m;
		if (store_msg_new(w->t->s, w->t->pub, &m) != 0) {
			w->rc[i] = -100;
			continue;
		}
		memcpy(w->ids[i], store_msg_id(m), STORE_ID_LEN);
		if (store_msg_write(m, "hello", 5) != 0 ||
		    store_msg_add_rcpt(m, w->bad ? "refuse@trigger.test" : "ok@example.net") != 0) {
			store_msg_abort(m);
			w->rc[i] = -101;
			continue;
		}
		w->rc[i] = store_msg_commit(m, &meta);
	}
	return NULL;
}

/*
 * A message that fails inside a group transaction (a trigger refuses its
 * recipient) fails alone: the others in the batch commit and read back,
 * and nothing of the failed one remains.
 */
static void
test_failure_in_batch(void **state)
{
	struct tenv t;
	struct mixed w[8];
	pthread_t th[8];
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	snprintf(path, sizeof(path), "%s/ntamsa.db", t.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON recipients"
	    " WHEN NEW.addr = 'refuse@trigger.test' BEGIN SELECT RAISE(ABORT, 'refused'); END",
	    NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct mixed){.t = &t, .bad = i % 4 == 0};
		assert_int_equal(pthread_create(&th[i], NULL, mixed_work, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < PER_THREAD; k++) {
			if (w[i].bad) {
				if (w[i].rc[k] == 0)
					fail_msg("thread %d msg %d: refused message committed", i, k);
				continue;
			}
			if (w[i].rc[k] != 0)
				fail_msg("thread %d msg %d: got %d, want 0", i, k, w[i].rc[k]);
			struct store_reader *r;
			char buf[16];
			assert_int_equal(store_reader_open(t.s, t.ring, w[i].ids[k], &r), 0);
			assert_int_equal(store_reader_read(r, buf, sizeof(buf)), 5);
			assert_memory_equal(buf, "hello", 5);
			store_reader_close(r);
		}
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 6 * PER_THREAD);
	sqlite3_finalize(st);
	sqlite3_close(db);
	tenv_teardown(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_failure_isolated),
		cmocka_unit_test(test_failure_in_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
