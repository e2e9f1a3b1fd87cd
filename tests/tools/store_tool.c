/*
 * store_tool.c - helper for the store integration tests (t_store_*).
 *
 *   store_tool init DIR                 keys_init (unsealed) in DIR
 *   store_tool put DIR SIZE COUNT SEED [stall]
 *                                       COUNT messages (0 = until killed or an
 *                                       error) of SIZE bytes; after each commit
 *                                       returns prints "committed ID SIZE SEED";
 *                                       with "stall", then writes half of one
 *                                       more, prints "stalled ID" and waits to
 *                                       be killed
 *   store_tool putfile DIR FILE [hold]  store FILE as one message, print its
 *                                       id; with "hold", keep the connection
 *                                       (and the WAL) open until stdin closes
 *   store_tool cat DIR ID               write the plaintext to stdout
 *   store_tool check DIR                read "committed" lines on stdin; each
 *                                       must read back intact; prints "ok N"
 *   store_tool open DIR                 open only; prints "ok" or the error
 * On a store error prints "error NAME: text" (NAME: nospace, rdonly, corrupt,
 * tamper, ...) and exits 3.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/keys.h"
#include "store/store.h"

static const char *
errname(int rc)
{
	switch (rc) {
	case STORE_NOSPACE: return "nospace";
	case STORE_RDONLY: return "rdonly";
	case STORE_CORRUPT: return "corrupt";
	case STORE_NOTFOUND: return "notfound";
	case STORE_TAMPER: return "tamper";
	case STORE_SHREDDED: return "shredded";
	case STORE_KEY: return "key";
	case STORE_TOOBIG: return "toobig";
	case STORE_EXISTS: return "exists";
	default: return "error";
	}
}

static int
die_store(int rc, const char *what)
{
	printf("error %s: %s: %s\n", errname(rc), what, store_strerror(rc));
	fflush(stdout);
	return 3;
}

static uint8_t
pattern(unsigned seed, uint64_t i)
{
	return (uint8_t)((i * 131u + seed * 7u + (i >> 13)) & 0xff);
}

static int
open_all(const char *dir, struct store **s, struct keys_pub **pub, struct keys_ring **ring)
{
	char err[512];
	int rc = store_open(dir, s, err, sizeof(err));

	if (rc != STORE_OK) {
		printf("error %s: %s\n", errname(rc), err);
		fflush(stdout);
		return 3;
	}
	if (pub != NULL && keys_load_pub(dir, pub, err, sizeof(err)) != KEYS_OK) {
		printf("error keys: %s\n", err);
		store_close(*s);
		return 3;
	}
	if (ring != NULL) {
		/* Passphrase as ntamsa takes it: NTAMSA_KEY_PASSPHRASE(_FD). */
		char *pass = keys_passphrase_get();
		int krc = keys_load_ring(dir, pass, ring, err, sizeof(err));
		keys_passphrase_free(pass);
		if (krc != KEYS_OK) {
			printf("error keys: %s\n", err);
			if (pub != NULL)
				keys_pub_free(*pub);
			store_close(*s);
			return 3;
		}
	}
	return 0;
}

static int
put_one(struct store *s, struct keys_pub *pub, uint64_t size, unsigned seed, char *id)
{
	struct store_meta meta = {.account = "tool@example.test", .mail_from = "tool@example.test"};
	struct store_msg *m;
	uint8_t buf[7001];
	int rc = store_msg_new(s, pub, &m);

	if (rc != STORE_OK)
		return rc;
	memcpy(id, store_msg_id(m), STORE_ID_LEN);
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(seed, off + i);
		if ((rc = store_msg_write(m, buf, n)) != STORE_OK) {
			store_msg_abort(m);
			return rc;
		}
		off += n;
	}
	if ((rc = store_msg_add_rcpt(m, "rcpt@example.net")) != STORE_OK) {
		store_msg_abort(m);
		return rc;
	}
	return store_msg_commit(m, &meta);
}

/* Write half of a message (its first chunks reach the database) and hang. */
static int
stall(struct store *s, struct keys_pub *pub, uint64_t size)
{
	struct store_msg *m;
	uint8_t buf[4096];
	int rc = store_msg_new(s, pub, &m);

	if (rc != STORE_OK)
		return rc;
	memset(buf, 0x5a, sizeof(buf));
	for (uint64_t off = 0; off < size / 2 && rc == STORE_OK; off += sizeof(buf))
		rc = store_msg_write(m, buf, sizeof(buf));
	if (rc != STORE_OK) {
		store_msg_abort(m);
		return rc;
	}
	printf("stalled %s\n", store_msg_id(m));
	fflush(stdout);
	for (;;)
		pause();
}

