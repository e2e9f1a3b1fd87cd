/*
 * keys.c - the store key hierarchy: X25519 store key pairs on disk, the
 * `current` pointer, passphrase sealing (Argon2id + secretbox), per-message
 * data keys sealed with crypto_box_seal.
 *
 * Files in <data_dir>/keys/ (directory mode 0700; 0750 when the data
 * directory is group-shared, common/fsmode.h, so that smtpd's user reads
 * the public keys through the group and never a secret):
 *   store-<id>.pub   "NTAPUB1\0" | id u32 BE | created u64 BE | pk[32]
 *   store-<id>.sec   "NTASEC1\0" | id u32 BE | created u64 BE | mode u8 | body
 *       mode 0 (plain):   sk[32]
 *       mode 1 (argon2id): salt[16] | opslimit u64 | memlimit u64 |
 *                          nonce[24] | secretbox(id u32 BE | sk[32])
 *   current          the id that seals new messages, as decimal text
 * Modes: .sec 0600 always (owned by whoever ran `keys init|rotate`: the
 * deliver user); .pub and `current` 0644, or 0640 with the data directory's
 * group when group-shared.
 * A retired pair keeps its .pub (so `keys status` can still name it) and
 * loses its .sec.  Secret files are written with O_EXCL and renamed into
 * place with link(), so nothing ever overwrites a key.
 */
#include "common/errbuf.h"
#include "common/fdio.h"
#include "common/fsmode.h"
#include "keys/keys.h"
#include "keys/keys_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PUB_MAGIC "NTAPUB1"	/* 8 bytes with the NUL */
#define SEC_MAGIC "NTASEC1"
#define HDR_LEN (8 + 4 + 8)
#define PUB_FILE_LEN (HDR_LEN + crypto_box_PUBLICKEYBYTES)
#define SALT_LEN crypto_pwhash_SALTBYTES
#define BOXED_LEN (4 + crypto_box_SECRETKEYBYTES)
#define SEC_PLAIN_LEN (HDR_LEN + 1 + crypto_box_SECRETKEYBYTES)
#define SEC_SEALED_LEN (HDR_LEN + 1 + SALT_LEN + 8 + 8 + \
	crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + BOXED_LEN)
#define KEYS_MAX 1024		/* key ids kept; rotation is rare */
#define PASS_MAX 1024


struct ring_ent {
	uint32_t id;
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
	uint8_t *sk;		/* sodium_malloc */
};

struct keys_ring {
	size_t n;
	struct ring_ent e[KEYS_MAX];
};

/* One sealed-secret parameter set; Argon2id "interactive" keeps start-up short. */
static unsigned long long pw_ops(void) { return crypto_pwhash_OPSLIMIT_INTERACTIVE; }
static size_t pw_mem(void) { return crypto_pwhash_MEMLIMIT_INTERACTIVE; }


static int
sodium_ready(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		errbuf_set(err, errlen, "libsodium failed to initialise");
		return KEYS_ERR;
	}
	return KEYS_OK;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* "<data_dir>/keys[/name]" into out; -1 when it does not fit. */
