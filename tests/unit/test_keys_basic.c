/*
 * test_keys_basic.c - store key pairs: init, refuse overwrite, file modes,
 * DK seal/open, passphrase sealing (wrong/missing refused), rotation,
 * retirement, listing, passphrase from the environment or a descriptor;
 * owner-only vs group-shared layout of keys/ (common/fsmode.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "test_store_util.h"

struct kt {
	char dir[PATH_MAX];
	char err[512];
};

static int
setup(void **state)
{
	struct kt *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	snprintf(k->dir, sizeof(k->dir), "/tmp/ntamsa-keys-XXXXXX");
	if (mkdtemp(k->dir) == NULL)
		return -1;
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct kt *k = *state;

	tenv_rmtree(k->dir);
	free(k);
	return 0;
}

static mode_t
file_mode(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/keys%s%s", dir, name[0] ? "/" : "", name);	/* "": keys/ */
	if (stat(p, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

/* Seal a fresh DK to pub and open it with ring; returns the keys_dk_open rc. */
static int
seal_open(struct keys_pub *pub, struct keys_ring *ring, uint32_t *kid)
{
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint8_t *dk = keys_dk_new(), *back = keys_dk_new();
	int rc;

	assert_non_null(dk);
	assert_non_null(back);
	assert_int_equal(keys_dk_seal(pub, dk, sealed, kid), 0);
	rc = keys_dk_open(ring, *kid, sealed, back);
	if (rc == 0)
		assert_memory_equal(dk, back, KEYS_DK_LEN);
	keys_dk_free(dk);
	keys_dk_free(back);
	return rc;
}

static void
test_init_files(void **state)
{
	struct kt *k = *state;

	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(file_mode(k->dir, "store-1.sec"), 0600);
	assert_int_equal(file_mode(k->dir, "store-1.pub"), 0644);
	char kd[PATH_MAX + 8];
	struct stat st;
	snprintf(kd, sizeof(kd), "%s/keys", k->dir);
	assert_int_equal(stat(kd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), KEYS_EXIST);
	assert_int_equal(keys_init(k->dir, "pw", k->err, sizeof(k->err)), KEYS_EXIST);
}

static gid_t
file_gid(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/keys%s%s", dir, name[0] ? "/" : "", name);
	if (stat(p, &st) != 0)
		return (gid_t)-1;
	return st.st_gid;
}

/*
 * Owner-only layout (a 0700 data directory), through a rotation: keys/
 * 0700, .pub 0644, .sec 0600, whatever the umask.
 */
static void
test_modes_owner_only(void **state)
{
	struct kt *k = *state;
	mode_t old = umask(077);

	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_rotate(k->dir, NULL, NULL, k->err, sizeof(k->err)), 0);
	umask(old);
	assert_int_equal(file_mode(k->dir, ""), 0700);
	assert_int_equal(file_mode(k->dir, "store-1.pub"), 0644);
	assert_int_equal(file_mode(k->dir, "store-2.pub"), 0644);
	assert_int_equal(file_mode(k->dir, "store-1.sec"), 0600);
	assert_int_equal(file_mode(k->dir, "store-2.sec"), 0600);
}

/*
 * Group-shared data directory (dmode: 2770, or 0770 without setgid):
 * keys/ 0750, .pub and `current` 0640 with the directory's group even
 * under umask 077 (smtpd's user reads them through the group), .sec still
 * 0600.  As root the directory gets a group root does not have (nogroup),
 * so 0770 shows the files are given it explicitly.
 */
static void
check_group_shared(struct kt *k, mode_t dmode)
{
	const char *names[] = {"", "store-1.pub", "store-2.pub", "current"};
	gid_t g = getegid();
	mode_t old;

	if (geteuid() == 0) {
		g = 65534;
		assert_int_equal(chown(k->dir, (uid_t)-1, g), 0);
	}
	assert_int_equal(chmod(k->dir, dmode), 0);
	old = umask(077);
	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(file_mode(k->dir, "") & 0777, 0750);
	assert_int_equal(file_mode(k->dir, "store-1.pub"), 0640);
	assert_int_equal(file_mode(k->dir, "current"), 0640);
	assert_int_equal(file_mode(k->dir, "store-1.sec"), 0600);
	assert_int_equal(keys_rotate(k->dir, NULL, NULL, k->err, sizeof(k->err)), 0);
	umask(old);
	assert_int_equal(file_mode(k->dir, "store-2.pub"), 0640);
	assert_int_equal(file_mode(k->dir, "current"), 0640);
	assert_int_equal(file_mode(k->dir, "store-2.sec"), 0600);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (file_gid(k->dir, names[i]) != g)
			fail_msg("dir %04o keys/%s: group %u, want %u", (unsigned)dmode, names[i],
			    (unsigned)file_gid(k->dir, names[i]), (unsigned)g);
	tenv_rmtree(k->dir);
	assert_int_equal(mkdir(k->dir, 0700), 0);
}

static void
test_modes_group_shared(void **state)
{
	struct kt *k = *state;

	check_group_shared(k, 02770);
	check_group_shared(k, 0770);
	/* Any bit for others: not group-shared, owner-only as before. */
	assert_int_equal(chmod(k->dir, 02775), 0);
	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(file_mode(k->dir, "") & 0777, 0700);
	assert_int_equal(file_mode(k->dir, "store-1.pub"), 0644);
}

static void
test_no_keys(void **state)
{
	struct kt *k = *state;
	struct keys_pub *pub;
	struct keys_ring *ring;

	assert_int_equal(keys_load_pub(k->dir, &pub, k->err, sizeof(k->err)), KEYS_NOKEY);
	assert_int_equal(keys_load_ring(k->dir, NULL, &ring, k->err, sizeof(k->err)), KEYS_NOKEY);
	assert_null(pub);
	assert_null(ring);
}

static void
test_seal_open(void **state)
{
	struct kt *k = *state;
	struct keys_pub *pub;
	struct keys_ring *ring;
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint8_t *dk = keys_dk_new(), *back = keys_dk_new();
	uint32_t kid;

	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_load_pub(k->dir, &pub, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_load_ring(k->dir, NULL, &ring, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_pub_id(pub), 1);
	assert_int_equal(seal_open(pub, ring, &kid), 0);
	assert_int_equal(kid, 1);
	assert_int_equal(keys_dk_seal(pub, dk, sealed, &kid), 0);
	assert_int_equal(keys_dk_open(ring, 7, sealed, back), KEYS_NOKEY);
	sealed[40] ^= 1;
	assert_int_equal(keys_dk_open(ring, 1, sealed, back), KEYS_BADSEAL);
	keys_dk_free(dk);
	keys_dk_free(back);
	keys_pub_free(pub);
	keys_ring_free(ring);
}

static void
test_passphrase(void **state)
{
	struct kt *k = *state;
	struct keys_pub *pub;
	struct keys_ring *ring = NULL;
	struct keys_info info[4];
	size_t n;
	uint32_t kid;

	assert_int_equal(keys_init(k->dir, "correct horse", k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_load_ring(k->dir, NULL, &ring, k->err, sizeof(k->err)),
	    KEYS_PASSPHRASE);
	assert_non_null(strstr(k->err, "NTAMSA_KEY_PASSPHRASE"));
	assert_int_equal(keys_load_ring(k->dir, "battery staple", &ring, k->err,
	    sizeof(k->err)), KEYS_PASSPHRASE);
	assert_null(ring);
	assert_int_equal(keys_load_ring(k->dir, "correct horse", &ring, k->err,
	    sizeof(k->err)), 0);
	/* The public half needs no passphrase: smtpd seals without it. */
	assert_int_equal(keys_load_pub(k->dir, &pub, k->err, sizeof(k->err)), 0);
	assert_int_equal(seal_open(pub, ring, &kid), 0);
	assert_int_equal(keys_list(k->dir, info, 4, &n, k->err, sizeof(k->err)), 0);
	assert_int_equal(n, 1);
	assert_true(info[0].passphrase);
	/* Rotation refuses a wrong passphrase: one passphrase for the ring. */
	assert_int_equal(keys_rotate(k->dir, "wrong", &kid, k->err, sizeof(k->err)),
	    KEYS_PASSPHRASE);
	assert_int_equal(keys_rotate(k->dir, NULL, &kid, k->err, sizeof(k->err)),
	    KEYS_PASSPHRASE);
	assert_int_equal(keys_rotate(k->dir, "correct horse", &kid, k->err, sizeof(k->err)), 0);
	keys_ring_free(ring);
	assert_int_equal(keys_load_ring(k->dir, "correct horse", &ring, k->err,
	    sizeof(k->err)), 0);
	keys_pub_free(pub);
	keys_ring_free(ring);
}

/* The secret file never holds the raw secret when sealed. */
static void
test_passphrase_file_not_plain(void **state)
{
	struct kt *k = *state;
	char p[PATH_MAX + 64];
	struct stat a, b;

	assert_int_equal(keys_init(k->dir, "pw1", k->err, sizeof(k->err)), 0);
	snprintf(p, sizeof(p), "%s/keys/store-1.sec", k->dir);
	assert_int_equal(stat(p, &a), 0);
	tenv_rmtree(k->dir);
	assert_int_equal(mkdir(k->dir, 0700), 0);
	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(stat(p, &b), 0);
	assert_true(a.st_size > b.st_size);	/* salt, limits, nonce, MAC added */
}

static void
test_rotate_retire(void **state)
{
	struct kt *k = *state;
	struct keys_pub *pub1, *pub2;
	struct keys_ring *ring;
	struct keys_info info[4];
	uint8_t sealed[KEYS_SEALED_DK_LEN];
	uint8_t *dk = keys_dk_new(), *back = keys_dk_new();
	uint32_t kid, nid = 0;
	size_t n;

	assert_int_equal(keys_rotate(k->dir, NULL, &nid, k->err, sizeof(k->err)), KEYS_NOKEY);
	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_load_pub(k->dir, &pub1, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_dk_seal(pub1, dk, sealed, &kid), 0);
	assert_int_equal(keys_rotate(k->dir, NULL, &nid, k->err, sizeof(k->err)), 0);
	assert_int_equal(nid, 2);
	assert_int_equal(keys_load_pub(k->dir, &pub2, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_pub_id(pub2), 2);
	assert_int_equal(keys_load_ring(k->dir, NULL, &ring, k->err, sizeof(k->err)), 0);
	/* The old secret still opens DKs sealed before the rotation. */
	assert_int_equal(keys_dk_open(ring, 1, sealed, back), 0);
	assert_memory_equal(dk, back, KEYS_DK_LEN);
	assert_int_equal(seal_open(pub2, ring, &kid), 0);
	assert_int_equal(kid, 2);
	keys_ring_free(ring);
	assert_int_equal(keys_list(k->dir, info, 4, &n, k->err, sizeof(k->err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(info[0].id, 1);
	assert_false(info[0].current);
	assert_true(info[1].current);
	assert_true(info[0].has_secret);
	assert_true(info[0].created > 0);
	/* Retiring: never the current key; the old one is gone for good. */
	assert_int_equal(keys_retire(k->dir, 2, k->err, sizeof(k->err)), KEYS_ERR);
	assert_int_equal(keys_retire(k->dir, 1, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_retire(k->dir, 1, k->err, sizeof(k->err)), KEYS_NOKEY);
	assert_int_equal(file_mode(k->dir, "store-1.sec"), (mode_t)-1);
	assert_int_equal(keys_load_ring(k->dir, NULL, &ring, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_dk_open(ring, 1, sealed, back), KEYS_NOKEY);
	assert_int_equal(keys_list(k->dir, info, 4, &n, k->err, sizeof(k->err)), 0);
	assert_int_equal(n, 2);
	assert_false(info[0].has_secret);
	keys_ring_free(ring);
	keys_pub_free(pub1);
	keys_pub_free(pub2);
	keys_dk_free(dk);
	keys_dk_free(back);
}

/* Rotating an unsealed ring with a passphrase starts passphrase protection. */
static void
test_rotate_adds_passphrase(void **state)
{
	struct kt *k = *state;
	struct keys_ring *ring = NULL;
	struct keys_info info[4];
	size_t n;
	uint32_t nid;

	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_rotate(k->dir, "new pw", &nid, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_list(k->dir, info, 4, &n, k->err, sizeof(k->err)), 0);
	assert_int_equal(n, 2);
	assert_false(info[0].passphrase);
	assert_true(info[1].passphrase);
	assert_int_equal(keys_load_ring(k->dir, NULL, &ring, k->err, sizeof(k->err)),
	    KEYS_PASSPHRASE);
	assert_int_equal(keys_load_ring(k->dir, "new pw", &ring, k->err, sizeof(k->err)), 0);
	keys_ring_free(ring);
}

static void
test_passphrase_sources(void **state)
{
	int fds[2];
	char *p;

	(void)state;
	unsetenv("NTAMSA_KEY_PASSPHRASE");
	unsetenv("NTAMSA_KEY_PASSPHRASE_FD");
	assert_null(keys_passphrase_get());
	setenv("NTAMSA_KEY_PASSPHRASE", "", 1);	/* empty is no passphrase */
	assert_null(keys_passphrase_get());
	setenv("NTAMSA_KEY_PASSPHRASE", "from env", 1);
	p = keys_passphrase_get();
	assert_string_equal(p, "from env");
	keys_passphrase_free(p);
	unsetenv("NTAMSA_KEY_PASSPHRASE");
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "from fd\nignored", 15), 15);
	close(fds[1]);
	char num[16];
	snprintf(num, sizeof(num), "%d", fds[0]);
	setenv("NTAMSA_KEY_PASSPHRASE_FD", num, 1);
	p = keys_passphrase_get();
	assert_string_equal(p, "from fd");
	keys_passphrase_free(p);
	close(fds[0]);
	setenv("NTAMSA_KEY_PASSPHRASE_FD", "notanumber", 1);
	assert_null(keys_passphrase_get());
	/* Set but unusable is an error, not "no passphrase". */
	char err[256];
	assert_int_equal(keys_passphrase_read(&p, err, sizeof(err)), KEYS_PASSPHRASE);
	assert_null(p);
	setenv("NTAMSA_KEY_PASSPHRASE_FD", "999", 1);	/* not open */
	assert_int_equal(keys_passphrase_read(&p, err, sizeof(err)), KEYS_PASSPHRASE);
	unsetenv("NTAMSA_KEY_PASSPHRASE_FD");
	setenv("NTAMSA_KEY_PASSPHRASE", "", 1);
	assert_int_equal(keys_passphrase_read(&p, err, sizeof(err)), KEYS_PASSPHRASE);
	unsetenv("NTAMSA_KEY_PASSPHRASE");
	assert_int_equal(keys_passphrase_read(&p, err, sizeof(err)), KEYS_OK);
	assert_null(p);
}

/*
 * Key files are never followed through a symbolic link: whoever can plant
 * one in keys/ must not make a root-run `keys reseal` zero another file, nor
 * make the ring load a secret from outside keys/.
 */
static void
test_no_symlinks(void **state)
{
	struct kt *k = *state;
	struct keys_ring *ring = NULL;
	char sec[PATH_MAX + 64], out[PATH_MAX + 64], got[16];
	uint32_t nid = 0;
	FILE *f;

	assert_int_equal(keys_init(k->dir, NULL, k->err, sizeof(k->err)), 0);
	assert_int_equal(keys_rotate(k->dir, NULL, &nid, k->err, sizeof(k->err)), 0);
	snprintf(sec, sizeof(sec), "%s/keys/store-1.sec", k->dir);
	snprintf(out, sizeof(out), "%s/outside.sec", k->dir);
	/* The real secret moved out, a link in its place. */
	assert_int_equal(rename(sec, out), 0);
	assert_int_equal(symlink(out, sec), 0);
	if (keys_load_ring(k->dir, NULL, &ring, k->err, sizeof(k->err)) == KEYS_OK) {
		keys_ring_free(ring);
		fail_msg("ring loaded a secret through a symlink: got ok, want an error");
	}
	/* A link to a file that is not ours: retiring must leave it alone. */
	assert_int_equal(unlink(out), 0);
	assert_non_null(f = fopen(out, "w"));
	assert_int_equal(fputs("precious", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	(void)keys_retire(k->dir, 1, k->err, sizeof(k->err));
	assert_non_null(f = fopen(out, "r"));
	memset(got, 0, sizeof(got));
	assert_int_equal(fread(got, 1, sizeof(got) - 1, f), 8);
	assert_int_equal(fclose(f), 0);
	if (strcmp(got, "precious") != 0)
		fail_msg("keys_retire wrote through a symlink: target changed");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_files), T(test_no_keys), T(test_seal_open), T(test_passphrase),
		T(test_passphrase_file_not_plain), T(test_rotate_retire),
		T(test_rotate_adds_passphrase), T(test_passphrase_sources), T(test_no_symlinks),
		T(test_modes_owner_only), T(test_modes_group_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
