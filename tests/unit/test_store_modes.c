/*
 * test_store_modes.c - modes of ntamsa.db, -wal and -shm in the two
 * layouts the data directory decides (common/fsmode.h): owner-only 0600,
 * group-shared (group rwx, nothing for others) 0660 with the directory's
 * group; a wrong mode (or group) on an existing file is repaired.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "common/fsmode.h"
#include "test_store_util.h"

struct mt {
	char dir[PATH_MAX];
	char err[512];
};

static int
setup(void **state)
{
	struct mt *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	snprintf(m->dir, sizeof(m->dir), "/tmp/ntamsa-modes-XXXXXX");
	if (mkdtemp(m->dir) == NULL) {
		free(m);
		return -1;
	}
	*state = m;
	return 0;
}

static int
teardown(void **state)
{
	struct mt *m = *state;

	tenv_rmtree(m->dir);
	free(m);
	return 0;
}

static int
stat_db(const struct mt *m, const char *sfx, struct stat *st)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/ntamsa.db%s", m->dir, sfx);
	return stat(p, st);
}

static mode_t
db_mode(const struct mt *m, const char *sfx)
{
	struct stat st;

	return stat_db(m, sfx, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* Open (creating the schema writes: -wal and -shm exist), check, close. */
static void
open_expect(struct mt *m, mode_t want)
{
	struct store *s = NULL;
	const char *sfx[] = {"", "-wal", "-shm"};

	if (store_open(m->dir, &s, m->err, sizeof(m->err)) != 0)
		fail_msg("store_open: %s", m->err);
	for (size_t i = 0; i < 3; i++)
		if (db_mode(m, sfx[i]) != want)
			fail_msg("ntamsa.db%s: got %04o, want %04o", sfx[i],
			    (unsigned)db_mode(m, sfx[i]), (unsigned)want);
	store_close(s);
}

static void
precreate(const struct mt *m, mode_t mode)
{
	char p[PATH_MAX + 32];
	int fd;

	snprintf(p, sizeof(p), "%s/ntamsa.db", m->dir);
	assert_true((fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_layout_rule(void **state)
{
	(void)state;
	static const struct { mode_t mode; int shared; } rows[] = {
		{0700, 0}, {0750, 0}, {0770, 1}, {02770, 1}, {0771, 0}, {0774, 0},
		{0775, 0}, {0760, 0}, {0777, 0}, {01770, 1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fsmode_is_group_shared(rows[i].mode) != rows[i].shared)
			fail_msg("mode %04o: got %d, want %d", (unsigned)rows[i].mode,
			    fsmode_is_group_shared(rows[i].mode), rows[i].shared);
}

static void
test_owner_only_new(void **state)
{
	struct mt *m = *state;

	open_expect(m, 0600);
}

static void
test_group_shared_new(void **state)
{
	struct mt *m = *state;
	mode_t old;

	assert_int_equal(chmod(m->dir, 02770), 0);
	old = umask(077);	/* must not narrow 0660 */
	open_expect(m, 0660);
	umask(old);
}

static void
test_owner_only_fixed(void **state)
{
	struct mt *m = *state;

	precreate(m, 0666);
	open_expect(m, 0600);
}

static void
test_group_shared_fixed(void **state)
{
	struct mt *m = *state;

	assert_int_equal(chmod(m->dir, 02770), 0);
	precreate(m, 0666);
	open_expect(m, 0660);
}

/* Root only: a database file with another group gets the directory's. */
static void
test_group_shared_group_fixed(void **state)
{
	struct mt *m = *state;
	char p[PATH_MAX + 32];
	struct stat st;

	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(m->dir, (uid_t)-1, 65534), 0);
	assert_int_equal(chmod(m->dir, 0770), 0);	/* no setgid: nothing inherited */
	precreate(m, 0660);
	snprintf(p, sizeof(p), "%s/ntamsa.db", m->dir);
	assert_int_equal(chown(p, (uid_t)-1, 0), 0);
	open_expect(m, 0660);
	assert_int_equal(stat_db(m, "", &st), 0);
	assert_int_equal(st.st_gid, 65534);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_rule),
		T(test_owner_only_new), T(test_group_shared_new), T(test_owner_only_fixed),
		T(test_group_shared_fixed), T(test_group_shared_group_fixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
