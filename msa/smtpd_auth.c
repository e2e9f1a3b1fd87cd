/*
 * smtpd_auth.c - SASL PLAIN and CRAM-MD5 decoding, the failed-login table
 * and the verified-login cache.
 */
#include "msa/smtpd_int.h"
#include "store/store.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
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

/*
 * CRAM-MD5 (RFC 2195).  The server must hold the HMAC-MD5 key, which is
 * the password itself (or its MD5 when longer than the 64-octet block):
 * whoever reads it can log in.  Hence opt-in per installation and per
 * account (server.auth_cram_md5, `user add|passwd --cram`).
 */
int
smtp_cram_secret(const char *pw, size_t pwlen, char *hex, size_t hexlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const unsigned char *k = (const unsigned char *)pw;
	size_t klen = pwlen;

	if (pwlen > 64) {
		if (EVP_Digest(pw, pwlen, md, &mdlen, EVP_md5(), NULL) != 1)
			return -1;
		k = md;
		klen = mdlen;
	}
	if (klen == 0 || hexlen < klen * 2 + 1)
		return -1;
	sodium_bin2hex(hex, hexlen, k, klen);
	sodium_memzero(md, sizeof(md));
	return 0;
}

int
smtp_cram_challenge(const char *hostname, char *chal, size_t chlen, char *b64,
    size_t b64len)
{
	int n = snprintf(chal, chlen, "<%u.%lld@%s>", (unsigned)randombytes_random(),
	    (long long)time(NULL), hostname);
	if (n < 0 || (size_t)n >= chlen ||
	    b64len < sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	sodium_bin2base64(b64, b64len, (const unsigned char *)chal, (size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int
smtp_cram_response(const char *b64, char *user, size_t ulen, unsigned char digest[16])
{
	char buf[STORE_ADDR_MAX + 64];
	size_t n, dl;
	int rc = -1;

	if (smtp_b64_decode(b64, buf, sizeof(buf), &n) != 0)
		return -1;
	/* "user SP 32 hex digits"; the user name may itself hold spaces. */
	char *sp = memrchr(buf, ' ', n);
	if (sp != NULL && sp > buf && (size_t)(sp - buf) < ulen &&
	    memchr(buf, '\0', n) == NULL && n - (size_t)(sp + 1 - buf) == 32 &&
	    sodium_hex2bin(digest, 16, sp + 1, 32, NULL, &dl, NULL) == 0 && dl == 16) {
		memcpy(user, buf, (size_t)(sp - buf));
		user[sp - buf] = '\0';
		rc = 0;
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int
smtp_cram_verify(const char *secret_hex, const char *chal, const unsigned char digest[16])
{
	unsigned char key[64], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t klen = 0;
	/* No secret: the same HMAC over a key nobody knows, then fail. */
	int have = secret_hex[0] != '\0' &&
	    sodium_hex2bin(key, sizeof(key), secret_hex, strlen(secret_hex), NULL, &klen,
	    NULL) == 0 && klen > 0;

	if (!have) {
		randombytes_buf(key, 16);
		klen = 16;
	}
	int ok = HMAC(EVP_md5(), key, (int)klen, (const unsigned char *)chal, strlen(chal),
	    mac, &maclen) != NULL && maclen == 16 && sodium_memcmp(mac, digest, 16) == 0;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(mac, sizeof(mac));
	return ok && have ? 0 : -1;
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

/*
 * The verified-login cache.  Argon2id costs ~0.1 s and 64 MB per check,
 * which would dominate clients that open a connection per message.  After
 * one successful verification we keep, per user, a keyed BLAKE2b tag of
 * (user, stored hash, password) under a random per-process key, for
 * SMTP_AUTHCACHE_TTL seconds.  A later login with the same password and the
 * same stored hash matches the tag without Argon2.  A password change
 * changes the stored hash and so misses.  Failures are never cached: every
 * wrong guess still pays the full cost and the lock-out counts.  The
 * trade-off: someone able to read this process's memory could test guesses
 * against a tag at BLAKE2b speed, for logins of the last TTL seconds.
 */
#define AUTHCACHE_SLOTS 4096

struct ac_ent {
	uint8_t tag[crypto_generichash_BYTES];
	time_t expires;
};

struct smtp_authcache {
	pthread_mutex_t mu;
	uint8_t key[crypto_generichash_KEYBYTES];
	struct ac_ent e[AUTHCACHE_SLOTS];
};

struct smtp_authcache *
smtp_authcache_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct smtp_authcache *c = sodium_malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		sodium_free(c);
		return NULL;
	}
	randombytes_buf(c->key, sizeof(c->key));
	return c;
}

void
smtp_authcache_free(struct smtp_authcache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	sodium_free(c);		/* wipes */
}

static void
ac_tag(const struct smtp_authcache *c, const char *user, const char *pw, size_t pwlen,
    const char *pwhash, uint8_t tag[crypto_generichash_BYTES], size_t *slot)
{
	crypto_generichash_state st;
	uint8_t us[crypto_generichash_BYTES];

	/* The slot depends on the user only (lower-cased: accounts are NOCASE). */
	crypto_generichash_init(&st, c->key, sizeof(c->key), sizeof(us));
	for (const char *p = user; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		crypto_generichash_update(&st, &ch, 1);
	}
	crypto_generichash_final(&st, us, sizeof(us));
	*slot = ((size_t)us[0] | (size_t)us[1] << 8 | (size_t)us[2] << 16) % AUTHCACHE_SLOTS;

	crypto_generichash_init(&st, c->key, sizeof(c->key), crypto_generichash_BYTES);
	crypto_generichash_update(&st, us, sizeof(us));
	crypto_generichash_update(&st, (const unsigned char *)pwhash, strlen(pwhash) + 1);
	crypto_generichash_update(&st, (const unsigned char *)pw, pwlen);
	crypto_generichash_final(&st, tag, crypto_generichash_BYTES);
	sodium_memzero(&st, sizeof(st));
}

int
smtp_authcache_hit(struct smtp_authcache *c, const char *user, const char *pw,
    size_t pwlen, const char *pwhash, time_t now)
{
	uint8_t tag[crypto_generichash_BYTES];
	size_t slot;

	ac_tag(c, user, pw, pwlen, pwhash, tag, &slot);
	pthread_mutex_lock(&c->mu);
	int hit = c->e[slot].expires > now &&
	    sodium_memcmp(c->e[slot].tag, tag, sizeof(tag)) == 0;
	pthread_mutex_unlock(&c->mu);
	sodium_memzero(tag, sizeof(tag));
	return hit;
}

void
smtp_authcache_put(struct smtp_authcache *c, const char *user, const char *pw,
    size_t pwlen, const char *pwhash, time_t now)
{
	uint8_t tag[crypto_generichash_BYTES];
	size_t slot;

	ac_tag(c, user, pw, pwlen, pwhash, tag, &slot);
	pthread_mutex_lock(&c->mu);
	memcpy(c->e[slot].tag, tag, sizeof(tag));
	c->e[slot].expires = now + SMTP_AUTHCACHE_TTL;
	pthread_mutex_unlock(&c->mu);
	sodium_memzero(tag, sizeof(tag));
}