static int
kpath(char *out, size_t outlen, const char *data_dir, const char *name)
{
	int n;

	if (name == NULL)
		n = snprintf(out, outlen, "%s/keys", data_dir);
	else
		n = snprintf(out, outlen, "%s/keys/%s", data_dir, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
kfile(char *out, size_t outlen, const char *data_dir, uint32_t id, const char *ext)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "store-%u.%s", id, ext);

	if (n < 0 || (size_t)n >= sizeof(name))
		return -1;
	return kpath(out, outlen, data_dir, name);
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/*
 * Give a new file the group-shared data directory's group (gid -1: keep
 * the creator's) and exactly mode, whatever the umask.  A setgid data
 * directory (install -d -m 2770) already gives the group; otherwise only a
 * member of that group may, so say what to change.
 */
static int
apply_perms(int fd, const char *path, gid_t gid, mode_t mode, char *err, size_t errlen)
{
	const char *step = "";

	if (fsmode_apply_fd(fd, gid, mode, &step) == 0)
		return KEYS_OK;
	if (!strcmp(step, "group"))
		errbuf_set(err, errlen, "cannot give %s group %u: %s (make the data directory "
		    "and keys/ setgid, chmod g+s, or run as a member of that group)", path,
		    (unsigned)gid, strerror(errno));
	else
		errbuf_set(err, errlen, "cannot %s %s: %s", step, path, strerror(errno));
	return KEYS_ERR;
}

/*
 * Write a new file durably without ever replacing one: temp file (O_EXCL),
 * fsync, link() to the final name (fails if it exists), unlink the temp.
 */
static int
write_new_file(const char *path, const uint8_t *data, size_t len, mode_t mode,
    gid_t gid, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	int fd;

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errbuf_set(err, errlen, "key path too long: %s", path);
		return KEYS_ERR;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		errbuf_set(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return KEYS_ERR;
	}
	if (apply_perms(fd, tmp, gid, mode, err, errlen) != KEYS_OK) {
		(void)close(fd);
		(void)unlink(tmp);
		return KEYS_ERR;
	}
	if (fd_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		errbuf_set(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		return KEYS_ERR;
	}
	if (close(fd) != 0) {
		errbuf_set(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return KEYS_ERR;
	}
	if (link(tmp, path) != 0) {
		int e = errno;
		(void)unlink(tmp);
		errbuf_set(err, errlen, "cannot create %s: %s", path, strerror(e));
		return e == EEXIST ? KEYS_EXIST : KEYS_ERR;
	}
	if (unlink(tmp) != 0) {
		errbuf_set(err, errlen, "cannot remove %s: %s", tmp, strerror(errno));
		return KEYS_ERR;
	}
	return KEYS_OK;
}

/*
 * Read a whole small file into buf; returns its length or -1.  Key files are
 * never followed through a symbolic link (O_NOFOLLOW): keys/ holds only what
 * this program wrote there.
 */
static ssize_t
read_small(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t got = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			(void)close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == cap) {	/* larger than any key file: not ours */
			(void)close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	if (close(fd) != 0)
		return -1;
	return (ssize_t)got;
}

/* Ids of every store-<id>.pub, sorted ascending. */
static int
scan_ids(const char *data_dir, uint32_t *ids, size_t max, size_t *n)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;

	*n = 0;
	if (kpath(dir, sizeof(dir), data_dir, NULL) != 0)
		return -1;
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		unsigned long v;
		char *end;
		if (strncmp(de->d_name, "store-", 6) != 0)
			continue;
		errno = 0;
		v = strtoul(de->d_name + 6, &end, 10);
		if (errno != 0 || end == de->d_name + 6 || strcmp(end, ".pub") != 0 ||
		    v == 0 || v > UINT32_MAX)
			continue;
		if (*n >= max) {
			(void)closedir(d);
			return -1;
		}
		ids[(*n)++] = (uint32_t)v;
	}
	(void)closedir(d);
	for (size_t i = 1; i < *n; i++)	/* insertion sort: a handful of keys */
		for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			uint32_t t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return 0;
}

static int
read_current(const char *data_dir, uint32_t *id)
{
	char path[PATH_MAX], buf[32];
	uint8_t raw[32];
	ssize_t len;
	unsigned long v;
	char *end;

	if (kpath(path, sizeof(path), data_dir, "current") != 0)
		return -1;
	len = read_small(path, raw, sizeof(raw) - 1);
	if (len <= 0)
		return -1;
	memcpy(buf, raw, (size_t)len);
	buf[len] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || v == 0 ||
	    v > UINT32_MAX)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

/*
 * Point `current` at id: temp file + rename, so a reader sees old or new.
 * Group-shared: exactly 0640 and the data directory's group, whatever the
 * umask, since smtpd's user must read it (owner-only keeps 0644 & umask).
 */
static int
write_current(const char *data_dir, const struct fsmode *fm, uint32_t id,
    char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX], txt[16];
	int n = snprintf(txt, sizeof(txt), "%u\n", id);
	int fd;

	if (n < 0 || (size_t)n >= sizeof(txt) ||
	    kpath(path, sizeof(path), data_dir, "current") != 0 ||
	    kpath(tmp, sizeof(tmp), data_dir, "current.tmp") != 0 ||
	    kpath(dir, sizeof(dir), data_dir, NULL) != 0) {
		errbuf_set(err, errlen, "key path too long");
		return KEYS_ERR;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, fm->pub);
	if (fd >= 0 && fm->shared && apply_perms(fd, tmp, fm->gid, fm->pub, err, errlen) != KEYS_OK) {
		(void)close(fd);
		(void)unlink(tmp);
		return KEYS_ERR;
	}
	if (fd < 0 || fd_write_all(fd, txt, (size_t)n) != 0 ||
	    fsync(fd) != 0) {
		errbuf_set(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return KEYS_ERR;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0 || fsync_dir(dir) != 0) {
		errbuf_set(err, errlen, "cannot update %s: %s", path, strerror(errno));
		return KEYS_ERR;
	}
	return KEYS_OK;
}

static int
read_pub(const char *data_dir, uint32_t id, uint8_t pk[crypto_box_PUBLICKEYBYTES],
    time_t *created)
{
	char path[PATH_MAX];
	uint8_t buf[PUB_FILE_LEN + 1];
	ssize_t len;

	if (kfile(path, sizeof(path), data_dir, id, "pub") != 0)
		return -1;
	len = read_small(path, buf, sizeof(buf));
	if (len != PUB_FILE_LEN || memcmp(buf, PUB_MAGIC, 8) != 0 ||
	    get32(buf + 8) != id)
		return -1;
	if (created != NULL)
		*created = (time_t)get64(buf + 12);
	if (pk != NULL)
		memcpy(pk, buf + HDR_LEN, crypto_box_PUBLICKEYBYTES);
	return 0;
}

/* Key for sealing a secret under a passphrase (Argon2id). */
static int
pass_key(uint8_t *key, const char *pass, const uint8_t *salt,
    unsigned long long ops, size_t mem)
{
	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > ((size_t)1 << 32))
		return -1;
	return crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, strlen(pass),
	    salt, ops, mem, crypto_pwhash_ALG_ARGON2ID13);
}

