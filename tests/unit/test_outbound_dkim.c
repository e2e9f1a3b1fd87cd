/*
 * test_outbound_dkim.c - the streaming body canonicalization against a
 * one-shot reference (RFC 6376 3.4.3) over random bodies and random piece
 * sizes, plus key loading and error paths.  Signature validity itself is
 * checked by independent verifiers in tests/integration/t_dkim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/config.h"
#include "outbound/dkim.h"

static char dir[] = "/tmp/ntamsa-dkim-unit.XXXXXX";
static char key_rsa[256], key_ed[256], key_weak[256];
static struct out_dkim *keys;
static struct config cfg;

static const char hdr[] = "From: a@zorg.example\r\nTo: b@x.example\r\n\r\n";

static int
setup(void **state)
{
	char txt[8192], err[256], line[512];
	EVP_PKEY *weak;
	FILE *f;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(key_rsa, sizeof(key_rsa), "%s/rsa.pem", dir);
	snprintf(key_ed, sizeof(key_ed), "%s/ed.pem", dir);
	snprintf(key_weak, sizeof(key_weak), "%s/weak.pem", dir);
	if (out_dkim_keygen("zorg.example", "s1", 2048, key_rsa, txt, sizeof(txt), err,
	    sizeof(err)) != 0 ||
	    out_dkim_keygen_type("zorg.example", "e1", "ed25519", 0, key_ed, txt,
	    sizeof(txt), err, sizeof(err)) != 0)
		return -1;
	/* A 1024-bit key, as an operator might still have one. */
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	if (weak == NULL || (f = fopen(key_weak, "w")) == NULL)
		return -1;
	PEM_write_PrivateKey(f, weak, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	EVP_PKEY_free(weak);
	if (chmod(key_weak, 0600) != 0)		/* else refused for its mode, not its size */
		return -1;
	snprintf(line, sizeof(line), "zorg.example s1 %s", key_rsa);
	if (config_defaults(&cfg) != 0 ||
	    config_set(&cfg, "dkim", "domain", line, err, sizeof(err)) != 0 ||
	    out_dkim_load(&cfg, &keys, err, sizeof(err)) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	out_dkim_free(keys);
	config_free(&cfg);
	unlink(key_rsa);
	unlink(key_ed);
	unlink(key_weak);
	rmdir(dir);
	return 0;
}

/* RFC 6376 3.4.3 in one shot: drop trailing CRLFs, end with one CRLF. */
static void
ref_bh(const char *b, size_t n, char *out64)
{
	unsigned char h[32];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int hl;

	while (n >= 2 && b[n - 2] == '\r' && b[n - 1] == '\n')
		n -= 2;
	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(md, b, n), 1);
	assert_int_equal(EVP_DigestUpdate(md, "\r\n", 2), 1);
	assert_int_equal(EVP_DigestFinal_ex(md, h, &hl), 1);
	EVP_MD_CTX_free(md);
	EVP_EncodeBlock((unsigned char *)out64, h, 32);
}

/* The bh= value of the first signature in sig. */
static void
got_bh(const char *sig, size_t n, char *out64)
{
	char tmp[OUT_DKIM_SIG_MAX + 1], *p, *e;

	memcpy(tmp, sig, n);
	tmp[n] = '\0';
	p = strstr(tmp, "bh=");
	assert_non_null(p);
	p += 3;
	e = strchr(p, ';');
	assert_non_null(e);
	*e = '\0';
	strcpy(out64, p);
}

static void
test_body_canon_random(void **state)
{
	static const char alphabet[] = "ab \t\r\n\r\n\r\n";
	char body[600], sig[OUT_DKIM_SIG_MAX], want[64], got[64];
	unsigned int seed = 7516;
	int round;

	(void)state;
	for (round = 0; round < 400; round++) {
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(body)), i, off, sl;
		struct out_dkim_sig *s;

		if (round % 7 == 0)
			n = (size_t)(rand_r(&seed) % 8);	/* tiny and empty bodies */
		for (i = 0; i < n; i++)
			body[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		assert_int_equal(out_dkim_begin(keys, hdr, sizeof(hdr) - 1, &s), OUT_DKIM_OK);
		for (off = 0; off < n;) {
			size_t k = 1 + (size_t)(rand_r(&seed) % 40);

			if (k > n - off)
				k = n - off;
			assert_int_equal(out_dkim_body(s, body + off, k), OUT_DKIM_OK);
			off += k;
		}
		assert_int_equal(out_dkim_end(s, 1, sig, sizeof(sig), &sl), OUT_DKIM_OK);
		ref_bh(body, n, want);
		got_bh(sig, sl, got);
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "round %d (len %zu): got bh=%s, want %s\n", round, n,
			    got, want);
			fail();
		}
	}
}

