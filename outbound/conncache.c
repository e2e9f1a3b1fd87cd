/* conncache.c - reuse of verified SMTP connections per destination and channel. */
#include "outbound/conncache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char key[OUT_CC_KEY_MAX];
	struct smtpc *c;
	time_t used;
};

struct out_conncache {
	pthread_mutex_t mu;		/* the deliver worker threads share it */
	int idle;
	size_t n;
	struct entry e[OUT_CC_MAX];
};

struct out_conncache *
out_cc_new(int idle_secs)
{
	struct out_conncache *cc = calloc(1, sizeof(*cc));

	if (cc == NULL)
		return NULL;
	if (pthread_mutex_init(&cc->mu, NULL) != 0) {
		free(cc);
		return NULL;
	}
	cc->idle = idle_secs > 0 ? idle_secs : 1;
	return cc;
}

static void
drop(struct out_conncache *cc, size_t i)
{
	cc->e[i] = cc->e[--cc->n];
}

void
out_cc_free(struct out_conncache *cc)
{
	if (cc == NULL)
		return;
	for (size_t i = 0; i < cc->n; i++)
		smtpc_close(cc->e[i].c);
	pthread_mutex_destroy(&cc->mu);
	free(cc);
}

void
out_cc_key(char *key, size_t len, const char *channel, const char *verify,
    const char *host, const char *addr, int port)
{
	snprintf(key, len, "%s|%s|%s|%s|%d", channel, verify, host, addr, port);
}

/* Connections are closed (QUIT) outside the lock: that is network I/O. */
struct smtpc *
out_cc_get(struct out_conncache *cc, const char *key, time_t now)
{
	struct smtpc *c = NULL;
	time_t used = 0;

	pthread_mutex_lock(&cc->mu);
	for (size_t i = 0; i < cc->n; i++) {
		if (strcmp(cc->e[i].key, key) == 0) {
			c = cc->e[i].c;
			used = cc->e[i].used;
			drop(cc, i);
			break;
		}
	}
	pthread_mutex_unlock(&cc->mu);
	if (c != NULL && (now - used > cc->idle || !smtpc_usable(c))) {
		smtpc_close(c);
		c = NULL;
	}
	return c;
}

void
out_cc_put(struct out_conncache *cc, const char *key, struct smtpc *c, time_t now)
{
	struct smtpc *evict = NULL;
	size_t oldest = 0;

	if (c == NULL)
		return;
	if (!smtpc_usable(c) || strlen(key) >= OUT_CC_KEY_MAX) {
		smtpc_close(c);
		return;
	}
	pthread_mutex_lock(&cc->mu);
	if (cc->n == OUT_CC_MAX) {
		for (size_t i = 1; i < cc->n; i++)
			if (cc->e[i].used < cc->e[oldest].used)
				oldest = i;
		evict = cc->e[oldest].c;
		drop(cc, oldest);
	}
	snprintf(cc->e[cc->n].key, sizeof(cc->e[cc->n].key), "%s", key);
	cc->e[cc->n].c = c;
	cc->e[cc->n].used = now;
	cc->n++;
	pthread_mutex_unlock(&cc->mu);
	smtpc_close(evict);
}

void
out_cc_expire(struct out_conncache *cc, time_t now)
{
	struct smtpc *old[OUT_CC_MAX];
	size_t n = 0;

	pthread_mutex_lock(&cc->mu);
	for (size_t i = 0; i < cc->n;) {
		if (now - cc->e[i].used > cc->idle) {
			old[n++] = cc->e[i].c;
			drop(cc, i);
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&cc->mu);
	for (size_t i = 0; i < n; i++)
		smtpc_close(old[i]);
}

size_t
out_cc_count(struct out_conncache *cc)
{
	size_t n;

	pthread_mutex_lock(&cc->mu);
	n = cc->n;
	pthread_mutex_unlock(&cc->mu);
	return n;
}