/* Serialise a secret key file (plain or sealed) into out; length in *len. */
static int
build_sec(uint8_t *out, size_t *len, uint32_t id, time_t created,
    const uint8_t *sk, const char *pass)
{
	uint8_t *p = out;
	uint8_t *key, *boxed;
	int rc = -1;

	memcpy(p, SEC_MAGIC, 8);
	put32(p + 8, id);
	put64(p + 12, (uint64_t)created);
	p += HDR_LEN;
	if (pass == NULL) {
		*p++ = 0;
		memcpy(p, sk, crypto_box_SECRETKEYBYTES);
		*len = SEC_PLAIN_LEN;
		return 0;
	}
	*p++ = 1;
	key = sodium_malloc(crypto_secretbox_KEYBYTES);
	boxed = sodium_malloc(BOXED_LEN);
	if (key == NULL || boxed == NULL)
		goto out;
	uint8_t *salt = p, *nonce = p + SALT_LEN + 16;
	randombytes_buf(salt, SALT_LEN);
	put64(p + SALT_LEN, pw_ops());
	put64(p + SALT_LEN + 8, pw_mem());
	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	if (pass_key(key, pass, salt, pw_ops(), pw_mem()) != 0)
		goto out;
	put32(boxed, id);
	memcpy(boxed + 4, sk, crypto_box_SECRETKEYBYTES);
	if (crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, boxed,
	    BOXED_LEN, nonce, key) != 0)
		goto out;
	*len = SEC_SEALED_LEN;
	rc = 0;
out:
	sodium_free(key);
	sodium_free(boxed);
	return rc;
}

/*
 * Read store-<id>.sec into sk (guarded memory).  *sealed tells whether a
 * passphrase was needed.  KEYS_PASSPHRASE when it is missing or wrong.
 */