static void
test_errors(void **state)
{
	struct out_dkim_sig *s;
	struct out_dkim *k;
	struct config c;
	char err[256], line[512], sig[64];
	size_t sl;

	(void)state;
	/* No From: -> error; another domain and no default -> no key. */
	assert_int_equal(out_dkim_begin(keys, "To: b@x\r\n\r\n", 11, &s), OUT_DKIM_ERR);
	assert_int_equal(out_dkim_begin(keys, "From: a@other.example\r\n\r\n", 25, &s),
	    OUT_DKIM_NOKEY);
	/* Output too small. */
	assert_int_equal(out_dkim_begin(keys, hdr, sizeof(hdr) - 1, &s), OUT_DKIM_OK);
	assert_int_equal(out_dkim_end(s, 1, sig, sizeof(sig), &sl), OUT_DKIM_SPACE);

	assert_int_equal(config_defaults(&c), 0);
	snprintf(line, sizeof(line), "zorg.example weak %s", key_weak);
	assert_int_equal(config_set(&c, "dkim", "domain", line, err, sizeof(err)), 0);
	assert_int_equal(out_dkim_load(&c, &k, err, sizeof(err)), OUT_DKIM_WEAK);
	assert_null(k);
	config_free(&c);

	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_set(&c, "dkim", "domain", "zorg.example onlytwo", err,
	    sizeof(err)), 0);
	assert_int_equal(out_dkim_load(&c, &k, err, sizeof(err)), OUT_DKIM_ERR);
	assert_non_null(strstr(err, "DOMAIN SELECTOR KEYFILE"));
	config_free(&c);

	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_set(&c, "dkim", "key", key_rsa, err, sizeof(err)), 0);
	assert_int_equal(out_dkim_load(&c, &k, err, sizeof(err)), OUT_DKIM_ERR);
	assert_non_null(strstr(err, "dkim.selector"));
	config_free(&c);

	assert_int_equal(config_defaults(&c), 0);
	snprintf(line, sizeof(line), "zorg.example s1 %s/missing.pem", dir);
	assert_int_equal(config_set(&c, "dkim", "domain", line, err, sizeof(err)), 0);
	assert_int_equal(out_dkim_load(&c, &k, err, sizeof(err)), OUT_DKIM_ERR);
	assert_non_null(strstr(err, "missing.pem"));
	config_free(&c);

	/* An Ed25519 default key alone is refused: rsa-sha256 is required. */
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_set(&c, "dkim", "key", key_ed, err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "dkim", "selector", "e1", err, sizeof(err)), 0);
	assert_int_equal(out_dkim_load(&c, &k, err, sizeof(err)), OUT_DKIM_WEAK);
	config_free(&c);

	/* keygen refuses weak sizes, bad names and existing files. */
	assert_int_equal(out_dkim_keygen("zorg.example", "s", 1024, "/nonexistent/x", sig,
	    sizeof(sig), err, sizeof(err)), OUT_DKIM_WEAK);
	assert_int_equal(out_dkim_keygen("zorg..example;", "s", 2048, "/nonexistent/x",
	    sig, sizeof(sig), err, sizeof(err)), OUT_DKIM_ERR);
	{
		char txt[8192];

		assert_int_equal(out_dkim_keygen("zorg.example", "s", 2048, key_rsa, txt,
		    sizeof(txt), err, sizeof(err)), OUT_DKIM_ERR);
	}
}

/* A copy of the RSA key at dir/name with mode, followed by pad newlines. */
static void
copy_key(const char *name, mode_t mode, size_t pad, char *path, size_t cap)
{
	char buf[8192];
	FILE *in = fopen(key_rsa, "r");
	size_t n;
	int fd;

	snprintf(path, cap, "%s/%s", dir, name);
	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	assert_true(n > 0 && n < sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	memset(buf, '\n', sizeof(buf));
	for (size_t left = pad; left > 0;) {
		size_t w = left < sizeof(buf) ? left : sizeof(buf);
		assert_int_equal(write(fd, buf, w), (ssize_t)w);
		left -= w;
	}
	assert_int_equal(fchmod(fd, mode), 0);	/* not subject to the umask */
	assert_int_equal(close(fd), 0);
}

/* out_dkim_load with one dkim.domain line for path; *k NULL unless OK. */
static int
load_path(const char *path, struct out_dkim **k, char *err, size_t errlen)
{
	struct config c;
	char line[512];
	int rc;

	err[0] = '\0';
	snprintf(line, sizeof(line), "zorg.example s1 %s", path);
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_set(&c, "dkim", "domain", line, err, errlen), 0);
	rc = out_dkim_load(&c, k, err, errlen);
	config_free(&c);
	return rc;
}

