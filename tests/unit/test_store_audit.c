/*
 * test_store_audit.c - store_msg_delete audits every recipient or deletes
 * nothing: a SELECT step that fails part-way (here a temp view shadowing
 * recipients whose state column overflows) is an error the caller sees,
 * not the end of the rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store/store_int.h"
#include "test_store_util.h"

/* A temp object shadows main's: the store's unqualified SELECT reads the view. */
#define FAILING_VIEW "CREATE TEMP VIEW recipients AS SELECT msg_id, addr," \
	" abs(-9223372036854775807 - 1) AS state FROM main.recipients"

static int64_t
count(struct tenv *t, const char *q)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(t->s->db, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
test_failed_select_is_an_error(void **state)
{
	struct tenv *t = *state;
	char id[STORE_ID_LEN];
	int rc;

	assert_int_equal(tenv_put(t, 10, 1, id), 0);
	assert_int_equal(sqlite3_exec(t->s->db, FAILING_VIEW, NULL, NULL, NULL), SQLITE_OK);
	rc = store_msg_delete(t->s, id);
	assert_true(rc < 0);			/* got STORE_OK: the error read as "no more rows" */
	assert_int_not_equal(rc, STORE_NOTFOUND);
	assert_int_equal(sqlite3_exec(t->s->db, "DROP VIEW temp.recipients", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(count(t, "SELECT count(*) FROM messages"), 1);	/* rolled back */
	assert_int_equal(count(t, "SELECT count(*) FROM audit WHERE event = 'msg-deleted-rcpt'"), 0);

	assert_int_equal(store_msg_delete(t->s, id), STORE_OK);
	assert_int_equal(count(t, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(count(t, "SELECT count(*) FROM audit WHERE event = 'msg-deleted-rcpt'"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_select_is_an_error,
		    tenv_cm_setup, tenv_cm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