static int
read_sec(const char *data_dir, uint32_t id, const char *pass, uint8_t *sk,
    int *sealed, char *err, size_t errlen)
{
	char path[PATH_MAX];
	uint8_t *buf = sodium_malloc(SEC_SEALED_LEN + 1);
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	uint8_t *boxed = sodium_malloc(BOXED_LEN);
	ssize_t len;
	int rc = KEYS_ERR;

	if (buf == NULL || key == NULL || boxed == NULL) {
		errbuf_set(err, errlen, "out of guarded memory");
		goto out;
	}
	if (kfile(path, sizeof(path), data_dir, id, "sec") != 0)
		goto out;
	len = read_small(path, buf, SEC_SEALED_LEN + 1);
	if (len < 0) {
		errbuf_set(err, errlen, "cannot read %s: %s", path, strerror(errno));
		rc = errno == ENOENT ? KEYS_NOKEY : KEYS_ERR;
		goto out;
	}
	if (len < HDR_LEN + 1 || memcmp(buf, SEC_MAGIC, 8) != 0 || get32(buf + 8) != id) {
		errbuf_set(err, errlen, "%s is not a store secret key for id %u", path, id);
		goto out;
	}
	const uint8_t *p = buf + HDR_LEN + 1;
	if (buf[HDR_LEN] == 0 && len == SEC_PLAIN_LEN) {
		*sealed = 0;
		memcpy(sk, p, crypto_box_SECRETKEYBYTES);
		rc = KEYS_OK;
		goto out;
	}
	if (buf[HDR_LEN] != 1 || len != SEC_SEALED_LEN) {
		errbuf_set(err, errlen, "%s: unknown secret key format", path);
		goto out;
	}
	*sealed = 1;
	if (pass == NULL) {
		errbuf_set(err, errlen, "secret key %u is sealed under a passphrase: "
		    "set NTAMSA_KEY_PASSPHRASE or NTAMSA_KEY_PASSPHRASE_FD", id);
		rc = KEYS_PASSPHRASE;
		goto out;
	}
	const uint8_t *nonce = p + SALT_LEN + 16;
	if (pass_key(key, pass, p, get64(p + SALT_LEN), (size_t)get64(p + SALT_LEN + 8)) != 0) {
		errbuf_set(err, errlen, "%s: cannot derive the passphrase key", path);
		goto out;
	}
	if (crypto_secretbox_open_easy(boxed, nonce + crypto_secretbox_NONCEBYTES,
	    crypto_secretbox_MACBYTES + BOXED_LEN, nonce, key) != 0 ||
	    get32(boxed) != id) {
		errbuf_set(err, errlen, "wrong passphrase for secret key %u", id);
		rc = KEYS_PASSPHRASE;
		goto out;
	}
	memcpy(sk, boxed + 4, crypto_box_SECRETKEYBYTES);
	rc = KEYS_OK;
out:
	sodium_free(buf);
	sodium_free(key);
	sodium_free(boxed);
	return rc;
}

/* Create pair `id` on disk: secret first (0600), then public. */
static int
make_pair(const char *data_dir, const struct fsmode *fm, uint32_t id, const char *pass,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	uint8_t pubf[PUB_FILE_LEN];
	uint8_t *sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	uint8_t *secf = sodium_malloc(SEC_SEALED_LEN);
	time_t now = time(NULL);
	size_t seclen = 0;
	int rc = KEYS_ERR;

	if (sk == NULL || secf == NULL) {
		errbuf_set(err, errlen, "out of guarded memory");
		goto out;
	}
	memcpy(pubf, PUB_MAGIC, 8);
	put32(pubf + 8, id);
	put64(pubf + 12, (uint64_t)now);
	if (crypto_box_keypair(pubf + HDR_LEN, sk) != 0 ||
	    build_sec(secf, &seclen, id, now, sk, pass) != 0) {
		errbuf_set(err, errlen, "cannot generate key pair %u", id);
		goto out;
	}
	if (kfile(path, sizeof(path), data_dir, id, "sec") != 0) {
		errbuf_set(err, errlen, "key path too long");
		goto out;
	}
	rc = write_new_file(path, secf, seclen, 0600, (gid_t)-1, err, errlen);
	if (rc != KEYS_OK)
		goto out;
	if (kfile(path, sizeof(path), data_dir, id, "pub") != 0) {
		errbuf_set(err, errlen, "key path too long");
		rc = KEYS_ERR;
		goto out;
	}
	rc = write_new_file(path, pubf, sizeof(pubf), fm->pub, fm->gid, err, errlen);
out:
	sodium_free(sk);
	sodium_free(secf);
	return rc;
}

