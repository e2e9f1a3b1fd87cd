/*
 * smtpd_rate.c - the hourly sending limit per account (R-AUTH-4).
 *
 * Counting the last hour in SQLite at every MAIL would put a growing index
 * scan under the store's lock on every message.  smtpd is the only process
 * that adds messages, so it asks the store at most every RATE_REFRESH
 * seconds per account and counts its own commits in between: exact for what
 * this process accepted, and messages leave the hour's window at most
 * RATE_REFRESH seconds late (in the sender's disfavour, never in its favour).
 */
#include "msa/smtpd_int.h"
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RATE_SLOTS 256
#define RATE_REFRESH 10		/* seconds */

struct rate_ent {
	char account[STORE_ADDR_MAX];
	int64_t base;		/* the store's count at fetched */
	int64_t local;		/* our commits since */
	time_t fetched;
};

struct smtp_rate {
	pthread_mutex_t mu;
	struct store *st;
	struct rate_ent e[RATE_SLOTS];
};

struct smtp_rate *
smtp_rate_new(struct store *st)
{
	struct smtp_rate *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		free(r);
		return NULL;
	}
	r->st = st;
	return r;
}

void
smtp_rate_free(struct smtp_rate *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static struct rate_ent *
find(struct smtp_rate *r, const char *account)
{
	struct rate_ent *oldest = &r->e[0];
	for (size_t i = 0; i < RATE_SLOTS; i++) {
		if (r->e[i].account[0] != '\0' && !strcasecmp(r->e[i].account, account))
			return &r->e[i];
		if (r->e[i].fetched < oldest->fetched)
			oldest = &r->e[i];
	}
	return oldest;
}

int
smtp_rate_count(struct smtp_rate *r, const char *account, time_t now, int64_t *n)
{
	pthread_mutex_lock(&r->mu);
	struct rate_ent *e = find(r, account);
	if (strcasecmp(e->account, account) != 0 || now - e->fetched >= RATE_REFRESH ||
	    now < e->fetched) {
		int64_t c = 0;
		/* A commit racing this query may count twice: against the sender only. */
		if (store_account_sent_since(r->st, account, now - 3600, &c) != STORE_OK) {
			pthread_mutex_unlock(&r->mu);
			return -1;
		}
		size_t l = strlen(account);
		if (l >= sizeof(e->account))
			l = sizeof(e->account) - 1;
		memcpy(e->account, account, l);
		e->account[l] = '\0';
		e->base = c;
		e->local = 0;
		e->fetched = now;
	}
	*n = e->base + e->local;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void
smtp_rate_add(struct smtp_rate *r, const char *account)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < RATE_SLOTS; i++)
		if (r->e[i].account[0] != '\0' && !strcasecmp(r->e[i].account, account)) {
			r->e[i].local++;
			break;
		}
	pthread_mutex_unlock(&r->mu);
}
