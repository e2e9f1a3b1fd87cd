/* test_store_roundtrip.c - messages of every size come back byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_store_util.h"

static void
test_sizes(void **state)
{
	struct tenv *t = *state;
	static const size_t sizes[] = {0, 1, STORE_CHUNK - 1, STORE_CHUNK, STORE_CHUNK + 1,
	    3 * STORE_CHUNK, 20 * 1024 * 1024};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char id[STORE_ID_LEN];
		int rc = tenv_put(t, sizes[i], (unsigned)i, id);
		if (rc != 0)
			fail_msg("size %zu: commit got %d (%s), want 0", sizes[i], rc,
			    store_strerror(rc));
		rc = tenv_check(t, id, sizes[i], (unsigned)i);
		if (rc != 0)
			fail_msg("size %zu: read back got %d, want 0", sizes[i], rc);
	}
}

/* Reading in 1-byte steps crosses every chunk border one byte at a time. */
static void
test_small_reads(void **state)
{
	struct tenv *t = *state;
	struct store_reader *r;
	char id[STORE_ID_LEN];
	size_t len = STORE_CHUNK + 100, off = 0;
	uint8_t b;
	ssize_t n;

	assert_int_equal(tenv_put(t, len, 9, id), 0);
	assert_int_equal(store_reader_open(t->s, t->ring, id, &r), 0);
	while ((n = store_reader_read(r, &b, 1)) == 1) {
		if (b != tenv_byte(9, off))
			fail_msg("byte %zu: got %u, want %u", off, b, tenv_byte(9, off));
		off++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(off, len);
	store_reader_close(r);
}

static void
test_unknown_id(void **state)
{
	struct tenv *t = *state;
	struct store_reader *r;

	assert_int_equal(store_reader_open(t->s, t->ring, "00000000000000000000000000000000", &r),
	    STORE_NOTFOUND);
	assert_int_equal(store_reader_open(t->s, t->ring, "short", &r), STORE_NOTFOUND);
}

/* An aborted message leaves no row behind, whatever its size. */
static void
test_abort(void **state)
{
	struct tenv *t = *state;
	struct store_msg *m;
	struct store_reader *r;
	char id[STORE_ID_LEN];
	uint8_t buf[4096] = {0};

	assert_int_equal(store_msg_new(t->s, t->pub, &m), 0);
	memcpy(id, store_msg_id(m), sizeof(id));
	for (int i = 0; i < 40; i++)	/* 160 KB: chunks already written */
		assert_int_equal(store_msg_write(m, buf, sizeof(buf)), 0);
	store_msg_abort(m);
	assert_int_equal(store_reader_open(t->s, t->ring, id, &r), STORE_NOTFOUND);
}

/* Commit without recipients is refused and leaves nothing. */
static void
test_no_rcpt(void **state)
{
	struct tenv *t = *state;
	struct store_msg *m;
	struct store_meta meta = {.account = "a"};

	assert_int_equal(store_msg_new(t->s, t->pub, &m), 0);
	assert_int_equal(store_msg_write(m, "x", 1), 0);
	assert_int_not_equal(store_msg_commit(m, &meta), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sizes, tenv_cm_setup, tenv_cm_teardown),
		cmocka_unit_test_setup_teardown(test_small_reads, tenv_cm_setup, tenv_cm_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_id, tenv_cm_setup, tenv_cm_teardown),
		cmocka_unit_test_setup_teardown(test_abort, tenv_cm_setup, tenv_cm_teardown),
		cmocka_unit_test_setup_teardown(test_no_rcpt, tenv_cm_setup, tenv_cm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