/*
 * keys/ itself: 0700, or 0750 and the data directory's group when that is
 * group-shared.  Shared: chmod only when the mode differs, keeping a setgid
 * bit inherited from the data directory (chmod by a non-member of the group
 * would clear it, and with it the group new key files get).
 */
static int
keydir_perms(const char *dir, const struct fsmode *fm, char *err, size_t errlen)
{
	struct stat st;

	if (!fm->shared) {
		if (chmod(dir, fm->keydir) != 0) {
			errbuf_set(err, errlen, "cannot chmod %s: %s", dir, strerror(errno));
			return KEYS_ERR;
		}
		return KEYS_OK;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		errbuf_set(err, errlen, "%s is not a directory", dir);
		return KEYS_ERR;
	}
	if (st.st_gid != fm->gid && chown(dir, (uid_t)-1, fm->gid) != 0) {
		errbuf_set(err, errlen, "cannot give %s group %u: %s (make the data directory "
		    "setgid, chmod g+s, or run as a member of that group)", dir,
		    (unsigned)fm->gid, strerror(errno));
		return KEYS_ERR;
	}
	if ((st.st_mode & 0777) != fm->keydir &&
	    chmod(dir, fm->keydir | (st.st_mode & S_ISGID)) != 0) {
		errbuf_set(err, errlen, "cannot chmod %s: %s", dir, strerror(errno));
		return KEYS_ERR;
	}
	return KEYS_OK;
}

/*
 * mkdir keys/.  Group-shared: with its final mode at once, past the umask
 * (ntamsa runs with 077), because a later chmod by a user outside the
 * directory's group clears the setgid bit inherited from the data
 * directory, and with it the group every key file gets.  keys_init runs
 * from commands only, never beside other threads that create files.
 */
static int
keydir_make(const char *dir, const struct fsmode *fm)
{
	mode_t old;
	int rc, e;

	if (!fm->shared)
		return mkdir(dir, fm->keydir);
	old = umask(0);
	rc = mkdir(dir, fm->keydir);
	e = errno;
	(void)umask(old);
	errno = e;
	return rc;
}

