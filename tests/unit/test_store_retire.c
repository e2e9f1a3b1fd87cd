/*
 * test_store_retire.c - a retired store key can never seal a new message.
 *
 * The race this guards: after `keys rotate`, a server that was not restarted
 * still seals to the old public key.  `keys reseal` counts the old key's
 * messages, finds none, destroys its secret; a commit that lands after the
 * count would then be a message nobody can ever open (R-STORE-3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_store_util.h"

/* Rotate to key 2 and reload the ring; t->pub stays the stale key 1. */
static struct keys_pub *
rotate(struct tenv *t)
{
	char err[512];
	struct keys_pub *pub2 = NULL;
	uint32_t id = 0;

	assert_int_equal(keys_rotate(t->dir, NULL, &id, err, sizeof(err)), KEYS_OK);
	assert_int_equal(id, 2);
	assert_int_equal(keys_load_pub(t->dir, &pub2, err, sizeof(err)), KEYS_OK);
	keys_ring_free(t->ring);
	assert_int_equal(keys_load_ring(t->dir, NULL, &t->ring, err, sizeof(err)), KEYS_OK);
	return pub2;
}

static void
test_stale_server_after_retire(void **state)
{
	struct tenv *t = *state;
	struct keys_pub *pub2 = rotate(t);
	char id[STORE_ID_LEN];
	size_t n = 0;
	int64_t left = -1;
	int rc;

	assert_int_equal(tenv_put(t, 100, 1, id), 0);	/* sealed to key 1 */
	assert_int_equal(store_reseal_all(t->s, t->ring, pub2, &n), STORE_OK);
	assert_int_equal(n, 1);
	rc = store_key_retire(t->s, 1, &left);
	if (rc != STORE_OK || left != 0)
		fail_msg("retire key 1: got rc %d left %lld, want 0 and 0", rc, (long long)left);
	/* The stale server (t->pub is key 1) commits after the count. */
	rc = tenv_put(t, 100, 2, id);
	if (rc == STORE_OK)
		fail_msg("commit sealed to retired key 1: got ok, want an error "
		    "(the message could never be opened)");
	assert_int_equal(rc, STORE_KEY);
	assert_int_equal(store_count_by_key(t->s, 1, &left), STORE_OK);
	assert_int_equal(left, 0);
	/* Sealing to the current key still works. */
	keys_pub_free(t->pub);
	t->pub = pub2;
	assert_int_equal(tenv_put(t, STORE_CHUNK + 5, 3, id), 0);
	assert_int_equal(tenv_check(t, id, STORE_CHUNK + 5, 3), 0);
}

static void
test_retire_refused_while_used(void **state)
{
	struct tenv *t = *state;
	struct keys_pub *pub2 = rotate(t);
	char id[STORE_ID_LEN];
	int64_t left = -1;

	assert_int_equal(tenv_put(t, 10, 1, id), 0);	/* key 1, not resealed */
	assert_int_equal(store_key_retire(t->s, 1, &left), STORE_OK);
	if (left != 1)
		fail_msg("left got %lld, want 1", (long long)left);
	/* Not marked: key 1 still seals (the caller keeps its secret). */
	assert_int_equal(tenv_put(t, 10, 2, id), 0);
	assert_int_equal(tenv_check(t, id, 10, 2), 0);
	keys_pub_free(pub2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stale_server_after_retire, tenv_cm_setup, tenv_cm_teardown),
		cmocka_unit_test_setup_teardown(test_retire_refused_while_used, tenv_cm_setup, tenv_cm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
