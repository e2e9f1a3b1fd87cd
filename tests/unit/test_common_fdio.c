/* test_common_fdio.c - fd_write_all: partial writes, EINTR, errno kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"

#define BIG (1024 * 1024)	/* far beyond a pipe's 64 KiB: the writer blocks */

struct sink {
	int fd;
	unsigned char *got;
	size_t len;
};

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Reads slowly so the writer sits in write(2) when SIGALRM arrives. */
static void *
drain(void *arg)
{
	struct sink *k = arg;
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		ssize_t r = read(k->fd, k->got + k->len, BIG - k->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		k->len += (size_t)r;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void
test_interrupted_writes(void **state)
{
	(void)state;
	unsigned char *buf = malloc(BIG);
	struct sink k = { .got = malloc(BIG) };
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	pthread_t t;
	int p[2];
	size_t i;

	assert_non_null(buf);
	assert_non_null(k.got);
	for (i = 0; i < BIG; i++)
		buf[i] = (unsigned char)(i * 7 + i / 251);
	assert_int_equal(pipe(p), 0);
	k.fd = p[0];
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, drain, &k), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(fd_write_all(p[1], buf, BIG), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	assert_int_equal(close(p[1]), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(alarms > 0);	/* the loop did see signals */
	assert_int_equal(k.len, BIG);
	assert_memory_equal(k.got, buf, BIG);
	close(p[0]);
	free(buf);
	free(k.got);
}

static void
test_errno_kept(void **state)
{
	(void)state;
	int p[2];

	errno = 0;
	assert_int_equal(fd_write_all(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(close(p[0]), 0);
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	assert_int_equal(fd_write_all(p[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);

	assert_int_equal(fd_write_all(-1, "", 0), 0);	/* nothing to write */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interrupted_writes),
		cmocka_unit_test(test_errno_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
