/*
 * queue.h - the delivery scheduler's rules: retry backoff, queue lifetime,
 * and the per-destination concurrency limit (outbound.max_per_domain).
 *
 * Pure bookkeeping; the recipients themselves live in the store
 * (store_queue_* in store/store.h).
 */
#ifndef NTAMSA_OUTBOUND_QUEUE_H
#define NTAMSA_OUTBOUND_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seconds to wait after the n-th failed attempt (n >= 1): 1, 5, 15, 30 min, then hourly. */
int64_t out_queue_backoff(int n);

enum out_queue_next {
	OUT_QUEUE_RETRY = 0,	/* *next is the next attempt */
	OUT_QUEUE_EXPIRED,	/* lifetime over: bounce (DSN) */
};

/*
 * After the n-th failed attempt at time now of a message queued at
 * created: retry at *next, or expired when now >= created + lifetime.  The
 * last retry is pulled in to the expiry time so that a message is tried
 * once more at the end rather than bounced early.
 */
enum out_queue_next out_queue_next(time_t now, time_t created, int n,
    int64_t lifetime, time_t *next);

/* Connections in use per destination domain, capped at max each. */
#define OUT_SLOTS_MAX 256

struct out_slots {
	int max;
	size_t n;
	struct { char domain[256]; int used; } d[OUT_SLOTS_MAX];
};

void out_slots_init(struct out_slots *s, int max_per_domain);
/* 0 and a slot taken, or -1 when the domain is at its limit (or table full). */
int out_slots_take(struct out_slots *s, const char *domain);
void out_slots_release(struct out_slots *s, const char *domain);
int out_slots_used(const struct out_slots *s, const char *domain);

/*
 * Waking the deliver worker from another process (`queue flush`,
 * `queue release`): a FIFO <data_dir>/deliver.wake, 0600, or 0660 with
 * the directory's group in the group-shared layout (common/fsmode.h).
 * out_wake_open: the worker's end, created when missing (a wrong mode or
 * group is repaired) and opened read-write non-blocking (so it never reads
 * EOF); -1 when that failed (the worker then notices on its own timer).  A name there that is not a FIFO
 * (a symlink, a file) is refused, never followed.
 * out_wake_notify: writes one byte without blocking; 0 sent, -1 no worker
 * listening or no FIFO (not an error for a queue command).
 */
int out_wake_open(const char *data_dir);
int out_wake_notify(const char *data_dir);

#endif
