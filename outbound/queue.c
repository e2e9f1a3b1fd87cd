/* queue.c - retry backoff, queue lifetime, per-domain concurrency. */
#include "outbound/queue.h"

#include "common/fsmode.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Short first retries catch greylisting and restarts; then hourly. */
static const int64_t backoff_table[] = {60, 5 * 60, 15 * 60, 30 * 60};
#define BACKOFF_HOURLY 3600

int64_t
out_queue_backoff(int n)
{
	size_t k = sizeof(backoff_table) / sizeof(backoff_table[0]);

	if (n < 1)
		return backoff_table[0];
	return (size_t)n <= k ? backoff_table[n - 1] : BACKOFF_HOURLY;
}

enum out_queue_next
out_queue_next(time_t now, time_t created, int n, int64_t lifetime, time_t *next)
{
	time_t expiry = created + (time_t)lifetime;
	time_t t = now + (time_t)out_queue_backoff(n);

	*next = 0;
	if (now >= expiry)
		return OUT_QUEUE_EXPIRED;
	*next = t < expiry ? t : expiry;
	return OUT_QUEUE_RETRY;
}

void
out_slots_init(struct out_slots *s, int max_per_domain)
{
	memset(s, 0, sizeof(*s));
	s->max = max_per_domain > 0 ? max_per_domain : 1;
}

static int
slot_find(const struct out_slots *s, const char *domain)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(s->d[i].domain, domain) == 0)
			return (int)i;
	return -1;
}

int
out_slots_take(struct out_slots *s, const char *domain)
{
	int i = slot_find(s, domain);

	if (i < 0) {
		/* Reuse a free entry before growing the table. */
		for (size_t k = 0; k < s->n && i < 0; k++)
			if (s->d[k].used == 0)
				i = (int)k;
		if (i < 0) {
			if (s->n >= OUT_SLOTS_MAX)
				return -1;
			i = (int)s->n++;
		}
		snprintf(s->d[i].domain, sizeof(s->d[i].domain), "%s", domain);
		s->d[i].used = 0;
	}
	if (s->d[i].used >= s->max)
		return -1;
	s->d[i].used++;
	return 0;
}

void
out_slots_release(struct out_slots *s, const char *domain)
{
	int i = slot_find(s, domain);

	if (i >= 0 && s->d[i].used > 0)
		s->d[i].used--;
}

int
out_slots_used(const struct out_slots *s, const char *domain)
{
	int i = slot_find(s, domain);

	return i < 0 ? 0 : s->d[i].used;
}

#define WAKE_NAME "deliver.wake"

static int
wake_path(const char *data_dir, char *p, size_t cap)
{
	int n = snprintf(p, cap, "%s/%s", data_dir, WAKE_NAME);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* fd is a FIFO (O_NOFOLLOW refused symlinks already); else close it. */
static int
fifo_only(int fd)
{
	struct stat st;

	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The FIFO's mode and group follow the data directory's layout, as the
 * database files do (fm->db): in the group-shared layout `queue flush` runs
 * as another user of the group than deliver, and must be able to open it
 * for writing.  Through the descriptor: mkfifo's mode passed the umask,
 * and a FIFO left from before a change of layout is repaired too.  Not
 * fatal: without a wake-up deliver still finds the work on its own timer.
 */
static void
wake_fix_mode(int fd, const struct fsmode *fm)
{
	const char *step;

	if (fsmode_apply_fd(fd, fm->gid, fm->db, &step) != 0)
		log_warn("deliver-wake-unfixable", "step=%s group=%u mode=%04o errno=%d",
		    step, (unsigned)fm->gid, (unsigned)fm->db, errno);
}

int
out_wake_open(const char *data_dir)
{
	struct fsmode fm;
	char p[4096];
	int fd;

	if (wake_path(data_dir, p, sizeof(p)) != 0)
		return -1;
	fsmode_layout(data_dir, &fm);
	if (mkfifo(p, fm.db) != 0 && errno != EEXIST)
		return -1;
	fd = fifo_only(open(p, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
	if (fd >= 0)
		wake_fix_mode(fd, &fm);
	return fd;
}

int
out_wake_notify(const char *data_dir)
{
	char p[4096];
	int fd, rc;

	if (wake_path(data_dir, p, sizeof(p)) != 0)
		return -1;
	/* ENXIO: no reader, nothing runs; never block a queue command. */
	fd = fifo_only(open(p, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
	if (fd < 0)
		return -1;
	/* EAGAIN: the FIFO is full, so a wake-up is pending anyway. */
	rc = write(fd, "w", 1) == 1 || errno == EAGAIN ? 0 : -1;
	close(fd);
	return rc;
}
