/*
 * test_store_tamper.c - every way of altering a stored message is detected:
 * a bit flip anywhere in any chunk, truncation, reordering, a chunk from
 * another message, a message moved to another id, the wrong secret key, a
 * damaged sealed key, and a shredded key.  The database is altered through
 * a second SQLite connection, as an attacker with the file would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "test_store_util.h"

#define NCHUNK 4
#define MSGLEN (3 * STORE_CHUNK + 10)	/* four chunks, the last short */

struct tt {
	struct tenv t;
	sqlite3 *db;			/* the attacker's connection */
	char a[STORE_ID_LEN], b[STORE_ID_LEN];
};

static int
setup(void **state)
{
	struct tt *x = calloc(1, sizeof(*x));
	char path[PATH_MAX + 16];

	if (x == NULL || tenv_setup(&x->t) != 0)
		return -1;
	if (tenv_put(&x->t, MSGLEN, 1, x->a) != 0 || tenv_put(&x->t, MSGLEN, 2, x->b) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ntamsa.db", x->t.dir);
	if (sqlite3_open(path, &x->db) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(x->db, 5000);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct tt *x = *state;

	sqlite3_close(x->db);
	tenv_teardown(&x->t);
	free(x);
	return 0;
}

static void
sql(struct tt *x, const char *fmt, ...)
{
	char q[1024];
	char *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	if (sqlite3_exec(x->db, q, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("sql %s: %s", q, err ? err : "?");
}

static sqlite3_int64
chunk_rowid(struct tt *x, const char *id, int idx)
{
	sqlite3_stmt *st;
	sqlite3_int64 rowid = -1;

	assert_int_equal(sqlite3_prepare_v2(x->db, "SELECT rowid FROM chunks WHERE msg_id = ?1"
	    " AND idx = ?2", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, idx);
	if (sqlite3_step(st) == SQLITE_ROW)
		rowid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_true(rowid >= 0);
	return rowid;
}

/* Flip one bit of byte off of chunk idx of message id, in place. */
static void
flip(struct tt *x, const char *id, int idx, int off)
{
	sqlite3_blob *b;
	uint8_t c;

	assert_int_equal(sqlite3_blob_open(x->db, "main", "chunks", "data",
	    chunk_rowid(x, id, idx), 1, &b), SQLITE_OK);
	if (off < 0)
		off += sqlite3_blob_bytes(b);
	if (off >= sqlite3_blob_bytes(b))	/* the short last chunk */
		off = sqlite3_blob_bytes(b) / 2;
	assert_int_equal(sqlite3_blob_read(b, &c, 1, off), SQLITE_OK);
	c ^= 0x10;
	assert_int_equal(sqlite3_blob_write(b, &c, 1, off), SQLITE_OK);
	sqlite3_blob_close(b);
}

static void
want(struct tt *x, const char *id, int rc_want, const char *what)
{
	int rc = tenv_check(&x->t, id, MSGLEN, id == x->a ? 1 : 2);

	if (rc != rc_want)
		fail_msg("%s: read got %d (%s), want %d (%s)", what, rc,
		    rc < 0 ? store_strerror(rc) : "content mismatch", rc_want,
		    store_strerror(rc_want));
}

static void
test_intact(void **state)
{
	struct tt *x = *state;

	want(x, x->a, 0, "intact a");
	want(x, x->b, 0, "intact b");
}

/* One flipped bit in the version byte, nonce, ciphertext or tag of each chunk. */
static void
test_bitflip_each_chunk(void **state)
{
	struct tt *x = *state;
	static const int offs[] = {0, 1, 12, 13, 500, -17, -1};

	for (int idx = 0; idx < NCHUNK; idx++)
		for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
			char what[64];
			snprintf(what, sizeof(what), "chunk %d byte %d flipped", idx, offs[k]);
			flip(x, x->a, idx, offs[k]);
			want(x, x->a, STORE_TAMPER, what);
			flip(x, x->a, idx, offs[k]);	/* undo */
			want(x, x->a, 0, "after undo");
		}
}

static void
test_truncate_drop_last(void **state)
{
	struct tt *x = *state;

	sql(x, "DELETE FROM chunks WHERE msg_id = '%s' AND idx = %d", x->a, NCHUNK - 1);
	want(x, x->a, STORE_TAMPER, "last chunk deleted");
	/* Also claim the message was one chunk shorter: the final flag catches it. */
	sql(x, "UPDATE messages SET nchunks = nchunks - 1 WHERE id = '%s'", x->a);
	want(x, x->a, STORE_TAMPER, "last chunk deleted and count lowered");
}

static void
test_extend(void **state)
{
	struct tt *x = *state;

	sql(x, "INSERT INTO chunks (msg_id, idx, data) SELECT msg_id, %d, data FROM chunks"
	    " WHERE msg_id = '%s' AND idx = 1", NCHUNK, x->a);
	sql(x, "UPDATE messages SET nchunks = nchunks + 1 WHERE id = '%s'", x->a);
	want(x, x->a, STORE_TAMPER, "chunk appended");
}

static void
test_reorder(void **state)
{
	struct tt *x = *state;

	sql(x, "UPDATE chunks SET idx = -1 WHERE msg_id = '%s' AND idx = 0", x->a);
	sql(x, "UPDATE chunks SET idx = 0 WHERE msg_id = '%s' AND idx = 1", x->a);
	sql(x, "UPDATE chunks SET idx = 1 WHERE msg_id = '%s' AND idx = -1", x->a);
	want(x, x->a, STORE_TAMPER, "chunks 0 and 1 swapped");
}

static void
test_swap_from_other_message(void **state)
{
	struct tt *x = *state;

	sql(x, "UPDATE chunks SET data = (SELECT data FROM chunks WHERE msg_id = '%s'"
	    " AND idx = 2) WHERE msg_id = '%s' AND idx = 2", x->b, x->a);
	want(x, x->a, STORE_TAMPER, "chunk 2 taken from another message");
}

/* Message a's row, key and chunks copied under a new id. */
static void
test_wrong_message_id(void **state)
{
	struct tt *x = *state;
	const char *y = "ffffffffffffffffffffffffffffffff";

	sql(x, "INSERT INTO messages (id, created, state, key_id, sealed_dk, nchunks, size)"
	    " SELECT '%s', created, state, key_id, sealed_dk, nchunks, size FROM messages"
	    " WHERE id = '%s'", y, x->a);
	sql(x, "INSERT INTO chunks (msg_id, idx, data) SELECT '%s', idx, data FROM chunks"
	    " WHERE msg_id = '%s'", y, x->a);
	want(x, y, STORE_TAMPER, "message under another id");
	want(x, x->a, 0, "original still fine");
}

/* The DK of b sealed into a's row: every chunk of a fails. */
static void
test_swapped_dk(void **state)
{
	struct tt *x = *state;

	sql(x, "UPDATE messages SET sealed_dk = (SELECT sealed_dk FROM messages WHERE id = '%s')"
	    " WHERE id = '%s'", x->b, x->a);
	want(x, x->a, STORE_TAMPER, "data key of another message");
}

static void
test_damaged_sealed_dk(void **state)
{
	struct tt *x = *state;

	sql(x, "UPDATE messages SET sealed_dk = zeroblob(%d) WHERE id = '%s'",
	    KEYS_SEALED_DK_LEN, x->a);
	want(x, x->a, STORE_KEY, "sealed key zeroed");
	sql(x, "UPDATE messages SET sealed_dk = zeroblob(10) WHERE id = '%s'", x->b);
	want(x, x->b, STORE_TAMPER, "sealed key truncated");
}

static void
test_wrong_secret_key(void **state)
{
	struct tt *x = *state;
	struct tenv other;
	struct keys_ring *save = x->t.ring;

	assert_int_equal(tenv_setup(&other), 0);
	x->t.ring = other.ring;		/* same key id 1, another pair */
	want(x, x->a, STORE_KEY, "another store's secret key");
	x->t.ring = save;
	tenv_teardown(&other);
	sql(x, "UPDATE messages SET key_id = 99 WHERE id = '%s'", x->a);
	want(x, x->a, STORE_KEY, "key id not in the ring");
}

static void
test_shredded(void **state)
{
	struct tt *x = *state;
	sqlite3_stmt *st;

	assert_int_equal(store_msg_shred(x->t.s, x->a), 0);
	want(x, x->a, STORE_SHREDDED, "shredded");
	want(x, x->b, 0, "other message untouched");
	assert_int_equal(sqlite3_prepare_v2(x->db, "SELECT sealed_dk IS NULL, state FROM"
	    " messages WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, x->a, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "done");
	sqlite3_finalize(st);
	assert_int_equal(store_msg_shred(x->t.s, "00000000000000000000000000000000"),
	    STORE_NOTFOUND);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_intact), T(test_bitflip_each_chunk), T(test_truncate_drop_last),
		T(test_extend), T(test_reorder), T(test_swap_from_other_message),
		T(test_wrong_message_id), T(test_swapped_dk), T(test_damaged_sealed_dk),
		T(test_wrong_secret_key), T(test_shredded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
