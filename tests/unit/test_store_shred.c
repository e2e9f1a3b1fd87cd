/*
 * test_store_shred.c - crypto-shredding leaves no copy of the sealed data
 * key in any file of the data directory (database, WAL, shm), also when a
 * reader in another connection blocked the first WAL checkpoint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "test_store_util.h"

/* 1 if any regular file under dir contains needle. */
static int
dir_contains(const char *dir, const uint8_t *needle, size_t nlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	assert_non_null(d);
	while (!found && (de = readdir(d)) != NULL) {
		char p[PATH_MAX + 300];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			found = dir_contains(p, needle, nlen);
			continue;
		}
		FILE *f = fopen(p, "rb");
		if (f == NULL)
			continue;
		uint8_t *buf = malloc((size_t)st.st_size + 1);
		size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
		fclose(f);
		if (got >= nlen && memmem(buf, got, needle, nlen) != NULL)
			found = 1;
		free(buf);
	}
	closedir(d);
	return found;
}

static void
sealed_of(struct tenv *t, const char *id, uint8_t out[KEYS_SEALED_DK_LEN])
{
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(path, sizeof(path), "%s/ntamsa.db", t->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sealed_dk FROM messages WHERE id = ?1",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), KEYS_SEALED_DK_LEN);
	memcpy(out, sqlite3_column_blob(st, 0), KEYS_SEALED_DK_LEN);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_shred_leaves_no_copy(void **state)
{
	struct tenv t;
	char id[STORE_ID_LEN], other[STORE_ID_LEN];
	uint8_t sealed[KEYS_SEALED_DK_LEN];

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	assert_int_equal(tenv_put(&t, 3000, 1, id), 0);
	assert_int_equal(tenv_put(&t, 3000, 2, other), 0);
	sealed_of(&t, id, sealed);
	/* Positive control: before shredding the sealed key is on disk. */
	assert_true(dir_contains(t.dir, sealed, sizeof(sealed)));
	assert_int_equal(store_msg_shred(t.s, id), 0);
	assert_false(dir_contains(t.dir, sealed, sizeof(sealed)));
	assert_int_equal(tenv_check(&t, id, 3000, 1), STORE_SHREDDED);
	assert_int_equal(tenv_check(&t, other, 3000, 2), 0);
	tenv_teardown(&t);
}

/* A reader holding an old snapshot blocks the checkpoint; the next commit retries. */
static void
test_shred_with_reader(void **state)
{
	struct tenv t;
	char id[STORE_ID_LEN], path[PATH_MAX + 16], later[STORE_ID_LEN];
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	sqlite3 *rd;
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	assert_int_equal(tenv_put(&t, 3000, 1, id), 0);
	sealed_of(&t, id, sealed);
	snprintf(path, sizeof(path), "%s/ntamsa.db", t.dir);
	assert_int_equal(sqlite3_open(path, &rd), SQLITE_OK);
	sqlite3_busy_timeout(rd, 0);
	assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(rd, "SELECT count(*) FROM messages", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);	/* snapshot held */
	sqlite3_finalize(st);
	assert_int_equal(store_msg_shred(t.s, id), 0);
	assert_int_equal(tenv_check(&t, id, 3000, 1), STORE_SHREDDED);
	/* The reader's snapshot still needs the old frames: they are on disk. */
	assert_true(dir_contains(t.dir, sealed, sizeof(sealed)));
	assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(rd);
	/* The next commit on the store finishes the blocked checkpoint. */
	assert_int_equal(tenv_put(&t, 10, 3, later), 0);
	assert_false(dir_contains(t.dir, sealed, sizeof(sealed)));
	tenv_teardown(&t);
}

/* The portal's way: a DK copy taken before shredding still reads the message. */
static void
test_read_with_dk_after_shred(void **state)
{
	struct tenv t;
	char id[STORE_ID_LEN], other[STORE_ID_LEN];
	uint8_t *dk = keys_dk_new(), *wrong = keys_dk_new();
	struct store_reader *r;
	uint8_t buf[STORE_CHUNK];
	size_t got = 0;
	ssize_t n;

	(void)state;
	assert_non_null(dk);
	assert_non_null(wrong);
	assert_int_equal(tenv_setup(&t), 0);
	assert_int_equal(tenv_put(&t, STORE_CHUNK + 500, 4, id), 0);
	assert_int_equal(tenv_put(&t, 10, 5, other), 0);
	assert_int_equal(store_msg_dk(t.s, t.ring, id, dk), 0);
	assert_int_equal(store_msg_dk(t.s, t.ring, other, wrong), 0);
	assert_int_equal(store_msg_shred(t.s, id), 0);
	assert_int_equal(store_msg_dk(t.s, t.ring, id, wrong), STORE_SHREDDED);
	assert_int_equal(store_reader_open_dk(t.s, dk, id, &r), 0);
	while ((n = store_reader_read(r, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != tenv_byte(4, got + (size_t)i))
				fail_msg("byte %zu differs", got + (size_t)i);
		got += (size_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(got, STORE_CHUNK + 500);
	store_reader_close(r);
	/* Another message's DK does not open it. */
	assert_int_equal(store_msg_dk(t.s, t.ring, other, wrong), 0);
	assert_int_equal(store_reader_open_dk(t.s, wrong, id, &r), 0);
	assert_int_equal(store_reader_read(r, buf, sizeof(buf)), STORE_TAMPER);
	store_reader_close(r);
	keys_dk_free(dk);
	keys_dk_free(wrong);
	tenv_teardown(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shred_leaves_no_copy),
		cmocka_unit_test(test_shred_with_reader),
		cmocka_unit_test(test_read_with_dk_after_shred),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
