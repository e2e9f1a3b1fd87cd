/*
 * test_store_util.h - shared set-up for the store and keys unit tests:
 * a private data directory with a key pair, opened store, loaded keys.
 */
#ifndef NTAMSA_TEST_STORE_UTIL_H
#define NTAMSA_TEST_STORE_UTIL_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/keys.h"
#include "store/store.h"

struct tenv {
	char dir[PATH_MAX];
	struct store *s;
	struct keys_pub *pub;
	struct keys_ring *ring;
};

/* rm -rf of a test directory (only ever our own mkdtemp result). */
static inline void
tenv_rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char p[PATH_MAX];
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (snprintf(p, sizeof(p), "%s/%s", path, de->d_name) >= (int)sizeof(p))
				continue;
			if (de->d_type == DT_DIR)
				tenv_rmtree(p);
			else
				(void)unlink(p);
		}
		(void)closedir(d);
	}
	(void)rmdir(path);
}

static inline int
tenv_setup(struct tenv *t)
{
	char err[512];
	const char *tmp = getenv("TMPDIR");

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s/ntamsa-store-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	if (keys_init(t->dir, NULL, err, sizeof(err)) != 0 ||
	    keys_load_pub(t->dir, &t->pub, err, sizeof(err)) != 0 ||
	    keys_load_ring(t->dir, NULL, &t->ring, err, sizeof(err)) != 0 ||
	    store_open(t->dir, &t->s, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenv_setup: %s\n", err);
		return -1;
	}
	return 0;
}

static inline void
tenv_teardown(struct tenv *t)
{
	store_close(t->s);
	keys_pub_free(t->pub);
	keys_ring_free(t->ring);
	tenv_rmtree(t->dir);
}

/* cmocka fixtures: a fresh environment per test in *state. */
static inline int
tenv_cm_setup(void **state)
{
	struct tenv *t = calloc(1, sizeof(*t));

	if (t == NULL || tenv_setup(t) != 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int
tenv_cm_teardown(void **state)
{
	tenv_teardown(*state);
	free(*state);
	return 0;
}

/* Deterministic content: byte i of message `seed`. */
static inline uint8_t
tenv_byte(unsigned seed, size_t i)
{
	return (uint8_t)((i * 131u + seed * 7u + (i >> 13)) & 0xff);
}

/* Store a message of size len with pattern seed; id into id. */
static inline int
tenv_put(struct tenv *t, size_t len, unsigned seed, char id[STORE_ID_LEN])
{
	struct store_msg *m;
	struct store_meta meta = {.account = "alice@example.test",
	    .mail_from = "alice@example.test", .message_id = "<x@example.test>"};
	uint8_t buf[8191];	/* odd size: writes straddle chunk borders */
	int rc = store_msg_new(t->s, t->pub, &m);

	if (rc != 0)
		return rc;
	memcpy(id, store_msg_id(m), STORE_ID_LEN);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = tenv_byte(seed, off + i);
		if ((rc = store_msg_write(m, buf, n)) != 0) {
			store_msg_abort(m);
			return rc;
		}
		off += n;
	}
	if ((rc = store_msg_add_rcpt(m, "bob@Example.NET")) != 0) {
		store_msg_abort(m);
		return rc;
	}
	return store_msg_commit(m, &meta);
}

/*
 * Read message id back and compare with the pattern; returns 0 if equal,
 * the store error if reading failed, 1 on a content or length mismatch.
 */
static inline int
tenv_check(struct tenv *t, const char *id, size_t len, unsigned seed)
{
	struct store_reader *r;
	uint8_t buf[10007];
	size_t off = 0;
	ssize_t n;
	int rc = store_reader_open(t->s, t->ring, id, &r);

	if (rc != 0)
		return rc;
	while ((n = store_reader_read(r, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (off + (size_t)i >= len || buf[i] != tenv_byte(seed, off + (size_t)i)) {
				store_reader_close(r);
				return 1;
			}
		off += (size_t)n;
	}
	store_reader_close(r);
	if (n < 0)
		return (int)n;
	return off == len ? 0 : 1;
}

#endif