static int
cmd_put(const char *dir, uint64_t size, unsigned long count, unsigned seed, int stall_after)
{
	struct store *s;
	struct keys_pub *pub;
	char id[STORE_ID_LEN];
	int rc = open_all(dir, &s, &pub, NULL);

	if (rc != 0)
		return rc;
	for (unsigned long i = 0; count == 0 || i < count; i++, seed++) {
		if ((rc = put_one(s, pub, size, seed, id)) != STORE_OK) {
			rc = die_store(rc, "commit");
			break;
		}
		printf("committed %s %llu %u\n", id, (unsigned long long)size, seed);
		fflush(stdout);
	}
	if (rc == 0 && stall_after && (rc = stall(s, pub, size)) != STORE_OK)
		rc = die_store(rc, "stall");
	keys_pub_free(pub);
	store_close(s);
	return rc;
}

static int
cmd_putfile(const char *dir, const char *file, int hold)
{
	struct store_meta meta = {.account = "tool@example.test", .mail_from = ""};
	struct store *s;
	struct keys_pub *pub;
	struct store_msg *m;
	uint8_t buf[16384];
	size_t n;
	FILE *f = fopen(file, "rb");
	int rc;

	if (f == NULL) {
		perror(file);
		return 1;
	}
	if ((rc = open_all(dir, &s, &pub, NULL)) != 0) {
		fclose(f);
		return rc;
	}
	rc = store_msg_new(s, pub, &m);
	while (rc == STORE_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		rc = store_msg_write(m, buf, n);
	fclose(f);
	if (rc == STORE_OK)
		rc = store_msg_add_rcpt(m, "rcpt@example.net");
	if (rc == STORE_OK) {
		char id[STORE_ID_LEN];
		memcpy(id, store_msg_id(m), sizeof(id));
		rc = store_msg_commit(m, &meta);
		if (rc == STORE_OK)
			printf("%s\n", id);
	} else if (m != NULL)
		store_msg_abort(m);
	fflush(stdout);
	if (rc == STORE_OK && hold) {
		char c;
		while (read(0, &c, 1) > 0)	/* the test looks at the files now */
			;
	}
	keys_pub_free(pub);
	store_close(s);
	return rc == STORE_OK ? 0 : die_store(rc, "putfile");
}

static int
cmd_cat(const char *dir, const char *id)
{
	struct store *s;
	struct keys_ring *ring;
	struct store_reader *r;
	char buf[16384];
	ssize_t n;
	int rc = open_all(dir, &s, NULL, &ring);

	if (rc != 0)
		return rc;
	rc = store_reader_open(s, ring, id, &r);
	if (rc == STORE_OK) {
		while ((n = store_reader_read(r, buf, sizeof(buf))) > 0)
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
				break;
		rc = n < 0 ? (int)n : STORE_OK;
		store_reader_close(r);
	}
	keys_ring_free(ring);
	store_close(s);
	return rc == STORE_OK ? 0 : die_store(rc, "cat");
}

static int
verify(struct store *s, struct keys_ring *ring, const char *id, uint64_t size, unsigned seed)
{
	struct store_reader *r;
	uint8_t buf[9000];
	uint64_t off = 0;
	ssize_t n;
	int rc = store_reader_open(s, ring, id, &r);

	if (rc != STORE_OK)
		return rc;
	while ((n = store_reader_read(r, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(seed, off + (uint64_t)i)) {
				store_reader_close(r);
				return 1;
			}
		off += (uint64_t)n;
	}
	store_reader_close(r);
	if (n < 0)
		return (int)n;
	return off == size ? 0 : 1;
}

static int
cmd_check(const char *dir)
{
	struct store *s;
	struct keys_ring *ring;
	char line[256], id[64];
	unsigned long long size;
	unsigned seed;
	unsigned long ok = 0, bad = 0;
	int rc = open_all(dir, &s, NULL, &ring);

	if (rc != 0)
		return rc;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (sscanf(line, "committed %63s %llu %u", id, &size, &seed) != 3)
			continue;
		rc = verify(s, ring, id, size, seed);
		if (rc != 0) {
			printf("bad %s %d %s\n", id, rc, rc < 0 ? store_strerror(rc) : "mismatch");
			bad++;
		} else
			ok++;
	}
	printf("ok %lu bad %lu\n", ok, bad);
	keys_ring_free(ring);
	store_close(s);
	return bad == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char err[512];

	if (argc >= 3 && !strcmp(argv[1], "init")) {
		if (keys_init(argv[2], NULL, err, sizeof(err)) != KEYS_OK) {
			printf("error keys: %s\n", err);
			return 3;
		}
		return 0;
	}
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "put"))
		return cmd_put(argv[2], strtoull(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
		    (unsigned)strtoul(argv[5], NULL, 10), argc == 7 && !strcmp(argv[6], "stall"));
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "putfile"))
		return cmd_putfile(argv[2], argv[3], argc == 5 && !strcmp(argv[4], "hold"));
	if (argc == 4 && !strcmp(argv[1], "cat"))
		return cmd_cat(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "open")) {
		struct store *s;
		int rc = open_all(argv[2], &s, NULL, NULL);
		if (rc == 0) {
			printf("ok\n");
			store_close(s);
		}
		return rc;
	}
	fprintf(stderr, "usage: store_tool init|put|putfile|cat|check|open DIR ...\n");
	return 2;
}
