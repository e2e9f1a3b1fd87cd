/* smtpd_auth.c - SASL PLAIN decoding and the failed-login table. */
#include "msa/smtpd_int.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int
smtp_b64_decode(const char *b64, char *out, size_t outlen, size_t *used)
{
	size_t n = 0;

	if (outlen == 0)
		return -1;
	if (sodium_base642bin((unsigned char *)out, outlen - 1, b64, strlen(b64),
	    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	out[n] = '\0';
	*used = n;
	return 0;
}

int
smtp_sasl_plain(const char *b64, char *user, size_t ulen, char *pw, size_t pwlen,
    size_t *pwused)
{
	char buf[1024];
	size_t n;
	int rc = -1;

	if (smtp_b64_decode(b64, buf, sizeof(buf), &n) != 0)
		return -1;
	/* authzid NUL authcid NUL passwd (RFC 4616 section 2). */
	char *z1 = memchr(buf, '\0', n);
	char *z2 = z1 ? memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - buf)) : NULL;
	if (z1 != NULL && z2 != NULL) {
		size_t azl = (size_t)(z1 - buf), ul = (size_t)(z2 - z1 - 1);
		size_t pl = n - (size_t)(z2 + 1 - buf);
		if (ul > 0 && ul < ulen && pl < pwlen &&
		    (azl == 0 || (azl == ul && memcmp(buf, z1 + 1, ul) == 0))) {
			memcpy(user, z1 + 1, ul);
			user[ul] = '\0';
			memcpy(pw, z2 + 1, pl);
			pw[pl] = '\0';
			*pwused = pl;
			rc = 0;
		}
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

#define LOCK_SLOTS 1024

struct lock_ent {
	char key[340];
	int fails;
	time_t first;
	time_t until;
};

struct smtp_locks {
	pthread_mutex_t mu;
	int64_t limit, lockout;
	struct lock_ent e[LOCK_SLOTS];
};

struct smtp_locks *
smtp_locks_new(int64_t limit, int64_t lockout_secs)
{
	struct smtp_locks *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		return NULL;
	}
	l->limit = limit;
	l->lockout = lockout_secs;
	return l;
}

void
smtp_locks_free(struct smtp_locks *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static int
expired(const struct smtp_locks *l, const struct lock_ent *e, time_t now)
{
	return e->key[0] == '\0' ||
	    (now >= e->until && now - e->first >= l->lockout);
}

/* Find key, or (create) a free or expired slot; the oldest when full. */
static struct lock_ent *
find(struct smtp_locks *l, const char *key, time_t now, int create)
{
	struct lock_ent *spare = NULL;

	for (size_t i = 0; i < LOCK_SLOTS; i++) {
		struct lock_ent *e = &l->e[i];
		if (e->key[0] != '\0' && strcmp(e->key, key) == 0)
			return e;
		if (spare == NULL && expired(l, e, now))
			spare = e;
	}
	if (!create)
		return NULL;
	if (spare == NULL) {
		/* Full of live entries: reuse the oldest window (bounded memory). */
		spare = &l->e[0];
		for (size_t i = 1; i < LOCK_SLOTS; i++)
			if (l->e[i].first < spare->first)
				spare = &l->e[i];
	}
	memset(spare, 0, sizeof(*spare));
	size_t n = strlen(key);
	if (n >= sizeof(spare->key))
		n = sizeof(spare->key) - 1;
	memcpy(spare->key, key, n);
	spare->first = now;
	return spare;
}

int
smtp_locks_locked(struct smtp_locks *l, const char *key, time_t now)
{
	pthread_mutex_lock(&l->mu);
	struct lock_ent *e = find(l, key, now, 0);
	int locked = e != NULL && now < e->until;
	pthread_mutex_unlock(&l->mu);
	return locked;
}

int
smtp_locks_fail(struct smtp_locks *l, const char *key, time_t now)
{
	pthread_mutex_lock(&l->mu);
	struct lock_ent *e = find(l, key, now, 1);
	/* A window of auth_lockout seconds: older failures are forgiven. */
	if (now - e->first >= l->lockout && now >= e->until) {
		e->fails = 0;
		e->first = now;
	}
	int n = ++e->fails;
	if (n >= l->limit)
		e->until = now + (time_t)l->lockout;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void
smtp_locks_clear(struct smtp_locks *l, const char *key)
{
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < LOCK_SLOTS; i++)
		if (l->e[i].key[0] != '\0' && strcmp(l->e[i].key, key) == 0)
			memset(&l->e[i], 0, sizeof(l->e[i]));
	pthread_mutex_unlock(&l->mu);
}
