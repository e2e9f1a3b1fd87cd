/* conncache.c - reuse of verified SMTP connections per destination and channel. */
#include "outbound/conncache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char key[OUT_CC_KEY_MAX];
	struct smtpc *c;
	time_t used;
};

struct out_conncache {
	int idle;
	size_t n;
	struct entry e[OUT_CC_MAX];
};

struct out_conncache *
out_cc_new(int idle_secs)
{
	struct out_conncache *cc = calloc(1, sizeof(*cc));

	if (cc != NULL)
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
	free(cc);
}

void
out_cc_key(char *key, size_t len, const char *channel, const char *verify,
    const char *host, const char *addr, int port)
{
	snprintf(key, len, "%s|%s|%s|%s|%d", channel, verify, host, addr, port);
}

struct smtpc *
out_cc_get(struct out_conncache *cc, const char *key, time_t now)
{
	for (size_t i = 0; i < cc->n; i++) {
		struct entry *e = &cc->e[i];
		struct smtpc *c;
		time_t used;

		if (strcmp(e->key, key) != 0)
			continue;
		c = e->c;
		used = e->used;
		drop(cc, i);
		if (now - used > cc->idle || !smtpc_usable(c)) {
			smtpc_close(c);
			return NULL;
		}
		return c;
	}
	return NULL;
}

void
out_cc_put(struct out_conncache *cc, const char *key, struct smtpc *c, time_t now)
{
	size_t oldest = 0;

	if (c == NULL)
		return;
	if (!smtpc_usable(c) || strlen(key) >= OUT_CC_KEY_MAX) {
		smtpc_close(c);
		return;
	}
	if (cc->n == OUT_CC_MAX) {
		for (size_t i = 1; i < cc->n; i++)
			if (cc->e[i].used < cc->e[oldest].used)
				oldest = i;
		smtpc_close(cc->e[oldest].c);
		drop(cc, oldest);
	}
	snprintf(cc->e[cc->n].key, sizeof(cc->e[cc->n].key), "%s", key);
	cc->e[cc->n].c = c;
	cc->e[cc->n].used = now;
	cc->n++;
}

void
out_cc_expire(struct out_conncache *cc, time_t now)
{
	for (size_t i = 0; i < cc->n;) {
		if (now - cc->e[i].used > cc->idle) {
			smtpc_close(cc->e[i].c);
			drop(cc, i);
		} else {
			i++;
		}
	}
}

size_t
out_cc_count(const struct out_conncache *cc)
{
	return cc->n;
}
