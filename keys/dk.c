/*
 * dk.c - per-message data keys: where they live in memory, sealing them to
 * the store public key, and sealing them ahead of need.
 *
 * Sealing ahead: crypto_box_seal costs two X25519 operations (about 60 us
 * on a 2-core CI machine), some thirty times the AES-GCM of a 2 KB message.
 * Done by each writer, it also competes for the CPU with the group-commit
 * leader, whose transaction everybody waits for.  keys_pub_seal_ahead()
 * moves that work to one thread that keeps a ring of fresh keys already
 * sealed; a writer takes one under a mutex.  When the ring is empty (a
 * burst longer than its depth) the writer seals inline, as it would
 * without the ring, so the ring never makes anything slower or fail.
 */
#include "keys/keys.h"
#include "keys/keys_int.h"

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/*
 * Data keys come from one sodium_malloc'd slab per process (mlocked, guard
 * pages around the slab) rather than a sodium_malloc each: that costs an
 * mmap, mlock and two mprotect per key, and with many threads every
 * mprotect is a cross-CPU TLB shootdown, which capped group commit.  A
 * freed slot is wiped at once.  When the slab is full, keys fall back to
 * sodium_malloc of their own.
 */
#define DK_POOL 1024
static pthread_mutex_t dk_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *dk_slab;			/* DK_POOL * KEYS_DK_LEN */
static uint8_t dk_used[DK_POOL];
static size_t dk_hint;

static uint8_t *
dk_pool_get(void)
{
	uint8_t *dk = NULL;

	if (pthread_mutex_lock(&dk_mu) != 0)
		return NULL;
	if (dk_slab == NULL)
		dk_slab = sodium_malloc(DK_POOL * KEYS_DK_LEN);
	for (size_t k = 0; dk_slab != NULL && k < DK_POOL; k++) {
		size_t i = (dk_hint + k) % DK_POOL;
		if (!dk_used[i]) {
			dk_used[i] = 1;
			dk_hint = i + 1;
			dk = dk_slab + i * KEYS_DK_LEN;
			break;
		}
	}
	(void)pthread_mutex_unlock(&dk_mu);
	return dk;
}

/* 1 if dk came from the slab (and is now wiped and free), 0 if not. */
static int
dk_pool_put(uint8_t *dk)
{
	uintptr_t p = (uintptr_t)dk, base = (uintptr_t)dk_slab;

	if (dk_slab == NULL || p < base || p >= base + DK_POOL * KEYS_DK_LEN)
		return 0;
	sodium_memzero(dk, KEYS_DK_LEN);
	if (pthread_mutex_lock(&dk_mu) != 0)
		return 1;	/* wiped; the slot leaks, which is safe */
	dk_used[(p - base) / KEYS_DK_LEN] = 0;
	(void)pthread_mutex_unlock(&dk_mu);
	return 1;
}

/* Guarded memory for one DK, not yet filled. */
static uint8_t *
dk_alloc(void)
{
	uint8_t *dk;

	if (sodium_init() < 0)
		return NULL;
	if ((dk = dk_pool_get()) == NULL && (dk = sodium_malloc(KEYS_DK_LEN)) == NULL)
		return NULL;
	return dk;
}

uint8_t *
keys_dk_new(void)
{
	uint8_t *dk = dk_alloc();

	if (dk != NULL)
		randombytes_buf(dk, KEYS_DK_LEN);
	return dk;
}

void
keys_dk_free(uint8_t *dk)
{
	if (dk != NULL && !dk_pool_put(dk))
		sodium_free(dk);
}

int
keys_dk_seal(const struct keys_pub *p, const uint8_t *dk,
    uint8_t out[KEYS_SEALED_DK_LEN], uint32_t *key_id)
{
	if (crypto_box_seal(out, dk, KEYS_DK_LEN, p->pk) != 0)
		return KEYS_ERR;
	*key_id = p->id;
	return KEYS_OK;
}


/*
 * The ring: slots head .. head+count-1 (mod depth) hold sealed keys.  The
 * plaintext halves sit in one sodium_malloc'd region (mlocked, guard pages),
 * a slot wiped as soon as it is taken.
 */
struct keys_ahead {
	pthread_mutex_t mu;
	pthread_cond_t room;		/* the filler waits here while full */
	pthread_t thread;
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
	uint8_t *dks;			/* depth * KEYS_DK_LEN, guarded */
	uint8_t (*sealed)[KEYS_SEALED_DK_LEN];
	uint8_t *stage;			/* the filler's key being sealed, guarded */
	size_t depth, head, count;
	int stop;
	uint64_t taken, missed;
};

/* Seal one key into the ring's next free slot; a->mu is not held. */
static int
ahead_make_one(struct keys_ahead *a)
{
	uint8_t sealed[KEYS_SEALED_DK_LEN];

	randombytes_buf(a->stage, KEYS_DK_LEN);
	if (crypto_box_seal(sealed, a->stage, KEYS_DK_LEN, a->pk) != 0)
		return -1;
	if (pthread_mutex_lock(&a->mu) != 0)
		abort();
	size_t slot = (a->head + a->count) % a->depth;
	memcpy(a->dks + slot * KEYS_DK_LEN, a->stage, KEYS_DK_LEN);
	memcpy(a->sealed[slot], sealed, KEYS_SEALED_DK_LEN);
	a->count++;
	(void)pthread_mutex_unlock(&a->mu);
	sodium_memzero(a->stage, KEYS_DK_LEN);
	return 0;
}

