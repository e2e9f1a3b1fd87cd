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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_failure_isolated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
