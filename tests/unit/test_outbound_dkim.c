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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_canon_random),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
