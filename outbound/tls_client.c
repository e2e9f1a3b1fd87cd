/*
 * tls_client.c - client TLS for outbound SMTP: contexts per channel profile,
 * DANE (RFC 7672) with OpenSSL's native API, PKIX with host name checks
 * (Bijlage C) and the OU marker (Bijlage B).
 */
#include "outbound/tls_client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OU_MAX 64

struct smtpc_tls {
	SSL_CTX *regular;	/* opportunistic, NCSC "voldoende" allowed */
	SSL_CTX *nta_c;		/* §7 "goed", trust = outbound.ca_file (DANE, Bijlage C) */
	SSL_CTX *nta_b;		/* §7 "goed", trust = Bijlage B CA */
	size_t n_ou;
	char *ou[OU_MAX];
};

/* NCSC TLS guidelines 2.0, "goed" only (spec §7). */
static const char NTA_CIPHERS12[] =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
static const char NTA_SUITES13[] =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
static const char NTA_GROUPS[] = "X25519:P-256:X448:P-384";

static void
ssl_reason(char *why, size_t whylen, const char *what)
{
	char e[160] = "";
	unsigned long code = ERR_peek_last_error();

	if (code != 0)
		ERR_error_string_n(code, e, sizeof(e));
	ERR_clear_error();
	snprintf(why, whylen, "%s%s%s", what, e[0] ? ": " : "", e);
}

static int
ctx_trust(SSL_CTX *ctx, const char *ca_file)
{
	if (ca_file != NULL && ca_file[0] != '\0')
		return SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1 ? 0 : -1;
	return SSL_CTX_set_default_verify_paths(ctx) == 1 ? 0 : -1;
}

/* The §7 profile: TLS 1.2/1.3, "goed" suites and groups only. */
static int
ctx_nta_profile(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, NTA_CIPHERS12) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, NTA_SUITES13) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, NTA_GROUPS) != 1)
		return -1;
	return 0;
}

static SSL_CTX *
ctx_new(int nta, const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		ssl_reason(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	/* No compression (CRIME), no renegotiation (spec §7). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (nta && ctx_nta_profile(ctx) != 0) {
		ssl_reason(err, errlen, "TLS profile");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (ctx_trust(ctx, ca_file) != 0) {
		ssl_reason(err, errlen, "loading the CA file");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Must precede SSL_dane_enable on any SSL of this context. */
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		ssl_reason(err, errlen, "SSL_CTX_dane_enable");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
smtpc_tls_new(const struct smtpc_tls_conf *tc, struct smtpc_tls **out,
    char *err, size_t errlen)
{
	struct smtpc_tls *t = calloc(1, sizeof(*t));
	const char *bca;

	*out = NULL;
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return SMTPC_INTERNAL;
	}
	bca = (tc->bijlage_b_ca_file != NULL && tc->bijlage_b_ca_file[0]) ?
	    tc->bijlage_b_ca_file : tc->ca_file;
	if ((t->regular = ctx_new(0, tc->ca_file, err, errlen)) == NULL ||
	    (t->nta_c = ctx_new(1, tc->ca_file, err, errlen)) == NULL ||
	    (t->nta_b = ctx_new(1, bca, err, errlen)) == NULL)
		goto fail;
	for (size_t i = 0; i < tc->n_ou_markers && i < OU_MAX; i++) {
		if ((t->ou[i] = strdup(tc->ou_markers[i])) == NULL)
			goto fail;
		t->n_ou++;
	}
	*out = t;
	return SMTPC_OK;
fail:
	smtpc_tls_free(t);
	return SMTPC_INTERNAL;
}

void
smtpc_tls_free(struct smtpc_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->regular);
	SSL_CTX_free(t->nta_c);
	SSL_CTX_free(t->nta_b);
	for (size_t i = 0; i < t->n_ou; i++)
		free(t->ou[i]);
	free(t);
}

int
smtpc_sha256_hex(const uint8_t *der, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

static void
cert_digest(X509 *x, char out[65])
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0 || smtpc_sha256_hex(der, (size_t)n, out) != 0)
		out[0] = '\0';
	OPENSSL_free(der);
}

/*
 * Called by OpenSSL for each certificate.  We note the leaf's digest (so a
 * failed peer is identified in the attempt record) and that verification
 * was reached.  The verdict is kept, with one exception: for Bijlage C a
 * host name mismatch is noted and verification goes on, because OpenSSL
 * checks the name before signatures and validity dates, so stopping there
 * would leave unknown whether the chain itself was valid (pkix-failed vs
 * hostname-mismatch).  judge() still refuses such a session, and nothing
 * is sent on it.
 */