int
keys_init(const char *data_dir, const char *passphrase, char *err, size_t errlen)
{
	char dir[PATH_MAX], cur[PATH_MAX];
	struct fsmode fm;
	uint32_t ids[KEYS_MAX];
	size_t n = 0;
	int rc;

	if ((rc = sodium_ready(err, errlen)) != KEYS_OK)
		return rc;
	if (kpath(dir, sizeof(dir), data_dir, NULL) != 0 ||
	    kpath(cur, sizeof(cur), data_dir, "current") != 0) {
		errbuf_set(err, errlen, "data directory path too long");
		return KEYS_ERR;
	}
	fsmode_layout(data_dir, &fm);
	if (keydir_make(dir, &fm) != 0 && errno != EEXIST) {
		errbuf_set(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return KEYS_ERR;
	}
	if (scan_ids(data_dir, ids, KEYS_MAX, &n) != 0) {
		errbuf_set(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return KEYS_ERR;
	}
	if (n > 0 || access(cur, F_OK) == 0) {
		errbuf_set(err, errlen, "store keys already exist in %s; refusing to overwrite", dir);
		return KEYS_EXIST;
	}
	if ((rc = keydir_perms(dir, &fm, err, errlen)) != KEYS_OK)
		return rc;
	rc = make_pair(data_dir, &fm, 1, passphrase, err, errlen);
	if (rc != KEYS_OK)
		return rc;
	rc = write_current(data_dir, &fm, 1, err, errlen);
	if (rc == KEYS_OK && fsync_dir(dir) != 0) {
		errbuf_set(err, errlen, "cannot sync %s: %s", dir, strerror(errno));
		rc = KEYS_ERR;
	}
	return rc;
}

int
keys_rotate(const char *data_dir, const char *passphrase, uint32_t *new_id,
    char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct fsmode fm;
	uint32_t ids[KEYS_MAX], cur;
	size_t n = 0;
	int rc, sealed = 0;
	uint8_t *sk;

	if ((rc = sodium_ready(err, errlen)) != KEYS_OK)
		return rc;
	if (scan_ids(data_dir, ids, KEYS_MAX, &n) != 0 || n == 0 ||
	    read_current(data_dir, &cur) != 0) {
		errbuf_set(err, errlen, "no store keys in %s/keys: run 'ntamsa keys init'", data_dir);
		return KEYS_NOKEY;
	}
	if (n >= KEYS_MAX) {
		errbuf_set(err, errlen, "too many store keys; retire old ones first");
		return KEYS_ERR;
	}
	/*
	 * One passphrase for the whole ring: check it against the current secret
	 * (when there is one) so a typo cannot leave pairs under two passphrases.
	 */
	sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	if (sk == NULL) {
		errbuf_set(err, errlen, "out of guarded memory");
		return KEYS_ERR;
	}
	rc = read_sec(data_dir, cur, passphrase, sk, &sealed, err, errlen);
	sodium_free(sk);
	if (rc == KEYS_NOKEY)
		rc = KEYS_OK;	/* current secret held elsewhere: nothing to check */
	if (rc != KEYS_OK)
		return rc;
	/*
	 * An unsealed ring rotated with a passphrase gets a sealed new pair: the
	 * way to start using one.  keys_load_ring opens both kinds with it.
	 */
	/* Group-shared: smtpd's user must still reach keys/ (owner-only: as it is). */
	fsmode_layout(data_dir, &fm);
	if (fm.shared) {
		if (kpath(dir, sizeof(dir), data_dir, NULL) != 0) {
			errbuf_set(err, errlen, "data directory path too long");
			return KEYS_ERR;
		}
		if ((rc = keydir_perms(dir, &fm, err, errlen)) != KEYS_OK)
			return rc;
	}
	uint32_t id = ids[n - 1] + 1;
	rc = make_pair(data_dir, &fm, id, passphrase, err, errlen);
	if (rc != KEYS_OK)
		return rc;
	rc = write_current(data_dir, &fm, id, err, errlen);
	if (rc == KEYS_OK && new_id != NULL)
		*new_id = id;
	return rc;
}

/*
 * Overwrite a secret file with zeros before unlinking it.  Not through a
 * symbolic link, and only a regular file: a link planted in keys/ must not
 * make a root-run `keys reseal` zero some other file.
 */
static int
wipe_file(const char *path)
{
	uint8_t zero[SEC_SEALED_LEN];
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int rc = 0;

	if (fd < 0)
		return -1;
	memset(zero, 0, sizeof(zero));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > sizeof(zero) ||
	    fd_write_all(fd, zero, (size_t)st.st_size) != 0 || fsync(fd) != 0)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	if (unlink(path) != 0)
		rc = -1;
	return rc;
}

int
keys_retire(const char *data_dir, uint32_t key_id, char *err, size_t errlen)
{
	char path[PATH_MAX], dir[PATH_MAX];
	uint32_t cur;

	if (read_current(data_dir, &cur) != 0) {
		errbuf_set(err, errlen, "no store keys in %s/keys", data_dir);
		return KEYS_NOKEY;
	}
	if (key_id == cur) {
		errbuf_set(err, errlen, "key %u is current; rotate first", key_id);
		return KEYS_ERR;
	}
	if (kfile(path, sizeof(path), data_dir, key_id, "sec") != 0 ||
	    kpath(dir, sizeof(dir), data_dir, NULL) != 0) {
		errbuf_set(err, errlen, "key path too long");
		return KEYS_ERR;
	}
	if (access(path, F_OK) != 0) {
		errbuf_set(err, errlen, "no secret key %u", key_id);
		return KEYS_NOKEY;
	}
	if (wipe_file(path) != 0 || fsync_dir(dir) != 0) {
		errbuf_set(err, errlen, "cannot destroy %s: %s", path, strerror(errno));
		return KEYS_ERR;
	}
	return KEYS_OK;
}

int
keys_load_pub(const char *data_dir, struct keys_pub **out, char *err, size_t errlen)
{
	struct keys_pub *p;
	uint32_t cur;
	int rc;

	*out = NULL;
	if ((rc = sodium_ready(err, errlen)) != KEYS_OK)
		return rc;
	if (read_current(data_dir, &cur) != 0) {
		errbuf_set(err, errlen, "no store keys in %s/keys: run 'ntamsa keys init'", data_dir);
		return KEYS_NOKEY;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return KEYS_ERR;
	}
	if (read_pub(data_dir, cur, p->pk, NULL) != 0) {
		errbuf_set(err, errlen, "cannot read public key %u in %s/keys", cur, data_dir);
		free(p);
		return KEYS_ERR;
	}
	p->id = cur;
	*out = p;
	return KEYS_OK;
}

void
keys_pub_free(struct keys_pub *p)
{
	if (p == NULL)
		return;
	keys_ahead_stop(p);
	free(p);
}

uint32_t
keys_pub_id(const struct keys_pub *p)
{
	return p->id;
}

/* Load one secret into the ring, checking it matches its public key. */
static int
ring_add(struct keys_ring *r, const char *data_dir, uint32_t id, const char *pass,
    char *err, size_t errlen)
{
	struct ring_ent *e = &r->e[r->n];
	uint8_t derived[crypto_box_PUBLICKEYBYTES];
	int sealed = 0, rc;

	if (read_pub(data_dir, id, e->pk, NULL) != 0) {
		errbuf_set(err, errlen, "cannot read public key %u", id);
		return KEYS_ERR;
	}
	e->sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	if (e->sk == NULL) {
		errbuf_set(err, errlen, "out of guarded memory");
		return KEYS_ERR;
	}
	rc = read_sec(data_dir, id, pass, e->sk, &sealed, err, errlen);
	if (rc == KEYS_OK && (crypto_scalarmult_base(derived, e->sk) != 0 ||
	    sodium_memcmp(derived, e->pk, sizeof(derived)) != 0)) {
		errbuf_set(err, errlen, "secret key %u does not match its public key", id);
		rc = KEYS_ERR;
	}
	if (rc != KEYS_OK) {
		sodium_free(e->sk);
		e->sk = NULL;
		return rc;
	}
	(void)sodium_mprotect_readonly(e->sk);
	e->id = id;
	r->n++;
	return KEYS_OK;
}

int
keys_load_ring(const char *data_dir, const char *passphrase,
    struct keys_ring **out, char *err, size_t errlen)
{
	uint32_t ids[KEYS_MAX];
	size_t n = 0;
	struct keys_ring *r;
	int rc;

	*out = NULL;
	if ((rc = sodium_ready(err, errlen)) != KEYS_OK)
		return rc;
	if (scan_ids(data_dir, ids, KEYS_MAX, &n) != 0) {
		errbuf_set(err, errlen, "cannot list %s/keys: %s", data_dir, strerror(errno));
		return KEYS_ERR;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return KEYS_ERR;
	}
	for (size_t i = 0; i < n; i++) {
		rc = ring_add(r, data_dir, ids[i], passphrase, err, errlen);
		if (rc == KEYS_NOKEY)
			continue;	/* retired: public part only */
		if (rc != KEYS_OK) {
			keys_ring_free(r);
			return rc;
		}
	}
	if (r->n == 0) {
		errbuf_set(err, errlen, "no store secret keys in %s/keys", data_dir);
		keys_ring_free(r);
		return KEYS_NOKEY;
	}
	*out = r;
	return KEYS_OK;
}

void
keys_ring_free(struct keys_ring *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		sodium_free(r->e[i].sk);	/* sodium_free wipes */
	free(r);
}

/* Read the passphrase from descriptor fd: its first line. */
static int
pass_from_fd(const char *fdenv, char **out, char *err, size_t errlen)
{
	char *end, *p;
	size_t len = 0;
	long fd;

	errno = 0;
	fd = strtol(fdenv, &end, 10);
	if (errno != 0 || end == fdenv || *end != '\0' || fd < 0 || fd > INT_MAX) {
		errbuf_set(err, errlen, "NTAMSA_KEY_PASSPHRASE_FD is not a descriptor number");
		return KEYS_PASSPHRASE;
	}
	if ((p = sodium_malloc(PASS_MAX)) == NULL) {
		errbuf_set(err, errlen, "out of guarded memory");
		return KEYS_ERR;
	}
	while (len < PASS_MAX - 1) {
		ssize_t r = read((int)fd, p + len, PASS_MAX - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errbuf_set(err, errlen, "cannot read the passphrase from descriptor %ld: %s",
			    fd, strerror(errno));
			sodium_free(p);
			return KEYS_PASSPHRASE;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	p[len] = '\0';
	/* The first line is the passphrase (echo/printf both work). */
	char *nl = strchr(p, '\n');
	if (nl != NULL)
		*nl = '\0';
	if (p[0] == '\0') {
		errbuf_set(err, errlen, "the passphrase from descriptor %ld is empty", fd);
		sodium_free(p);
		return KEYS_PASSPHRASE;
	}
	*out = p;
	return KEYS_OK;
}

int
keys_passphrase_read(char **out, char *err, size_t errlen)
{
	const char *env = getenv("NTAMSA_KEY_PASSPHRASE");
	const char *fdenv = getenv("NTAMSA_KEY_PASSPHRASE_FD");
	size_t len;

	*out = NULL;
	if (sodium_init() < 0) {
		errbuf_set(err, errlen, "libsodium failed to initialise");
		return KEYS_ERR;
	}
	if (env != NULL) {
		/* Set but unusable is an error: never fall back to an unsealed key. */
		len = strlen(env);
		if (len == 0 || len >= PASS_MAX) {
			errbuf_set(err, errlen, "NTAMSA_KEY_PASSPHRASE is %s", len ? "too long" : "empty");
			return KEYS_PASSPHRASE;
		}
		if ((*out = sodium_malloc(len + 1)) == NULL) {
			errbuf_set(err, errlen, "out of guarded memory");
			return KEYS_ERR;
		}
		memcpy(*out, env, len + 1);
		return KEYS_OK;
	}
	if (fdenv == NULL)
		return KEYS_OK;
	return pass_from_fd(fdenv, out, err, errlen);
}

char *
keys_passphrase_get(void)
{
	char *p = NULL;

	return keys_passphrase_read(&p, NULL, 0) == KEYS_OK ? p : NULL;
}

void
keys_passphrase_free(char *p)
{
	sodium_free(p);
}

int
keys_dk_open(const struct keys_ring *r, uint32_t key_id,
    const uint8_t sealed[KEYS_SEALED_DK_LEN], uint8_t *dk)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->e[i].id != key_id)
			continue;
		if (crypto_box_seal_open(dk, sealed, KEYS_SEALED_DK_LEN, r->e[i].pk,
		    r->e[i].sk) != 0)
			return KEYS_BADSEAL;
		return KEYS_OK;
	}
	return KEYS_NOKEY;
}

