/*
 * devdefault.c - the development default that `make run` starts from.
 *
 * On first use without -c, ntamsa creates ./var with: ntamsa.conf, the
 * store key pair (unsealed: this is a developer's machine, not production),
 * a self-signed ECDSA P-256 certificate for localhost, and one demo account
 * whose random password is printed once and stored only as an Argon2id hash.
 * Ports are 587/465 when run as root, 2587/2465 otherwise (binding below
 * 1024 needs root).
 */
#include "msa/cmd.h"

#include "keys/keys.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#define DEMO_ACCOUNT "demo@ntamsa.test"

/* dir + "/" + name into out; -1 when it does not fit. */
static int
join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
write_conf(const char *path, char *err, size_t errlen)
{
	int root = geteuid() == 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f,
	    "# ntamsa development default, created by the first run.\n"
	    "# Paths are relative to this file's directory.\n"
	    "[server]\n"
	    "hostname = localhost\n"
	    "data_dir = .\n"
	    "submission = 127.0.0.1:%d\n"
	    "submissions = 127.0.0.1:%d\n"
	    "tls_cert = tls/cert.pem\n"
	    "tls_key = tls/key.pem\n"
	    "\n[nta]\n"
	    "provider_id = ntamsa-dev\n"
	    "portal_after = 4h\n"
	    "\n[portal]\n"
	    "listen = 127.0.0.1:8443\n"
	    "base_url = https://localhost:8443\n",
	    root ? 587 : 2587, root ? 465 : 2465);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A self-signed P-256 certificate for localhost, valid one year. */
static int
make_cert(X509 **out_cert, EVP_PKEY **out_key)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	int ok = 0;

	if (key == NULL || x == NULL)
		goto done;
	unsigned char serial[16];
	randombytes_buf(serial, sizeof(serial));
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
		BN_free(bn);
		goto done;
	}
	BN_free(bn);
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto done;
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1");
	if (ext == NULL)
		goto done;
	int added = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!added || !X509_sign(x, key, EVP_sha256()))
		goto done;
	ok = 1;
done:
	if (!ok) {
		X509_free(x);
		EVP_PKEY_free(key);
		return -1;
	}
	*out_cert = x;
	*out_key = key;
	return 0;
}

static int
write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	int ok = cert ? PEM_write_X509(f, cert)
	    : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static int
make_tls(const char *dir, char *err, size_t errlen)
{
	char tdir[512], cpath[600], kpath[600];
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;

	if (join(tdir, sizeof(tdir), dir, "tls") != 0 ||
	    join(cpath, sizeof(cpath), tdir, "cert.pem") != 0 ||
	    join(kpath, sizeof(kpath), tdir, "key.pem") != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (mkdir(tdir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", tdir, strerror(errno));
		return -1;
	}
	if (make_cert(&cert, &key) != 0) {
		snprintf(err, errlen, "could not create a TLS certificate");
		return -1;
	}
	int rc = 0;
	if (write_pem(kpath, 0600, NULL, key) != 0 ||
	    write_pem(cpath, 0644, cert, NULL) != 0) {
		snprintf(err, errlen, "%s: could not write the TLS key/certificate", tdir);
		rc = -1;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* Random password of 20 characters from an unambiguous alphabet. */
static void
random_password(char *out, size_t len)
{
	static const char alpha[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	for (size_t i = 0; i + 1 < len; i++)
		out[i] = alpha[randombytes_uniform(sizeof(alpha) - 1)];
	out[len - 1] = '\0';
}

static int
make_demo_account(const char *dir, char *err, size_t errlen)
{
	struct store *s = NULL;
	struct store_account a;
	char pw[21];

	if (store_open(dir, &s, err, errlen) != STORE_OK)
		return -1;
	memset(&a, 0, sizeof(a));
	snprintf(a.address, sizeof(a.address), "%s", DEMO_ACCOUNT);
	snprintf(a.allow_from[0], sizeof(a.allow_from[0]), "*@ntamsa.test");
	a.n_allow_from = 1;
	a.rate_per_hour = 100;
	a.created = time(NULL);
	random_password(pw, sizeof(pw));
	int rc = -1;
	if (crypto_pwhash_str(a.pwhash, pw, strlen(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, errlen, "password hashing failed (out of memory?)");
	} else if (store_account_put(s, &a) != STORE_OK) {
		snprintf(err, errlen, "could not store the demo account");
	} else {
		printf("ntamsa: development default created in %s\n"
		    "ntamsa: demo account %s, password %s (shown once)\n",
		    dir, DEMO_ACCOUNT, pw);
		/* Shown now, not when serve exits and stdio flushes a pipe. */
		if (fflush(stdout) != 0)
			snprintf(err, errlen, "could not print the demo password");
		else
			rc = 0;
	}
	sodium_memzero(pw, sizeof(pw));
	store_close(s);
	return rc;
}

int
devdefault_ensure(const char *conf_path, char *err, size_t errlen)
{
	char dir[512];
	const char *slash = strrchr(conf_path, '/');

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	if (slash == NULL || (size_t)(slash - conf_path) >= sizeof(dir)) {
		snprintf(err, errlen, "%s: bad path for the development default", conf_path);
		return -1;
	}
	memcpy(dir, conf_path, (size_t)(slash - conf_path));
	dir[slash - conf_path] = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	/* The config is written last, so a failed first run is retried whole. */
	if (access(conf_path, F_OK) == 0)
		return 0;
	struct stat st;
	char kdir[600], tmp[600];
	if (join(kdir, sizeof(kdir), dir, "keys") != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.new", conf_path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (stat(kdir, &st) != 0 && keys_init(dir, NULL, err, errlen) != KEYS_OK)
		return -1;
	if (join(kdir, sizeof(kdir), dir, "tls/key.pem") != 0)
		return -1;
	if (stat(kdir, &st) != 0 && make_tls(dir, err, errlen) != 0)
		return -1;
	if (make_demo_account(dir, err, errlen) != 0)
		return -1;
	unlink(tmp);
	if (write_conf(tmp, err, errlen) != 0)
		return -1;
	if (rename(tmp, conf_path) != 0) {
		snprintf(err, errlen, "%s: %s", conf_path, strerror(errno));
		return -1;
	}
	return 0;
}
