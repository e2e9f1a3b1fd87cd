/*
 * test_store_accounts.c - accounts round trip, listing, deletion, the
 * rate-limit count, the audit log, shredding counts, reseal after rotation,
 * and the schema (pragmas, version) the other processes rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "test_store_util.h"

static int
count_cb(const struct store_account *a, void *arg)
{
	(void)a;
	(*(int *)arg)++;
	return 0;
}

/* A list callback may call back into the store (no self-deadlock). */
struct nest {
	struct store *s;
	int got;
};

static int
nested_cb(const struct store_account *a, void *arg)
{
	struct nest *n = arg;
	struct store_account b;

	if (store_account_get(n->s, a->address, &b) == 0 && !strcmp(a->address, b.address))
		n->got++;
	return 0;
}

static void
test_list_callback_reenters(void **state)
{
	struct tenv *t = *state;
	struct store_account a;
	struct nest n = {.s = t->s};

	memset(&a, 0, sizeof(a));
	snprintf(a.pwhash, sizeof(a.pwhash), "x");
	snprintf(a.address, sizeof(a.address), "one@example.test");
	assert_int_equal(store_account_put(t->s, &a), 0);
	snprintf(a.address, sizeof(a.address), "two@example.test");
	assert_int_equal(store_account_put(t->s, &a), 0);
	assert_int_equal(store_account_list(t->s, nested_cb, &n), 0);
	assert_int_equal(n.got, 2);
}