static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct smtpc_facts *f = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);

	if (f == NULL)
		return ok;
	f->cert_checked = 1;
	if (f->peer_sha256[0] == '\0' && leaf != NULL)
		cert_digest(leaf, f->peer_sha256);
	if (!ok && f->auth == SMTPC_AUTH_PKIX &&
	    X509_STORE_CTX_get_error(xs) == X509_V_ERR_HOSTNAME_MISMATCH) {
		f->host_ok = 0;
		return 1;
	}
	return ok;
}

/* Usages 2 and 3 only (RFC 7672 §3.1.3); returns how many OpenSSL took. */
static int
dane_setup(SSL *s, const struct smtpc_params *p)
{
	const char *base = p->tlsa_base ? p->tlsa_base : p->host;
	int added = 0;

	if (SSL_dane_enable(s, base) <= 0)
		return -1;
	/* DANE-TA: the MX host name is a reference identifier too (§3.2.2). */
	if (strcasecmp(base, p->host) != 0 && SSL_add1_host(s, p->host) != 1)
		return -1;
	SSL_dane_set_flags(s, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < p->n_tlsa; i++) {
		const struct smtpc_tlsa *r = &p->tlsa[i];

		if (r->usage != 2 && r->usage != 3)
			continue;
		if (SSL_dane_tlsa_add(s, r->usage, r->selector, r->mtype,
		    r->data, r->len) > 0)
			added++;
	}
	ERR_clear_error();	/* unusable records leave errors behind */
	return added;
}

static int
ssl_prepare(struct smtpc_tls *t, const struct smtpc_params *p, SSL *s,
    struct smtpc_facts *f, char *why, size_t whylen)
{
	/* RFC 7672 §8.1: with DANE the SNI name is the TLSA base domain. */
	const char *sni = p->auth == SMTPC_AUTH_DANE && p->tlsa_base ? p->tlsa_base : p->host;

	SSL_set_app_data(s, f);
	f->auth = (int)p->auth;
	if (SSL_set_tlsext_host_name(s, sni) != 1) {
		ssl_reason(why, whylen, "SNI");
		return SMTPC_INTERNAL;
	}
	switch (p->auth) {
	case SMTPC_AUTH_DANE:
		f->tlsa_added = dane_setup(s, p);
		if (f->tlsa_added <= 0) {
			/* Without an added record OpenSSL's DANE is silently off. */
			snprintf(why, whylen, "no usable TLSA record (DANE off)");
			snprintf(f->result, sizeof(f->result), "failed:no-usable-tlsa");
			return SMTPC_CHANNEL;
		}
		SSL_set_verify(s, SSL_VERIFY_PEER, verify_cb);
		return SMTPC_OK;
	case SMTPC_AUTH_PKIX:
		/* Bijlage C: chain and host name, no partial wildcards. */
		SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(s, p->host) != 1) {
			ssl_reason(why, whylen, "host name");
			return SMTPC_INTERNAL;
		}
		SSL_set_verify(s, SSL_VERIFY_PEER, verify_cb);
		return SMTPC_OK;
	case SMTPC_AUTH_PKIX_OU:
		/* Bijlage B (spec §2, R-FLOW-4): X.509 chain + OU marker; the
		 * host name is not part of it. */
		SSL_set_verify(s, SSL_VERIFY_PEER, verify_cb);
		return SMTPC_OK;
	default:
		(void)t;
		SSL_set_verify(s, SSL_VERIFY_NONE, verify_cb);
		return SMTPC_OK;
	}
}

/* Bijlage B: an OU of the leaf's subject exactly equal to a marker. */
static int
ou_match(const struct smtpc_tls *t, X509 *leaf)
{
	X509_NAME *nm = leaf ? X509_get_subject_name(leaf) : NULL;
	int i = -1;

	if (nm == NULL)
		return 0;
	while ((i = X509_NAME_get_index_by_NID(nm, NID_organizationalUnitName, i)) >= 0) {
		ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
		unsigned char *u = NULL;
		int n = ASN1_STRING_to_UTF8(&u, v);

		for (size_t k = 0; n >= 0 && k < t->n_ou; k++) {
			if (strlen(t->ou[k]) == (size_t)n && memcmp(t->ou[k], u, (size_t)n) == 0) {
				OPENSSL_free(u);
				return 1;
			}
		}
		OPENSSL_free(u);
	}
	return 0;
}

