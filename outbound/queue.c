/* queue.c - retry backoff, queue lifetime, per-domain concurrency. */
#include "outbound/queue.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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
