/*
 * smtpd_store_tool - test helper for the smtpd integration tests.
 *   keys-init DATA_DIR          create the store key pair (unsealed)
 *   read DATA_DIR ID            print message ID, decrypted, to stdout
 *   check DATA_DIR ID...        exit 0 when every ID opens and reads to its
 *                               authenticated end; names the first that does not
 */
#include "keys/keys.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
read_one(struct store *s, const struct keys_ring *r, const char *id, int print)
{
	struct store_reader *rd = NULL;
	char buf[16384];
	ssize_t n;

	int rc = store_reader_open(s, r, id, &rd);
	if (rc != STORE_OK) {
		fprintf(stderr, "%s: open: %s\n", id, store_strerror(rc));
		return -1;
	}
	while ((n = store_reader_read(rd, buf, sizeof(buf))) > 0)
		if (print && fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			n = -1;
	store_reader_close(rd);
	if (n < 0) {
		fprintf(stderr, "%s: read: %s\n", id, store_strerror((int)n));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char err[512];

	if (argc == 3 && !strcmp(argv[1], "keys-init")) {
		if (keys_init(argv[2], NULL, err, sizeof(err)) != 0) {
			fprintf(stderr, "keys-init: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (argc < 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: smtpd_store_tool keys-init DIR | read DIR ID | check DIR ID...\n");
		return 2;
	}
	struct store *s = NULL;
	struct keys_ring *r = NULL;
	if (store_open(argv[2], &s, err, sizeof(err)) != 0 ||
	    keys_load_ring(argv[2], NULL, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "open: %s\n", err);
		if (s != NULL)
			store_close(s);
		return 1;
	}
	int rc = 0;
	for (int i = 3; i < argc && rc == 0; i++)
		if (read_one(s, r, argv[i], !strcmp(argv[1], "read")) != 0)
			rc = 1;
	keys_ring_free(r);
	store_close(s);
	return rc;
}