static void
record_session(SSL *s, struct smtpc_facts *f)
{
	X509 *leaf = SSL_get0_peer_certificate(s);
	long vr = SSL_get_verify_result(s);

	f->tls = 1;
	snprintf(f->tls_version, sizeof(f->tls_version), "%s", SSL_get_version(s));
	f->tls_version_num = SSL_version(s);
	snprintf(f->cipher, sizeof(f->cipher), "%s", SSL_get_cipher_name(s));
	if (leaf != NULL)
		cert_digest(leaf, f->peer_sha256);
	f->verify_code = vr;
	snprintf(f->verify_text, sizeof(f->verify_text), "%s",
	    X509_verify_cert_error_string(vr));
	/* verify_cb let only a Bijlage C name mismatch through: then the rest
	 * of the chain verified. */
	f->chain_ok = vr == X509_V_OK || (vr == X509_V_ERR_HOSTNAME_MISMATCH && f->host_ok == 0);
	if (f->auth == SMTPC_AUTH_PKIX && f->host_ok != 0)
		f->host_ok = vr == X509_V_OK;
}

/* After a completed handshake: was the required authentication met? */
static int
judge(struct smtpc_tls *t, const struct smtpc_params *p, SSL *s,
    struct smtpc_facts *f, char *why, size_t whylen)
{
	uint8_t usage = 0;

	f->dane_authority = SSL_get0_dane_authority(s, NULL, NULL);
	if (SSL_get0_dane_tlsa(s, &usage, NULL, NULL, NULL, NULL) >= 0)
		f->dane_usage = usage;
	switch (p->auth) {
	case SMTPC_AUTH_DANE:
		f->verified = f->tlsa_added > 0 && f->verify_code == X509_V_OK &&
		    f->dane_authority >= 0;
		snprintf(f->result, sizeof(f->result), "%s",
		    !f->verified ? "failed:dane" : f->dane_usage == 3 ? "dane-ee" : "dane-ta");
		break;
	case SMTPC_AUTH_PKIX:
		f->verified = f->verify_code == X509_V_OK && f->chain_ok && f->host_ok == 1;
		snprintf(f->result, sizeof(f->result), "%s", f->verified ? "pkix" :
		    f->chain_ok ? "failed:hostname" : "failed:pkix");
		break;
	case SMTPC_AUTH_PKIX_OU:
		f->ou_ok = ou_match(t, SSL_get0_peer_certificate(s));
		f->verified = f->verify_code == X509_V_OK && f->chain_ok && f->ou_ok == 1;
		snprintf(f->result, sizeof(f->result), "%s",
		    f->verify_code != X509_V_OK ? "failed:pkix" :
		    f->ou_ok ? "pkix+ou" : "failed:ou");
		break;
	default:
		f->verified = 1;
		snprintf(f->result, sizeof(f->result), "none");
		return SMTPC_OK;
	}
	if (!f->verified) {
		snprintf(why, whylen, "peer not authenticated (%s, %s)", f->result,
		    f->verify_text);
		return SMTPC_CHANNEL;
	}
	return SMTPC_OK;
}

static SSL_CTX *
pick_ctx(struct smtpc_tls *t, const struct smtpc_params *p)
{
	if (p->auth == SMTPC_AUTH_PKIX_OU)
		return t->nta_b;
	return p->nta ? t->nta_c : t->regular;
}

int
tlsc_handshake(struct smtpc_tls *t, const struct smtpc_params *p, int fd,
    SSL **out, struct smtpc_facts *f, char *why, size_t whylen)
{
	SSL *s = SSL_new(pick_ctx(t, p));
	int rc;

	*out = NULL;
	if (s == NULL || SSL_set_fd(s, fd) != 1) {
		ssl_reason(why, whylen, "SSL_new");
		SSL_free(s);
		return SMTPC_INTERNAL;
	}
	if ((rc = ssl_prepare(t, p, s, f, why, whylen)) != SMTPC_OK) {
		SSL_free(s);
		return rc;
	}
	if (SSL_connect(s) != 1) {
		long vr = SSL_get_verify_result(s);

		f->verify_code = vr;
		snprintf(f->verify_text, sizeof(f->verify_text), "%s",
		    X509_verify_cert_error_string(vr));
		/*
		 * OpenSSL aborts the handshake when verification fails; keep that
		 * apart from a handshake that failed for other reasons, so the
		 * policy sees a DANE mismatch / PKIX failure and not "no TLS".
		 */
		f->verify_failed = f->cert_checked && vr != X509_V_OK;
		if (f->verify_failed) {
			f->tls_version_num = SSL_version(s);
			snprintf(f->tls_version, sizeof(f->tls_version), "%s", SSL_get_version(s));
		}
		snprintf(f->result, sizeof(f->result), "failed:%s",
		    f->verify_failed ? "verify" : "handshake");
		ssl_reason(why, whylen, "TLS handshake failed");
		SSL_free(s);
		return SMTPC_CHANNEL;
	}
	record_session(s, f);
	if ((rc = judge(t, p, s, f, why, whylen)) != SMTPC_OK) {
		SSL_shutdown(s);
		SSL_free(s);
		return rc;
	}
	*out = s;
	return SMTPC_OK;
}
