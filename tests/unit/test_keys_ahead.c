/*
 * test_keys_ahead.c - data keys sealed ahead by a background thread
 * (keys_pub_seal_ahead): every key handed out opens with the store secret
 * to the same bytes, no key is handed out twice, the ring refills after a
 * burst longer than its depth (the rest sealed inline), concurrent takers
 * get distinct keys, bad depths are refused, and freeing the public key
 * while the filler runs stops it cleanly (ASan/LSan see the rest).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "test_store_util.h"

#define DEPTH 16
#define TAKERS 8
#define PER_TAKER 40

struct kt {
	char dir[PATH_MAX];
	char err[512];
	struct keys_pub *pub;
	struct keys_ring *ring;
};

static int
setup(void **state)
{
	struct kt *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	snprintf(k->dir, sizeof(k->dir), "/tmp/ntamsa-ahead-XXXXXX");
	if (mkdtemp(k->dir) == NULL ||
	    keys_init(k->dir, NULL, k->err, sizeof(k->err)) != KEYS_OK ||
	    keys_load_pub(k->dir, &k->pub, k->err, sizeof(k->err)) != KEYS_OK ||
	    keys_load_ring(k->dir, NULL, &k->ring, k->err, sizeof(k->err)) != KEYS_OK)
		return -1;
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct kt *k = *state;

	keys_pub_free(k->pub);
	keys_ring_free(k->ring);
	tenv_rmtree(k->dir);
	free(k);
	return 0;
}

/* Wait (at most 20 s: ASan on a loaded machine) until the ring holds n keys. */
static void
wait_filled(struct kt *k, size_t n)
{
	struct keys_ahead_stats st;

	for (int i = 0; i < 2000; i++) {
		keys_pub_seal_stats(k->pub, &st);
		if (st.ready >= n)
			return;
		(void)usleep(10000);
	}
	fail_msg("the ring did not fill to %zu", n);
}

/* Take one key; check it opens to the same bytes; copy it out. */
static void
take_and_check(struct kt *k, uint8_t out[KEYS_DK_LEN])
{
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint32_t kid = 0;
	uint8_t *dk = keys_dk_new_sealed(k->pub, sealed, &kid);
	uint8_t *back = keys_dk_new();

	assert_non_null(dk);
	assert_non_null(back);
	assert_int_equal(kid, keys_pub_id(k->pub));
	assert_int_equal(keys_dk_open(k->ring, kid, sealed, back), KEYS_OK);
	assert_memory_equal(dk, back, KEYS_DK_LEN);
	memcpy(out, dk, KEYS_DK_LEN);
	keys_dk_free(dk);
	keys_dk_free(back);
}

static void
assert_all_distinct(uint8_t (*dks)[KEYS_DK_LEN], size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_memory_not_equal(dks[i], dks[j], KEYS_DK_LEN);
}

/* Without a ring every key is sealed inline and the counts stay zero. */
static void
test_inline_without_ring(void **state)
{
	struct kt *k = *state;
	uint8_t dks[4][KEYS_DK_LEN];
	struct keys_ahead_stats st;

	for (int i = 0; i < 4; i++)
		take_and_check(k, dks[i]);
	assert_all_distinct(dks, 4);
	keys_pub_seal_stats(k->pub, &st);
	assert_int_equal(st.taken, 0);
	assert_int_equal(st.missed, 0);
	assert_int_equal(st.ready, 0);
}

/*
 * A burst of three depths: the first DEPTH come from the filled ring, the
 * rest from the ring as it refills or inline; every one opens, none twice.
 */
static void
test_burst_and_refill(void **state)
{
	struct kt *k = *state;
	uint8_t dks[3 * DEPTH][KEYS_DK_LEN];
	struct keys_ahead_stats st, st2;

	assert_int_equal(keys_pub_seal_ahead(k->pub, DEPTH, k->err, sizeof(k->err)), KEYS_OK);
	assert_int_equal(keys_pub_seal_ahead(k->pub, DEPTH, k->err, sizeof(k->err)), KEYS_OK);
	wait_filled(k, DEPTH);
	(void)usleep(20000);
	keys_pub_seal_stats(k->pub, &st);
	assert_int_equal(st.ready, DEPTH);	/* never more than its depth */
	for (int i = 0; i < 3 * DEPTH; i++)
		take_and_check(k, dks[i]);
	assert_all_distinct(dks, 3 * DEPTH);
	keys_pub_seal_stats(k->pub, &st);
	assert_int_equal(st.taken + st.missed, 3 * DEPTH);
	assert_true(st.taken >= DEPTH);
	/* Refilled: the next DEPTH all come from the ring. */
	wait_filled(k, DEPTH);
	for (int i = 0; i < DEPTH; i++)
		take_and_check(k, dks[i]);
	keys_pub_seal_stats(k->pub, &st2);
	assert_int_equal(st2.taken, st.taken + DEPTH);
	assert_int_equal(st2.missed, st.missed);
}