static void
test_account_roundtrip(void **state)
{
	struct tenv *t = *state;
	struct store_account a, b;
	int n = 0;

	memset(&a, 0, sizeof(a));
	snprintf(a.address, sizeof(a.address), "alice@example.test");
	snprintf(a.pwhash, sizeof(a.pwhash), "$argon2id$v=19$m=65536,t=2,p=1$abc$def");
	a.rate_per_hour = 100;
	a.n_allow_from = 2;
	snprintf(a.allow_from[0], STORE_ADDR_MAX, "alice@example.test");
	snprintf(a.allow_from[1], STORE_ADDR_MAX, "*@praktijk.test");
	a.n_allow_ip = 1;
	snprintf(a.allow_ip[0], 64, "127.0.0.0/8");
	assert_int_equal(store_account_put(t->s, &a), 0);
	assert_int_equal(store_account_get(t->s, "ALICE@example.test", &b), 0);
	assert_string_equal(b.address, "alice@example.test");
	assert_string_equal(b.pwhash, a.pwhash);
	assert_int_equal(b.rate_per_hour, 100);
	assert_int_equal(b.n_allow_from, 2);
	assert_string_equal(b.allow_from[1], "*@praktijk.test");
	assert_int_equal(b.n_allow_ip, 1);
	assert_string_equal(b.allow_ip[0], "127.0.0.0/8");
	assert_true(b.created > 0);
	a.rate_per_hour = 5;
	a.n_allow_ip = 0;
	assert_int_equal(store_account_put(t->s, &a), 0);	/* replace */
	assert_int_equal(store_account_get(t->s, "alice@example.test", &b), 0);
	assert_int_equal(b.rate_per_hour, 5);
	assert_int_equal(b.n_allow_ip, 0);
	snprintf(a.address, sizeof(a.address), "bob@example.test");
	assert_int_equal(store_account_put(t->s, &a), 0);
	assert_int_equal(store_account_list(t->s, count_cb, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_account_del(t->s, "bob@example.test"), 0);
	assert_int_equal(store_account_del(t->s, "bob@example.test"), STORE_NOTFOUND);
	assert_int_equal(store_account_get(t->s, "bob@example.test", &b), STORE_NOTFOUND);
	/* A newline would split a list entry in two: refused. */
	snprintf(a.allow_from[0], STORE_ADDR_MAX, "a@b\nc@d");
	assert_int_equal(store_account_put(t->s, &a), STORE_ERR);
}

static void
test_sent_since(void **state)
{
	struct tenv *t = *state;
	char id[STORE_ID_LEN];
	int64_t n = -1;

	assert_int_equal(store_account_sent_since(t->s, "alice@example.test", 0, &n), 0);
	assert_int_equal(n, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tenv_put(t, 10, 0, id), 0);
	assert_int_equal(store_account_sent_since(t->s, "alice@example.test",
	    time(NULL) - 60, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_account_sent_since(t->s, "alice@example.test",
	    time(NULL) + 3600, &n), 0);
	assert_int_equal(n, 0);
}

static int64_t
query_int(struct tenv *t, const char *q)
{
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	snprintf(path, sizeof(path), "%s/ntamsa.db", t->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
test_audit_and_schema(void **state)
{
	struct tenv *t = *state;
	char id[STORE_ID_LEN];

	assert_int_equal(store_audit(t->s, "test-event", NULL, "k=v"), 0);
	assert_int_equal(query_int(t, "SELECT count(*) FROM audit WHERE event = 'test-event'"), 1);
	assert_int_equal(query_int(t, "SELECT max(version) FROM schema_version"), 4);
	assert_int_equal(tenv_put(t, 10, 0, id), 0);
	assert_int_equal(query_int(t, "SELECT count(*) FROM recipients WHERE domain = 'example.net'"
	    " AND state = 'queued' AND attempts = 0"), 1);
	assert_int_equal(store_msg_delete(t->s, id), 0);
	assert_int_equal(store_msg_delete(t->s, id), STORE_NOTFOUND);
	assert_int_equal(query_int(t, "SELECT count(*) FROM recipients"), 0);
	assert_int_equal(query_int(t, "SELECT count(*) FROM chunks"), 0);
	assert_int_equal(query_int(t, "SELECT count(*) FROM audit WHERE event = 'msg-deleted-rcpt'"), 1);
	/* journal_mode=WAL is persistent: a fresh connection sees it. */
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *st;
	snprintf(path, sizeof(path), "%s/ntamsa.db", t->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Reopening an existing store keeps data and does not migrate twice. */
static void
test_reopen(void **state)
{
	struct tenv *t = *state;
	char id[STORE_ID_LEN], err[256];

	assert_int_equal(tenv_put(t, 1000, 3, id), 0);
	store_close(t->s);
	assert_int_equal(store_open(t->dir, &t->s, err, sizeof(err)), 0);
	assert_int_equal(tenv_check(t, id, 1000, 3), 0);
	assert_int_equal(query_int(t, "SELECT count(*) FROM schema_version"), 4);
}

static void
test_count_and_reseal(void **state)
{
	struct tenv *t = *state;
	char ids[5][STORE_ID_LEN], err[256];
	int64_t n;
	size_t resealed;
	uint32_t nid;
	struct keys_pub *pub2;
	struct keys_ring *ring2;

	for (int i = 0; i < 5; i++)
		assert_int_equal(tenv_put(t, 100 * (size_t)i, (unsigned)i, ids[i]), 0);
	assert_int_equal(store_msg_shred(t->s, ids[4]), 0);
	assert_int_equal(store_count_by_key(t->s, 1, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(keys_rotate(t->dir, NULL, &nid, err, sizeof(err)), 0);
	assert_int_equal(keys_load_pub(t->dir, &pub2, err, sizeof(err)), 0);
	assert_int_equal(keys_load_ring(t->dir, NULL, &ring2, err, sizeof(err)), 0);
	assert_int_equal(store_reseal_all(t->s, ring2, pub2, &resealed), 0);
	assert_int_equal(resealed, 4);
	assert_int_equal(store_count_by_key(t->s, 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_count_by_key(t->s, nid, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(keys_retire(t->dir, 1, err, sizeof(err)), 0);
	keys_ring_free(ring2);
	keys_ring_free(t->ring);
	assert_int_equal(keys_load_ring(t->dir, NULL, &t->ring, err, sizeof(err)), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tenv_check(t, ids[i], 100 * (size_t)i, (unsigned)i), 0);
	keys_pub_free(pub2);
}
/* The CRAM-MD5 secret: kept when set, NULL in the database when "". */
static void
test_cram_secret(void **state)
{
	struct tenv *t = *state;
	struct store_account a, b;

	memset(&a, 0, sizeof(a));
	snprintf(a.address, sizeof(a.address), "c@example.test");
	snprintf(a.pwhash, sizeof(a.pwhash), "$argon2id$x");
	snprintf(a.cram_secret, sizeof(a.cram_secret), "74616e7374616e6b6579");
	assert_int_equal(store_account_put(t->s, &a), 0);
	assert_int_equal(store_account_get(t->s, "c@example.test", &b), 0);
	assert_string_equal(b.cram_secret, "74616e7374616e6b6579");
	assert_int_equal(query_int(t, "SELECT count(*) FROM accounts WHERE cram_secret IS NULL"), 0);
	a.cram_secret[0] = '\0';
	assert_int_equal(store_account_put(t->s, &a), 0);
	assert_int_equal(store_account_get(t->s, "c@example.test", &b), 0);
	assert_string_equal(b.cram_secret, "");
	assert_int_equal(query_int(t, "SELECT count(*) FROM accounts WHERE cram_secret IS NULL"), 1);
	/* Unterminated: refused, not truncated. */
	memset(a.cram_secret, 'a', sizeof(a.cram_secret));
	assert_int_equal(store_account_put(t->s, &a), STORE_ERR);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tenv_cm_setup, tenv_cm_teardown)
	const struct CMUnitTest tests[] = {
		T(test_account_roundtrip), T(test_list_callback_reenters), T(test_sent_since), T(test_audit_and_schema),
		T(test_reopen), T(test_count_and_reseal), T(test_cram_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
