/* smtpd_tls.c - the server TLS context: NCSC "goed" only (spec section 7). */
#include "msa/smtpd_int.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>

/* TLS 1.2: ECDHE with AEAD only, strongest first; the server's order wins. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define TLS13_SUITES \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define TLS_GROUPS "X25519:P-256:X448:P-384"

static void
ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	char e[256];
	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, errlen, "%s%s%s: %s", what, path ? " " : "", path ? path : "", e);
	ERR_clear_error();
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
	if (fail != NULL) {
		ssl_err(err, errlen, fail, path);
		free(cert);
		free(key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	free(cert);
	free(key);
	/* No compression (CRIME), no renegotiation, our cipher order. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
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
