/*
 * test_store_bind.c - a failed bind stops the statement (bind.c).
 *
 * The binds are forced to fail with SQLite's own limits: SQLITE_RANGE (a
 * parameter the statement does not have) and SQLITE_TOOBIG (a value longer
 * than the connection's SQLITE_LIMIT_LENGTH).  Through the public API the
 * store never binds a value that long, so the store cases lower the limit
 * on the store's own connection (white box, like test_store_recover) and
 * check that the write is refused instead of stored with a NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store/store_int.h"
#include "test_store_util.h"

#define SMALL_LIMIT 1000

/* A value of len 'x's (len < cap). */
static const char *
long_text(char *buf, size_t cap, size_t len)
{
	assert_true(len < cap);
	memset(buf, 'x', len);
	buf[len] = '\0';
	return buf;
}

static void
test_helpers(void **state)
{
	char big[SMALL_LIMIT * 2];
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc = STORE_OK;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT ?1, ?2", -1, &st, NULL), SQLITE_OK);

	/* SQLITE_RANGE: got STORE_ERR, and the error sticks */
	assert_int_equal(store_bind_int64(&rc, st, 3, 1), STORE_ERR);
	assert_int_equal(store_bind_int64(&rc, st, 1, 42), STORE_ERR);
	assert_int_equal(rc, STORE_ERR);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);	/* not bound after the error */
	assert_int_equal(sqlite3_reset(st), SQLITE_OK);

	/* good binds: STORE_OK, NULL text binds NULL */
	rc = STORE_OK;
	assert_int_equal(store_bind_int64(&rc, st, 1, 42), STORE_OK);
	assert_int_equal(store_bind_text(&rc, st, 2, NULL), STORE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 42);
	assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL);
	assert_int_equal(sqlite3_reset(st), SQLITE_OK);

	/* SQLITE_TOOBIG: got STORE_TOOBIG, for text, copied text and blobs */
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, SMALL_LIMIT);
	long_text(big, sizeof(big), SMALL_LIMIT + 1);
	rc = STORE_OK;
	assert_int_equal(store_bind_text(&rc, st, 1, big), STORE_TOOBIG);
	rc = STORE_OK;
	assert_int_equal(store_bind_text_copy(&rc, st, 1, big), STORE_TOOBIG);
	rc = STORE_OK;
	assert_int_equal(store_bind_blob(&rc, st, 1, big, SMALL_LIMIT + 1), STORE_TOOBIG);
	rc = STORE_OK;
	assert_int_equal(store_bind_blob_copy(&rc, st, 1, big, SMALL_LIMIT + 1), STORE_TOOBIG);
	/* a length SQLite's int cannot hold is refused before SQLite sees it */
	rc = STORE_OK;
	assert_int_equal(store_bind_blob(&rc, st, 1, big, (size_t)INT_MAX + 1), STORE_TOOBIG);
	rc = STORE_OK;
	assert_int_equal(store_bind_text(&rc, st, 1, "short"), STORE_OK);

	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int64_t
count_rows(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* An audit row whose detail cannot be bound is not written with a NULL detail. */
static void
test_audit_refused(void **state)
{
	struct tenv *t = *state;
	char big[SMALL_LIMIT * 2];

	sqlite3_limit(t->s->db, SQLITE_LIMIT_LENGTH, SMALL_LIMIT);
	long_text(big, sizeof(big), SMALL_LIMIT + 1);
	assert_int_equal(store_audit(t->s, "bind-test", NULL, big), STORE_TOOBIG);
	assert_int_equal(count_rows(t->s, "SELECT count(*) FROM audit WHERE event = 'bind-test'"), 0);

	assert_int_equal(store_audit(t->s, "bind-test", NULL, "short"), STORE_OK);
	assert_int_equal(count_rows(t->s, "SELECT count(*) FROM audit WHERE event = 'bind-test'"
	    " AND detail = 'short'"), 1);
}

/*
 * An account whose allow list cannot be bound is refused: run with a NULL
 * list it would have been stored with no sender restriction at all.
 */
static void
test_account_refused(void **state)
{
	struct tenv *t = *state;
	struct store_account a, got;

	memset(&a, 0, sizeof(a));
	snprintf(a.address, sizeof(a.address), "alice@example.test");
	snprintf(a.pwhash, sizeof(a.pwhash), "$argon2id$placeholder");
	a.rate_per_hour = 10;
	/* 8 entries of 200 octets joined: about 1.6 KB, over the limit */
	a.n_allow_from = 8;
	for (size_t i = 0; i < a.n_allow_from; i++) {
		memset(a.allow_from[i], 'a' + (int)i, 190);
		snprintf(a.allow_from[i] + 190, STORE_ADDR_MAX - 190, "@e.test");
	}
	sqlite3_limit(t->s->db, SQLITE_LIMIT_LENGTH, SMALL_LIMIT);
	assert_int_equal(store_account_put(t->s, &a), STORE_TOOBIG);
	assert_int_equal(store_account_get(t->s, a.address, &got), STORE_NOTFOUND);

	sqlite3_limit(t->s->db, SQLITE_LIMIT_LENGTH, 1000000);
	assert_int_equal(store_account_put(t->s, &a), STORE_OK);
	assert_int_equal(store_account_get(t->s, a.address, &got), STORE_OK);
	assert_int_equal(got.n_allow_from, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test_setup_teardown(test_audit_refused, tenv_cm_setup, tenv_cm_teardown),
		cmocka_unit_test_setup_teardown(test_account_refused, tenv_cm_setup, tenv_cm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
