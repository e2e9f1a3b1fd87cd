/*
 * cmd_keys.c - `ntamsa keys init|status|rotate [--reseal]|reseal`: the store
 * key pairs (keys/keys.h) and the data keys sealed to them (store/store.h).
 *
 * The passphrase of sealed secret keys comes from $NTAMSA_KEY_PASSPHRASE or
 * the descriptor in $NTAMSA_KEY_PASSPHRASE_FD, never from argv (which any
 * local user can read in /proc).
 */
#include "msa/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keys/keys.h"
#include "store/store.h"

#define KEYS_LIST_MAX 1024

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ntamsa keys init\n"
	    "       ntamsa keys status\n"
	    "       ntamsa keys rotate [--reseal]\n"
	    "       ntamsa keys reseal\n\n"
	    "init     create the first store key pair in <data_dir>/keys; refuses to\n"
	    "         overwrite existing keys\n"
	    "status   key ids, creation dates, which one is current, whether the\n"
	    "         secret is still kept, and how many messages each protects\n"
	    "rotate   make a new pair current; older secrets still open older messages\n"
	    "         --reseal  then reseal every stored data key to the new pair and\n"
	    "                   destroy the old secrets (old backups become unreadable)\n"
	    "reseal   reseal to the current pair and destroy old secrets that no longer\n"
	    "         protect anything\n\n"
	    "The secret keys are sealed under a passphrase when NTAMSA_KEY_PASSPHRASE\n"
	    "or NTAMSA_KEY_PASSPHRASE_FD (a file descriptor to read it from) is set;\n"
	    "the same variables unlock them.  A running server notices a rotation:\n"
	    "smtpd reloads the public key on SIGHUP or when a commit is refused for\n"
	    "a retired key, deliver reloads its keys when a message needs a new one.\n");
}

static void
fmt_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, len, "%lld", (long long)t);
}

/* The passphrase if one is set; -1 (reported) when set but unusable. */
static int
get_pass(char **pass)
{
	char err[256];

	if (keys_passphrase_read(pass, err, sizeof(err)) != KEYS_OK) {
		fprintf(stderr, "ntamsa: keys: %s\n", err);
		return -1;
	}
	return 0;
}

static int
do_init(const char *dir)
{
	char err[512];
	char *pass = NULL;
	int rc;

	if (get_pass(&pass) != 0)
		return 1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "ntamsa: keys: cannot create %s: %s\n", dir, strerror(errno));
		keys_passphrase_free(pass);
		return 1;
	}
	rc = keys_init(dir, pass, err, sizeof(err));
	if (rc != KEYS_OK) {
		fprintf(stderr, "ntamsa: keys: %s\n", err);
		keys_passphrase_free(pass);
		return 1;
	}
	printf("store key 1 created in %s/keys (%s)\n", dir,
	    pass != NULL ? "secret sealed under the passphrase" : "secret unsealed, mode 0600");
	keys_passphrase_free(pass);
	return 0;
}

