/* smtpd_tls.c - the server TLS context: NCSC "goed" only (spec section 7). */
#include "msa/smtpd_int.h"
#include "msa/smtpd.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TLS 1.2: ECDHE with AEAD only, strongest first; the server's order wins. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define TLS13_SUITES \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define TLS_GROUPS "X25519:P-256:X448:P-384"
#define TLS_RSA_MIN_BITS 3072		/* spec section 7: our own keys */

/*
 * TLS 1.2 session tickets are off: a ticket carries the session's master
 * secret under one key that lives as long as the context, so whoever
 * later reads that key from memory decrypts every recorded session that
 * was resumed, or issued a ticket, since the last SIGHUP.  Resumption
 * uses the server's session cache instead (TLS 1.3 then sends stateful
 * tickets: an id into the same cache), whose entries expire after
 * TLS_SESSION_TIMEOUT.
 */
#define TLS_SESSION_TIMEOUT 300		/* seconds a cached session is resumable */
#define TLS_SESSION_CACHE 4096		/* sessions; the oldest go first */

static void
ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	char e[256];
	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, errlen, "%s%s%s: %s", what, path ? " " : "", path ? path : "", e);
	ERR_clear_error();
}

/*
 * Our own certificate's key must be ECDSA on a curve of the spec's groups
 * or RSA of at least 3072 bits (spec section 7, NCSC "goed").  Peers'
 * keys are not judged here.  0 or -1 with why in err.
 */
static int
check_own_key(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	EVP_PKEY *pk = SSL_CTX_get0_privatekey(ctx);
	char curve[64] = "";
	size_t len = 0;

	if (pk == NULL) {
		snprintf(err, errlen, "no private key in %s", path);
		return -1;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (EVP_PKEY_get_bits(pk) >= TLS_RSA_MIN_BITS)
			return 0;
		snprintf(err, errlen, "%s: RSA key of %d bits: at least %d required (NCSC \"goed\")",
		    path, EVP_PKEY_get_bits(pk), TLS_RSA_MIN_BITS);
		return -1;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, curve,
		    sizeof(curve), &len) == 1 &&
		    (!strcmp(curve, "prime256v1") || !strcmp(curve, "secp384r1")))
			return 0;
		snprintf(err, errlen, "%s: ECDSA key on curve %s: P-256 or P-384 required",
		    path, curve[0] ? curve : "(unnamed)");
		return -1;
	}
	snprintf(err, errlen, "%s: %s key: ECDSA (P-256, P-384) or RSA (>= %d bits) required",
	    path, EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "unknown",
	    TLS_RSA_MIN_BITS);
	return -1;
}

/* Resumption from the session cache only; see TLS_SESSION_TIMEOUT. */
static void
set_sessions(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	(void)SSL_CTX_set_timeout(ctx, TLS_SESSION_TIMEOUT);
	(void)SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE);
}

SSL_CTX *
smtp_tls_ctx_new(const struct config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	char *cert = config_path(c, c->tls_cert), *key = config_path(c, c->tls_key);
	const char *fail = NULL, *path = NULL;

	if (cert == NULL || key == NULL)
		fail = "out of memory";
	else if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		fail = "min protocol";
	else if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS))
		fail = "cipher list";
	else if (!SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES))
		fail = "TLS 1.3 suites";
	else if (!SSL_CTX_set1_groups_list(ctx, TLS_GROUPS))
		fail = "groups";
	else if (!SSL_CTX_set_max_early_data(ctx, 0))
		fail = "early data";
	else if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		fail = "cannot load certificate chain", path = cert;
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		fail = "cannot load private key", path = key;
	else if (SSL_CTX_check_private_key(ctx) != 1)
		fail = "certificate and key do not match", path = key;
	if (fail != NULL)
		ssl_err(err, errlen, fail, path);
	else if (check_own_key(ctx, key, err, errlen) != 0)
		fail = "weak key";
	free(cert);
	free(key);
	if (fail != NULL) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	set_sessions(ctx);
	/*
	 * No compression (CRIME), no renegotiation, our cipher order.  Received
	 * plaintext (message text, AUTH credentials) is wiped from OpenSSL's
	 * record buffer once it is handed to us (SSL_OP_CLEANSE_PLAINTEXT).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_CLEANSE_PLAINTEXT);
	/* Idle sessions hold no 16 KB read/write buffers (1000 idle sessions). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	static const unsigned char sid_ctx[] = "ntamsa-smtpd";
	if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1)) {
		ssl_err(err, errlen, "session id context", NULL);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
smtpd_tls_check(const struct config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = smtp_tls_ctx_new(c, err, errlen);

	if (ctx == NULL)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}