/* Group- or world-accessible keys are refused, naming the path and the mode. */
static void
test_key_mode(void **state)
{
	static const struct { mode_t mode; const char *want; } rows[] = {
		{0640, "mode 0640"}, {0604, "mode 0604"}, {0644, "mode 0644"},
		{0620, "mode 0620"}, {0400, NULL}, {0600, NULL},
	};
	char path[512], err[512];
	struct out_dkim *k;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		copy_key("mode.pem", rows[i].mode, 0, path, sizeof(path));
		if (rows[i].want == NULL) {
			assert_int_equal(load_path(path, &k, err, sizeof(err)), OUT_DKIM_OK);
			out_dkim_free(k);
		} else {
			assert_int_equal(load_path(path, &k, err, sizeof(err)), OUT_DKIM_ERR);
			assert_null(k);
			assert_non_null(strstr(err, path));
			assert_non_null(strstr(err, rows[i].want));
			assert_non_null(strstr(err, "chmod 600"));
		}
		assert_int_equal(unlink(path), 0);
	}
}

/* A symbolic link to a good key is refused (O_NOFOLLOW), and so is a FIFO (without hanging). */
static void
test_key_not_regular(void **state)
{
	char path[512], err[512];
	struct out_dkim *k;

	(void)state;
	snprintf(path, sizeof(path), "%s/link.pem", dir);
	assert_int_equal(symlink(key_rsa, path), 0);
	assert_int_equal(load_path(path, &k, err, sizeof(err)), OUT_DKIM_ERR);
	assert_null(k);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(unlink(path), 0);

	snprintf(path, sizeof(path), "%s/fifo.pem", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(load_path(path, &k, err, sizeof(err)), OUT_DKIM_ERR);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(unlink(path), 0);
}

/* Over 64 KiB is refused before it is read; just under still loads. */
static void
test_key_size(void **state)
{
	char path[512], err[512];
	struct out_dkim *k;
	struct stat st;

	(void)state;
	assert_int_equal(stat(key_rsa, &st), 0);
	copy_key("big.pem", 0600, 64 * 1024 - (size_t)st.st_size + 1, path, sizeof(path));
	assert_int_equal(load_path(path, &k, err, sizeof(err)), OUT_DKIM_ERR);
	assert_null(k);
	assert_non_null(strstr(err, "size 65537"));
	assert_int_equal(unlink(path), 0);

	copy_key("big.pem", 0600, 64 * 1024 - (size_t)st.st_size, path, sizeof(path));
	assert_int_equal(load_path(path, &k, err, sizeof(err)), OUT_DKIM_OK);
	out_dkim_free(k);
	assert_int_equal(unlink(path), 0);
}

/* A key loaded through the new path (keygen's 0600 file) still signs. */
static void
test_key_good_signs(void **state)
{
	static const char body[] = "Hallo.\r\n";
	char err[512], sig[OUT_DKIM_SIG_MAX];
	struct out_dkim_sig *s;
	struct out_dkim *k;
	struct stat st;
	size_t sl;

	(void)state;
	assert_int_equal(stat(key_rsa, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);	/* as out_dkim_keygen wrote it */
	assert_int_equal(stat(key_ed, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(load_path(key_rsa, &k, err, sizeof(err)), OUT_DKIM_OK);
	assert_int_equal(out_dkim_begin(k, hdr, sizeof(hdr) - 1, &s), OUT_DKIM_OK);
	assert_int_equal(out_dkim_body(s, body, sizeof(body) - 1), OUT_DKIM_OK);
	assert_int_equal(out_dkim_end(s, 1700000000, sig, sizeof(sig), &sl), OUT_DKIM_OK);
	assert_true(sl > 0 && sl < sizeof(sig));
	sig[sl] = '\0';
	assert_non_null(strstr(sig, "DKIM-Signature:"));
	assert_non_null(strstr(sig, "a=rsa-sha256"));
	assert_non_null(strstr(sig, "d=zorg.example"));
	out_dkim_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_canon_random),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_key_mode),
		cmocka_unit_test(test_key_not_regular),
		cmocka_unit_test(test_key_size),
		cmocka_unit_test(test_key_good_signs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