struct taker {
	struct kt *k;
	uint8_t dks[PER_TAKER][KEYS_DK_LEN];
};

static void *
taker_run(void *arg)
{
	struct taker *t = arg;

	for (int i = 0; i < PER_TAKER; i++)
		take_and_check(t->k, t->dks[i]);
	return NULL;
}

/* Concurrent takers (as smtpd's session threads are) never share a key. */
static void
test_concurrent_takers(void **state)
{
	struct kt *k = *state;
	struct taker *t = calloc(TAKERS, sizeof(*t));
	pthread_t th[TAKERS];
	uint8_t (*all)[KEYS_DK_LEN] = calloc(TAKERS * PER_TAKER, KEYS_DK_LEN);
	struct keys_ahead_stats st;

	assert_non_null(t);
	assert_non_null(all);
	assert_int_equal(keys_pub_seal_ahead(k->pub, DEPTH, k->err, sizeof(k->err)), KEYS_OK);
	for (int i = 0; i < TAKERS; i++) {
		t[i].k = k;
		assert_int_equal(pthread_create(&th[i], NULL, taker_run, &t[i]), 0);
	}
	for (int i = 0; i < TAKERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < TAKERS; i++)
		memcpy(all[i * PER_TAKER], t[i].dks, sizeof(t[i].dks));
	assert_all_distinct(all, TAKERS * PER_TAKER);
	keys_pub_seal_stats(k->pub, &st);
	assert_int_equal(st.taken + st.missed, TAKERS * PER_TAKER);
	free(t);
	free(all);
}

static void
test_bad_depth(void **state)
{
	struct kt *k = *state;

	assert_int_equal(keys_pub_seal_ahead(k->pub, 0, k->err, sizeof(k->err)), KEYS_ERR);
	assert_non_null(strstr(k->err, "depth 0"));
	assert_int_equal(keys_pub_seal_ahead(k->pub, KEYS_AHEAD_MAX + 1, k->err,
	    sizeof(k->err)), KEYS_ERR);
}

/*
 * Freed while the filler is busy sealing (a large depth it cannot have
 * finished): keys_pub_free stops and joins it; a new key loads and seals.
 */
static void
test_free_while_filling(void **state)
{
	struct kt *k = *state;

	for (int round = 0; round < 5; round++) {
		assert_int_equal(keys_pub_seal_ahead(k->pub, KEYS_AHEAD_MAX, k->err,
		    sizeof(k->err)), KEYS_OK);
		(void)usleep(1000 * (useconds_t)round);
		keys_pub_free(k->pub);
		k->pub = NULL;
		assert_int_equal(keys_load_pub(k->dir, &k->pub, k->err, sizeof(k->err)), KEYS_OK);
	}
	uint8_t dk[KEYS_DK_LEN];
	take_and_check(k, dk);
}

/* After a rotation the old ring's keys never pose as the new key's. */
static void
test_rotation_new_ring(void **state)
{
	struct kt *k = *state;
	uint32_t id;
	uint8_t dk[KEYS_DK_LEN];

	assert_int_equal(keys_pub_seal_ahead(k->pub, DEPTH, k->err, sizeof(k->err)), KEYS_OK);
	wait_filled(k, DEPTH);
	assert_int_equal(keys_rotate(k->dir, NULL, &id, k->err, sizeof(k->err)), KEYS_OK);
	keys_pub_free(k->pub);
	keys_ring_free(k->ring);
	assert_int_equal(keys_load_pub(k->dir, &k->pub, k->err, sizeof(k->err)), KEYS_OK);
	assert_int_equal(keys_load_ring(k->dir, NULL, &k->ring, k->err, sizeof(k->err)), KEYS_OK);
	assert_int_equal(keys_pub_id(k->pub), id);
	assert_int_equal(keys_pub_seal_ahead(k->pub, DEPTH, k->err, sizeof(k->err)), KEYS_OK);
	wait_filled(k, DEPTH);
	for (int i = 0; i < DEPTH; i++)
		take_and_check(k, dk);	/* checks kid == the new id */
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_inline_without_ring), T(test_burst_and_refill), T(test_concurrent_takers),
		T(test_bad_depth), T(test_free_while_filling), T(test_rotation_new_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
