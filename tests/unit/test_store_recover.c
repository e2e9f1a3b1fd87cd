/*
 * test_store_recover.c - store_open removes half-written messages of
 * writers that are gone (dead pid, or the pid reused by another process,
 * or too old) and keeps those of live writers; the schema migrates forward
 * from version 1 and a newer schema is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "store/store_int.h"
#include "test_store_util.h"

static sqlite3 *
side_db(struct tenv *t)
{
	char path[PATH_MAX + 16];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/ntamsa.db", t->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void
add_incomplete(sqlite3 *db, const char *id, long pid, long long start, long long created)
{
	char q[512];

	if (start >= 0)
		snprintf(q, sizeof(q), "INSERT INTO messages (id, created, state, writer_pid,"
		    " writer_start) VALUES ('%s', %lld, 'incomplete', %ld, %lld);"
		    "INSERT INTO chunks (msg_id, idx, data) VALUES ('%s', 0, x'00')",
		    id, created, pid, start, id);
	else
		snprintf(q, sizeof(q), "INSERT INTO messages (id, created, state, writer_pid)"
		    " VALUES ('%s', %lld, 'incomplete', %ld);"
		    "INSERT INTO chunks (msg_id, idx, data) VALUES ('%s', 0, x'00')",
		    id, created, pid, id);
	assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
}

static int
exists(sqlite3 *db, const char *id)
{
	char q[256];
	sqlite3_stmt *st;
	int n;

	snprintf(q, sizeof(q), "SELECT (SELECT count(*) FROM messages WHERE id = '%s') +"
	    " (SELECT count(*) FROM chunks WHERE msg_id = '%s')", id, id);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_recover(void **state)
{
	struct tenv t;
	char err[256];
	long long now = (long long)time(NULL);
	long long start = store_proc_start(getpid());
	pid_t dead;
	int status;

	(void)state;
	assert_true(start > 0);
	assert_int_equal(tenv_setup(&t), 0);
	/* A pid that surely belongs to nobody: our own child, exited and reaped. */
	dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, &status, 0), dead);

	sqlite3 *db = side_db(&t);
	add_incomplete(db, "a0000000000000000000000000000001", (long)getpid(), start, now);
	add_incomplete(db, "a0000000000000000000000000000002", (long)getpid(), start + 1, now);
	add_incomplete(db, "a0000000000000000000000000000003", (long)dead, -1, now);
	add_incomplete(db, "a0000000000000000000000000000004", (long)getpid(), start, now - 3 * 86400);
	add_incomplete(db, "a0000000000000000000000000000005", (long)getpid(), -1, now);
	store_close(t.s);
	assert_int_equal(store_open(t.dir, &t.s, err, sizeof(err)), 0);
	assert_int_equal(exists(db, "a0000000000000000000000000000001"), 2);	/* live writer */
	assert_int_equal(exists(db, "a0000000000000000000000000000002"), 0);	/* pid reused */
	assert_int_equal(exists(db, "a0000000000000000000000000000003"), 0);	/* dead */
	assert_int_equal(exists(db, "a0000000000000000000000000000004"), 0);	/* stale */
	assert_int_equal(exists(db, "a0000000000000000000000000000005"), 2);	/* v1 row, live pid */
	sqlite3_close(db);
	tenv_teardown(&t);
}

static void
test_migrate_from_v1(void **state)
{
	struct tenv t;
	char err[256];
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	store_close(t.s);
	t.s = NULL;
	/* Make it a version 1 database again. */
	db = side_db(&t);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER messages_retired_key_ins;"
	    "DROP TRIGGER messages_retired_key_upd; DROP TABLE retired_keys;"
	    "ALTER TABLE messages DROP COLUMN writer_start;"
	    "ALTER TABLE accounts DROP COLUMN cram_secret;"
	    "DELETE FROM schema_version WHERE version >= 2", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_open(t.dir, &t.s, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT max(version), count(*) FROM schema_version",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
	assert_int_equal(sqlite3_column_int(st, 1), STORE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT writer_start FROM messages", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT cram_secret FROM accounts", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_finalize(st);
	/* A schema newer than the program is refused, with a sentence. */
	store_close(t.s);
	t.s = NULL;
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", NULL, NULL,
	    NULL), SQLITE_OK);
	err[0] = '\0';
	assert_int_equal(store_open(t.dir, &t.s, err, sizeof(err)), STORE_ERR);
	assert_non_null(strstr(err, "newer"));
	sqlite3_close(db);
	tenv_teardown(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_migrate_from_v1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