static void *
ahead_fill(void *arg)
{
	struct keys_ahead *a = arg;

	/*
	 * A little below the writers: when the CPU is short, the commit
	 * leader's transaction comes first, and writers that find the ring
	 * empty seal inline.  Raising one's own nice value needs no privilege.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
	for (;;) {
		if (pthread_mutex_lock(&a->mu) != 0)
			abort();
		while (!a->stop && a->count == a->depth)
			if (pthread_cond_wait(&a->room, &a->mu) != 0)
				abort();
		int stop = a->stop;
		(void)pthread_mutex_unlock(&a->mu);
		/* A failed seal ends the filler: writers seal inline from then on. */
		if (stop || ahead_make_one(a) != 0)
			break;
	}
	return NULL;
}

/* Take a sealed key from the ring into dk; 0 if it is empty. */
static int
ahead_take(struct keys_ahead *a, uint8_t *dk, uint8_t sealed[KEYS_SEALED_DK_LEN])
{
	int got = 0;

	if (pthread_mutex_lock(&a->mu) != 0)
		abort();
	if (a->count > 0) {
		uint8_t *slot = a->dks + a->head * KEYS_DK_LEN;
		memcpy(dk, slot, KEYS_DK_LEN);
		sodium_memzero(slot, KEYS_DK_LEN);
		memcpy(sealed, a->sealed[a->head], KEYS_SEALED_DK_LEN);
		a->head = (a->head + 1) % a->depth;
		a->count--;
		a->taken++;
		got = 1;
		(void)pthread_cond_signal(&a->room);
	} else
		a->missed++;
	(void)pthread_mutex_unlock(&a->mu);
	return got;
}

static void
ahead_free(struct keys_ahead *a)
{
	sodium_free(a->dks);		/* wipes */
	sodium_free(a->stage);
	free(a->sealed);
	(void)pthread_cond_destroy(&a->room);
	(void)pthread_mutex_destroy(&a->mu);
	free(a);
}

/* Start the filler with every signal blocked: signals are the caller's. */
static int
ahead_start(struct keys_ahead *a)
{
	sigset_t all, old;
	int rc;

	(void)sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return -1;
	rc = pthread_create(&a->thread, NULL, ahead_fill, a);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

int
keys_pub_seal_ahead(struct keys_pub *p, size_t depth, char *err, size_t errlen)
{
	struct keys_ahead *a;

	if (p->ahead != NULL)
		return KEYS_OK;
	if (depth == 0 || depth > KEYS_AHEAD_MAX || sodium_init() < 0 ||
	    (a = calloc(1, sizeof(*a))) == NULL)
		goto fail;
	a->depth = depth;
	memcpy(a->pk, p->pk, sizeof(a->pk));
	a->dks = sodium_malloc(depth * KEYS_DK_LEN);
	a->stage = sodium_malloc(KEYS_DK_LEN);
	a->sealed = calloc(depth, sizeof(*a->sealed));
	if (a->dks == NULL || a->stage == NULL || a->sealed == NULL ||
	    pthread_mutex_init(&a->mu, NULL) != 0) {
		sodium_free(a->dks);
		sodium_free(a->stage);
		free(a->sealed);
		free(a);
		goto fail;
	}
	if (pthread_cond_init(&a->room, NULL) != 0 || ahead_start(a) != 0) {
		ahead_free(a);
		goto fail;
	}
	p->ahead = a;
	return KEYS_OK;
fail:
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "cannot start sealing data keys ahead (depth %zu)", depth);
	return KEYS_ERR;
}

void
keys_ahead_stop(struct keys_pub *p)
{
	struct keys_ahead *a = p->ahead;

	if (a == NULL)
		return;
	if (pthread_mutex_lock(&a->mu) != 0)
		abort();
	a->stop = 1;
	(void)pthread_cond_signal(&a->room);
	(void)pthread_mutex_unlock(&a->mu);
	(void)pthread_join(a->thread, NULL);
	p->ahead = NULL;
	ahead_free(a);
}

uint8_t *
keys_dk_new_sealed(const struct keys_pub *p, uint8_t sealed[KEYS_SEALED_DK_LEN],
    uint32_t *key_id)
{
	uint8_t *dk = dk_alloc();

	if (dk == NULL)
		return NULL;
	if (p->ahead != NULL && ahead_take(p->ahead, dk, sealed)) {
		*key_id = p->id;
		return dk;
	}
	randombytes_buf(dk, KEYS_DK_LEN);
	if (keys_dk_seal(p, dk, sealed, key_id) != KEYS_OK) {
		keys_dk_free(dk);
		return NULL;
	}
	return dk;
}

void
keys_pub_seal_stats(const struct keys_pub *p, struct keys_ahead_stats *st)
{
	struct keys_ahead *a = p->ahead;

	memset(st, 0, sizeof(*st));
	if (a == NULL || pthread_mutex_lock(&a->mu) != 0)
		return;
	st->taken = a->taken;
	st->missed = a->missed;
	st->ready = a->count;
	(void)pthread_mutex_unlock(&a->mu);
}
