/*
 * test_common_fsmode.c - the data directory's layout and fsmode_apply_fd:
 * mode set whatever the umask, group only when asked, the failing step
 * named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsmode.h"

static char dir[] = "/tmp/test_fsmode.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char p[64];

	(void)state;
	(void)snprintf(p, sizeof(p), "%s/f", dir);
	(void)unlink(p);
	return rmdir(dir);
}

static mode_t
mode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_mode & 07777;
}

static void
test_layout(void **state)
{
	struct fsmode fm;

	(void)state;
	assert_int_equal(chmod(dir, 0700), 0);
	fsmode_layout(dir, &fm);
	assert_int_equal(fm.shared, 0);
	assert_true(fm.gid == (gid_t)-1);
	assert_int_equal(fm.db, 0600);
	assert_int_equal(chmod(dir, 02770), 0);
	fsmode_layout(dir, &fm);
	assert_int_equal(fm.shared, 1);
	assert_int_equal(fm.db, 0660);
	assert_int_equal(fm.keydir, 0750);
	assert_int_equal(fm.pub, 0640);
	/* Group rwx but something for others: not the shared layout. */
	assert_int_equal(chmod(dir, 0775), 0);
	fsmode_layout(dir, &fm);
	assert_int_equal(fm.shared, 0);
	fsmode_layout("/nonexistent/fsmode", &fm);
	assert_int_equal(fm.shared, 0);
	assert_int_equal(fm.db, 0600);
}

static void
test_apply_mode_despite_umask(void **state)
{
	char p[64];
	const char *step = "untouched";
	mode_t old = umask(077);
	int fd;

	(void)state;
	(void)snprintf(p, sizeof(p), "%s/f", dir);
	(void)unlink(p);
	fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0660);
	(void)umask(old);
	assert_true(fd >= 0);
	assert_int_equal(mode_of(fd), 0600);		/* what the umask left */
	assert_int_equal(fsmode_apply_fd(fd, (gid_t)-1, 0660, &step), 0);
	assert_int_equal(mode_of(fd), 0660);
	assert_string_equal(step, "untouched");
	/* Our own group: no privilege needed, nothing changes. */
	assert_int_equal(fsmode_apply_fd(fd, getegid(), 0640, &step), 0);
	assert_int_equal(mode_of(fd), 0640);
	assert_int_equal(close(fd), 0);
}

static void
test_apply_names_failing_step(void **state)
{
	const char *step = "";
	int fds[2];

	(void)state;
	assert_int_equal(fsmode_apply_fd(-1, (gid_t)-1, 0600, &step), -1);
	assert_string_equal(step, "stat");
	assert_int_equal(errno, EBADF);
	/* A group we are not in, as a non-root user: the group step fails. */
	if (geteuid() != 0) {
		assert_int_equal(pipe(fds), 0);
		assert_int_equal(fsmode_apply_fd(fds[0], (gid_t)0, 0600, &step), -1);
		assert_string_equal(step, "group");
		(void)close(fds[0]);
		(void)close(fds[1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_apply_mode_despite_umask),
		cmocka_unit_test(test_apply_names_failing_step),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