int
keys_list(const char *data_dir, struct keys_info *out, size_t max, size_t *n,
    char *err, size_t errlen)
{
	uint32_t ids[KEYS_MAX], cur = 0;
	size_t cnt = 0;

	*n = 0;
	if (scan_ids(data_dir, ids, KEYS_MAX, &cnt) != 0) {
		errbuf_set(err, errlen, "cannot list %s/keys: %s", data_dir, strerror(errno));
		return KEYS_ERR;
	}
	if (cnt == 0 || read_current(data_dir, &cur) != 0) {
		errbuf_set(err, errlen, "no store keys in %s/keys: run 'ntamsa keys init'", data_dir);
		return KEYS_NOKEY;
	}
	for (size_t i = 0; i < cnt && *n < max; i++) {
		struct keys_info *k = &out[*n];
		char path[PATH_MAX];
		uint8_t hdr[HDR_LEN + 1];
		memset(k, 0, sizeof(*k));
		k->id = ids[i];
		if (read_pub(data_dir, ids[i], NULL, &k->created) != 0) {
			errbuf_set(err, errlen, "cannot read public key %u", ids[i]);
			return KEYS_ERR;
		}
		k->current = ids[i] == cur;
		if (kfile(path, sizeof(path), data_dir, ids[i], "sec") != 0)
			return KEYS_ERR;
		/* Only the header: the mode byte says whether it is sealed. */
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			k->has_secret = 1;
			k->passphrase = read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) &&
			    hdr[HDR_LEN] == 1;
			(void)close(fd);
		}
		(*n)++;
	}
	return KEYS_OK;
}