static int
do_status(const char *dir)
{
	static struct keys_info info[KEYS_LIST_MAX];
	struct store *s = NULL;
	char err[512], when[32];
	size_t n = 0;

	if (keys_list(dir, info, KEYS_LIST_MAX, &n, err, sizeof(err)) != KEYS_OK) {
		fprintf(stderr, "ntamsa: keys: %s\n", err);
		return 1;
	}
	if (store_open(dir, &s, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "ntamsa: keys: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t msgs = 0;
		if (store_count_by_key(s, info[i].id, &msgs) != STORE_OK) {
			fprintf(stderr, "ntamsa: keys: cannot count messages of key %u\n", info[i].id);
			store_close(s);
			return 1;
		}
		fmt_time(info[i].created, when, sizeof(when));
		printf("key %u created=%s current=%s secret=%s passphrase=%s messages=%lld\n",
		    info[i].id, when, info[i].current ? "yes" : "no",
		    info[i].has_secret ? "kept" : "destroyed",
		    info[i].passphrase ? "yes" : "no", (long long)msgs);
	}
	store_close(s);
	return 0;
}

/*
 * Reseal every DK to the current pair, then destroy each older secret that
 * no longer protects a message.  A key still in use is kept and reported.
 */
static int
reseal_and_retire(const char *dir, const char *pass)
{
	static struct keys_info info[KEYS_LIST_MAX];
	struct keys_pub *pub = NULL;
	struct keys_ring *ring = NULL;
	struct store *s = NULL;
	char err[512];
	size_t n = 0, resealed = 0;
	int rc = 1, srets;

	if (keys_load_pub(dir, &pub, err, sizeof(err)) != KEYS_OK ||
	    keys_load_ring(dir, pass, &ring, err, sizeof(err)) != KEYS_OK ||
	    store_open(dir, &s, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "ntamsa: keys: %s\n", err);
		goto out;
	}
	if ((srets = store_reseal_all(s, ring, pub, &resealed)) != STORE_OK) {
		fprintf(stderr, "ntamsa: keys: reseal stopped after %zu data keys: %s; "
		    "no secret key was destroyed\n", resealed, store_strerror(srets));
		goto out;
	}
	printf("resealed %zu data keys to key %u\n", resealed, keys_pub_id(pub));
	if (keys_list(dir, info, KEYS_LIST_MAX, &n, err, sizeof(err)) != KEYS_OK) {
		fprintf(stderr, "ntamsa: keys: %s\n", err);
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t left = -1;
		if (info[i].current || !info[i].has_secret)
			continue;
		/* Counted and marked in one transaction: a server still sealing to
		 * this key from now on gets a temporary error, never a message
		 * whose key is gone. */
		if (store_key_retire(s, info[i].id, &left) != STORE_OK || left != 0) {
			fprintf(stderr, "ntamsa: keys: key %u still protects %lld messages "
			    "(a running server may still seal to it); kept; send the "
			    "server SIGHUP and run 'ntamsa keys reseal'\n", info[i].id, (long long)left);
			rc = 1;
			continue;
		}
		if (keys_retire(dir, info[i].id, err, sizeof(err)) != KEYS_OK) {
			fprintf(stderr, "ntamsa: keys: %s\n", err);
			rc = 1;
			continue;
		}
		printf("retired key %u: its secret is destroyed\n", info[i].id);
	}
out:
	store_close(s);
	keys_ring_free(ring);
	keys_pub_free(pub);
	return rc;
}

static int
do_rotate(const char *dir, int reseal)
{
	char err[512];
	char *pass = NULL;
	uint32_t id = 0;
	int rc;

	if (get_pass(&pass) != 0)
		return 1;
	rc = keys_rotate(dir, pass, &id, err, sizeof(err));
	if (rc != KEYS_OK) {
		fprintf(stderr, "ntamsa: keys: %s\n", err);
		keys_passphrase_free(pass);
		return 1;
	}
	printf("key %u is current: new messages are sealed to it\n", id);
	rc = reseal ? reseal_and_retire(dir, pass) : 0;
	keys_passphrase_free(pass);
	return rc;
}

static int
do_reseal(const char *dir)
{
	char *pass = NULL;
	int rc;

	if (get_pass(&pass) != 0)
		return 1;
	rc = reseal_and_retire(dir, pass);
	keys_passphrase_free(pass);
	return rc;
}

int
cmd_keys(const struct config *c, int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "init") && argc == 2)
		return do_init(c->data_dir);
	if (!strcmp(sub, "status") && argc == 2)
		return do_status(c->data_dir);
	if (!strcmp(sub, "rotate") && argc == 2)
		return do_rotate(c->data_dir, 0);
	if (!strcmp(sub, "rotate") && argc == 3 && !strcmp(argv[2], "--reseal"))
		return do_rotate(c->data_dir, 1);
	if (!strcmp(sub, "reseal") && argc == 2)
		return do_reseal(c->data_dir);
	usage(stderr);
	return 2;
}
