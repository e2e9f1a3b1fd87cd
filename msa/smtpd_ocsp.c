/*
 * smtpd_ocsp.c - OCSP stapling on 587/465 (spec section 7).
 *
 * The leaf certificate of the current TLS context names its responder
 * (authorityInfoAccess); its issuer must be in the configured chain file,
 * because the response is verified against that issuer and nothing else:
 * the CA itself or a responder it delegated to (id-kp-OCSPSigning).  One
 * thread fetches over plain HTTP (OpenSSL's own client: 10 s, 64 KiB),
 * verifies, and caches the DER with its nextUpdate.  A handshake copies
 * the cached response only while nextUpdate lies ahead, and only for the
 * context it was fetched for: a SIGHUP that installs a new certificate
 * drops the old response before the new context serves anyone.
 *
 * A hostile or broken responder can make us staple nothing, never
 * something unverified.  A revoked status is stapled: it is the truth,
 * and the operator is told at every refresh.
 */
#include "msa/smtpd_ocsp.h"

#include "common/log.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define OCSP_TIMEOUT_S 10		/* connect + request + response */
#define OCSP_MAX_RESP (64 * 1024)	/* real responses are 1-4 KiB */
#define OCSP_SKEW_S 300			/* clock difference with the responder */
#define REFRESH_MIN_S 300
#define REFRESH_MAX_S (12 * 3600)
#define RETRY_MIN_S 300
#define RETRY_MAX_S 3600

/* The current context's certificate: what the thread fetches for. */
struct ocsp_target {
	X509 *leaf;			/* NULL: nothing to fetch */
	X509 *issuer;
	char *url;
	char serial[80];		/* hex, for log lines */
};

/* A copy of the target, taken under the lock, fetched without it. */
struct ocsp_job {
	uint64_t gen;
	struct ocsp_target t;
};

/* A verified response. */
struct ocsp_result {
	unsigned char *der;
	size_t len;
	int status;			/* V_OCSP_CERTSTATUS_GOOD or _REVOKED */
	int reason;			/* revocation reason, -1 when none given */
	time_t this_update, next_update, revoked_at;
};

struct smtp_ocsp {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* CLOCK_MONOTONIC; stop or a new context */
	pthread_t thread;
	int running;
	int stop;
	const SSL_CTX *ctx;		/* compared only: the context der belongs to */
	uint64_t gen;			/* bumped by every smtp_ocsp_use_ctx */
	struct ocsp_target t;
	unsigned char *der;		/* verified response for ctx, or NULL */
	size_t der_len;
	time_t next_update;		/* wall clock: stapled only before this */
	struct timespec due;		/* monotonic: the next fetch */
	int retry;			/* seconds the next failure waits */
	int retry_min, retry_max;
};

static void
openssl_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

static void
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

static int
asn1_time(const ASN1_GENERALIZEDTIME *a, time_t *out)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

static void
mono_after(struct timespec *ts, int secs)
{
	if (clock_gettime(CLOCK_MONOTONIC, ts) != 0)
		abort();	/* cannot fail for CLOCK_MONOTONIC on Linux */
	ts->tv_sec += secs;
}

static int
mono_reached(const struct timespec *ts)
{
	struct timespec now;

	mono_after(&now, 0);
	return now.tv_sec > ts->tv_sec ||
	    (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

/* ---- the target: leaf, issuer from the chain file, responder URL ---- */

static void
target_free(struct ocsp_target *t)
{
	X509_free(t->leaf);
	X509_free(t->issuer);
	free(t->url);
	memset(t, 0, sizeof(*t));
}

static int
target_copy(struct ocsp_target *dst, const struct ocsp_target *src)
{
	memset(dst, 0, sizeof(*dst));
	if ((dst->url = strdup(src->url)) == NULL)
		return -1;
	if (X509_up_ref(src->leaf) != 1) {
		free(dst->url);
		dst->url = NULL;
		return -1;
	}
	dst->leaf = src->leaf;
	if (X509_up_ref(src->issuer) != 1) {
		target_free(dst);
		return -1;
	}
	dst->issuer = src->issuer;
	memcpy(dst->serial, src->serial, sizeof(dst->serial));
	return 0;
}

static void
serial_hex(X509 *x, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	snprintf(buf, len, "%s", hex != NULL ? hex : "unknown");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* The first http:// responder; 1 when none (logged), -1 out of memory. */
static int
responder_url(X509 *leaf, const char *serial, char **url)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
	int n = urls != NULL ? sk_OPENSSL_STRING_num(urls) : 0;
	char q[300];

	*url = NULL;
	for (int i = 0; i < n && *url == NULL; i++) {
		const char *u = sk_OPENSSL_STRING_value(urls, i);
		if (strncasecmp(u, "http://", 7) == 0 && (*url = strdup(u)) == NULL) {
			X509_email_free(urls);
			return -1;
		}
	}
	if (*url == NULL && n > 0)	/* https:// would need TLS to the CA: not done */
		log_warn("ocsp-unsupported-url", "serial=%s url=%s stapling=off", serial,
		    log_quote(q, sizeof(q), sk_OPENSSL_STRING_value(urls, 0)));
	else if (*url == NULL)
		log_info("ocsp-none", "serial=%s reason=no-responder-url", serial);
	X509_email_free(urls);
	return *url != NULL ? 0 : 1;
}

/* The leaf's issuer among the chain file's certificates (a reference). */
static X509 *
chain_issuer(SSL_CTX *ctx, X509 *leaf)
{
	STACK_OF(X509) *chain = NULL;

	if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || chain == NULL)
		return NULL;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		if (X509_check_issued(c, leaf) == X509_V_OK && X509_up_ref(c) == 1)
			return c;
	}
	return NULL;
}

/* 0 target set, 1 nothing to staple (logged), -1 out of memory. */
static int
ctx_target(SSL_CTX *ctx, struct ocsp_target *t)
{
	X509 *leaf = SSL_CTX_get0_certificate(ctx);

	memset(t, 0, sizeof(*t));
	if (leaf == NULL)
		return 1;
	serial_hex(leaf, t->serial, sizeof(t->serial));
	int rc = responder_url(leaf, t->serial, &t->url);
	if (rc != 0)
		return rc;
	if ((t->issuer = chain_issuer(ctx, leaf)) == NULL) {
		log_warn("ocsp-none", "serial=%s reason=issuer-not-in-chain", t->serial);
		target_free(t);
		return 1;
	}
	if (X509_up_ref(leaf) != 1) {
		target_free(t);
		return -1;
	}
	t->leaf = leaf;
	return 0;
}

/* ---- one fetch: request, HTTP POST, verification ---- */

static OCSP_REQUEST *
build_request(const OCSP_CERTID *id)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *cid = OCSP_CERTID_dup(id);

	if (req == NULL || cid == NULL || OCSP_request_add0_id(req, cid) == NULL) {
		OCSP_CERTID_free(cid);
		OCSP_REQUEST_free(req);
		return NULL;
	}
	/* Many responders ignore it; one that echoes it must echo ours. */
	if (OCSP_request_add1_nonce(req, NULL, -1) != 1) {
		OCSP_REQUEST_free(req);
		return NULL;
	}
	return req;
}

/* Copy a memory BIO's contents to a malloc'd buffer. */
static int
bio_copy(BIO *b, unsigned char **out, size_t *len)
{
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);

	if (n <= 0 || data == NULL || (*out = malloc((size_t)n)) == NULL)
		return -1;
	memcpy(*out, data, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* POST req to url; the raw body in *out (malloc'd).  Logs failures. */
static int
http_post(const char *url, OCSP_REQUEST *req, unsigned char **out, size_t *len)
{
	char *host = NULL, *port = NULL, *path = NULL, err[256], q[300];
	BIO *body = NULL, *resp = NULL;
	int ssl = 0, rc = -1;

	if (OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL) != 1)
		snprintf(err, sizeof(err), "bad url");
	else if ((body = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST),
	    (const ASN1_VALUE *)req)) == NULL)
		openssl_error(err, sizeof(err));
	else if ((resp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL,
	    NULL, NULL, 0, NULL, "application/ocsp-request", body,
	    "application/ocsp-response", 1, OCSP_MAX_RESP, OCSP_TIMEOUT_S, 0)) == NULL)
		openssl_error(err, sizeof(err));
	else if (bio_copy(resp, out, len) != 0)
		snprintf(err, sizeof(err), "empty or unreadable response");
	else
		rc = 0;
	if (rc != 0) {
		char qu[300];
		log_warn("ocsp-fetch-fail", "url=%s error=%s", log_quote(qu, sizeof(qu), url),
		    log_quote(q, sizeof(q), err));
	}
	BIO_free(resp);
	BIO_free(body);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return rc;
}

/*
 * Signed by the issuer itself or by a responder certificate the issuer
 * gave id-kp-OCSPSigning.  The issuer is the only trust anchor (partial
 * chain: it may be an intermediate).  OCSP_NOEXPLICIT only waives an
 * explicit "trusted for OCSP signing" mark on that anchor, which no
 * chain file carries; without OCSP_NOCHECKS OpenSSL still accepts as
 * signer only the issuer or a certificate it issued with
 * id-kp-OCSPSigning (t_smtpd_ocsp: a response signed by an unrelated CA
 * is refused).
 */
static const char *
check_signed(OCSP_BASICRESP *bs, X509 *issuer)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	const char *why = "signature";

	if (st == NULL || certs == NULL || X509_STORE_add_cert(st, issuer) != 1 ||
	    X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN) != 1 ||
	    sk_X509_push(certs, issuer) <= 0)
		why = "out-of-memory";
	else if (OCSP_basic_verify(bs, certs, st, OCSP_NOEXPLICIT) == 1)
		why = NULL;
	sk_X509_free(certs);	/* the issuer stays the caller's */
	X509_STORE_free(st);
	return why;
}

/* Our certificate's entry: good or revoked, inside its validity. */
static const char *
check_status(OCSP_BASICRESP *bs, OCSP_CERTID *id, struct ocsp_result *r)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int status = -1, reason = -1;

	if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) != 1)
		return "not-our-certificate";
	if (nextupd == NULL)
		return "no-next-update";	/* nothing would tell us when to stop */
	if (OCSP_check_validity(thisupd, nextupd, OCSP_SKEW_S, -1) != 1)
		return "outside-validity";
	if (status != V_OCSP_CERTSTATUS_GOOD && status != V_OCSP_CERTSTATUS_REVOKED)
		return "status-unknown";
	if (asn1_time(thisupd, &r->this_update) != 0 || asn1_time(nextupd, &r->next_update) != 0)
		return "bad-time";
	r->revoked_at = 0;
	if (rev != NULL && asn1_time(rev, &r->revoked_at) != 0)
		return "bad-time";
	r->status = status;
	r->reason = reason;
	return NULL;
}

static const char *
check_response(OCSP_RESPONSE *resp, OCSP_REQUEST *req, OCSP_CERTID *id,
    X509 *issuer, struct ocsp_result *r)
{
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		return "response-status";
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	if (bs == NULL)
		return "not-basic";
	const char *why = check_signed(bs, issuer);
	/* -1 (no nonce in the response) is fine; 0 is a different one. */
	if (why == NULL && OCSP_check_nonce(req, bs) == 0)
		why = "nonce-mismatch";
	if (why == NULL)
		why = check_status(bs, id, r);
	OCSP_BASICRESP_free(bs);
	return why;
}

/* Parse and check; on success r->der holds exactly the response's DER. */
static int
verify(unsigned char *der, size_t len, OCSP_REQUEST *req, OCSP_CERTID *id,
    const struct ocsp_target *t, struct ocsp_result *r)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	const char *why = resp == NULL ? "not-ocsp" : check_response(resp, req, id, t->issuer, r);
	char err[256], q[300];

	OCSP_RESPONSE_free(resp);
	if (why != NULL) {
		openssl_error(err, sizeof(err));
		log_warn("ocsp-invalid", "serial=%s reason=%s detail=%s response=discarded", t->serial,
		    why, log_quote(q, sizeof(q), err));
		return -1;
	}
	ERR_clear_error();
	r->der = der;
	r->len = (size_t)(p - der);	/* trailing bytes are not stapled */
	return 0;
}

static int
fetch_verify(const struct ocsp_target *t, struct ocsp_result *r)
{
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), t->leaf, t->issuer);
	OCSP_REQUEST *req = id != NULL ? build_request(id) : NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = -1;

	if (req == NULL) {
		ERR_clear_error();
		log_err("ocsp-fetch-fail", "serial=%s error=cannot-build-request", t->serial);
	} else if (http_post(t->url, req, &der, &len) == 0 &&
	    verify(der, len, req, id, t, r) == 0) {
		der = NULL;	/* now r's */
		rc = 0;
	}
	free(der);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(id);
	return rc;
}

/* ---- the thread and the cache ---- */

/* Wait for work; 0 with a job, -1 when stopping. */
static int
next_job(struct smtp_ocsp *o, struct ocsp_job *job)
{
	int rc = -1;

	if (pthread_mutex_lock(&o->mu) != 0)
		return -1;
	while (!o->stop) {
		if (o->t.leaf != NULL && mono_reached(&o->due)) {
			job->gen = o->gen;
			rc = target_copy(&job->t, &o->t);
			if (rc != 0)	/* out of memory: try again later */
				mono_after(&o->due, o->retry);
			else
				break;
		}
		int w = o->t.leaf != NULL ? pthread_cond_timedwait(&o->cv, &o->mu, &o->due) :
		    pthread_cond_wait(&o->cv, &o->mu);
		if (w != 0 && w != ETIMEDOUT) {
			log_err("ocsp-thread", "error=%s stapling=stopped", strerror(w));
			break;
		}
	}
	(void)pthread_mutex_unlock(&o->mu);
	return rc;
}

/* Half the remaining validity, within 5 minutes and 12 hours. */
static int
refresh_in(time_t next_update)
{
	time_t half = (next_update - time(NULL)) / 2;

	if (half < REFRESH_MIN_S)
		return REFRESH_MIN_S;
	return half > REFRESH_MAX_S ? REFRESH_MAX_S : (int)half;
}

/*
 * Cache a result for the job's context and plan the next fetch.  Returns
 * the seconds until it, or -1 when a new context came meanwhile (the
 * result belongs to the old certificate and is dropped).
 */
static int
apply(struct smtp_ocsp *o, const struct ocsp_job *job, struct ocsp_result *r, int ok)
{
	int in = -1;

	if (pthread_mutex_lock(&o->mu) != 0)
		return -1;
	if (job->gen == o->gen && !o->stop) {
		if (ok) {
			free(o->der);
			o->der = r->der;
			o->der_len = r->len;
			o->next_update = r->next_update;
			r->der = NULL;
			o->retry = o->retry_min;
			in = refresh_in(r->next_update);
		} else {
			in = o->retry;
			o->retry = o->retry * 2 > o->retry_max ? o->retry_max : o->retry * 2;
		}
		mono_after(&o->due, in);
	}
	(void)pthread_mutex_unlock(&o->mu);
	return in;
}

static void
report(const struct ocsp_job *job, const struct ocsp_result *r, int in)
{
	char tu[32], nu[32], ra[32], q[64];
	const int revoked = r->status == V_OCSP_CERTSTATUS_REVOKED;

	fmt_time(r->this_update, tu, sizeof(tu));
	fmt_time(r->next_update, nu, sizeof(nu));
	log_info("ocsp-fetched", "serial=%s status=%s this_update=%s next_update=%s refresh_in=%d",
	    job->t.serial, revoked ? "revoked" : "good", tu, nu, in);
	if (!revoked)
		return;
	fmt_time(r->revoked_at, ra, sizeof(ra));
	log_err("ocsp-revoked", "serial=%s revoked_at=%s reason=%s stapled=1", job->t.serial, ra,
	    log_quote(q, sizeof(q), r->reason >= 0 ? OCSP_crl_reason_str(r->reason) : "none"));
}

static void *
fetch_thread(void *arg)
{
	struct smtp_ocsp *o = arg;
	struct ocsp_job job;

	while (next_job(o, &job) == 0) {
		struct ocsp_result r;
		memset(&r, 0, sizeof(r));
		int ok = fetch_verify(&job.t, &r) == 0;
		int in = apply(o, &job, &r, ok);
		if (ok && in >= 0)
			report(&job, &r, in);
		else if (in >= 0)
			log_info("ocsp-retry", "serial=%s in=%d", job.t.serial, in);
		free(r.der);
		target_free(&job.t);
	}
	return NULL;
}

/* Runs in the handshake: a copy of the cached response, or no staple. */
static int
status_cb(SSL *s, void *arg)
{
	struct smtp_ocsp *o = arg;
	unsigned char *copy = NULL;
	size_t len = 0;

	if (SSL_get_tlsext_status_type(s) != TLSEXT_STATUSTYPE_ocsp)
		return SSL_TLSEXT_ERR_NOACK;
	time_t now = time(NULL);
	if (pthread_mutex_lock(&o->mu) != 0)
		return SSL_TLSEXT_ERR_NOACK;
	if (o->ctx == SSL_get_SSL_CTX(s) && o->der != NULL && now < o->next_update &&
	    (copy = OPENSSL_memdup(o->der, o->der_len)) != NULL)
		len = o->der_len;
	(void)pthread_mutex_unlock(&o->mu);
	if (copy == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	/* OpenSSL takes the copy over and frees it with the session. */
	if (SSL_set_tlsext_status_ocsp_resp(s, copy, (long)len) != 1) {
		OPENSSL_free(copy);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

int
smtp_ocsp_use_ctx(struct smtp_ocsp *o, SSL_CTX *ctx)
{
	struct ocsp_target t;

	if (o == NULL)
		return 0;
	int rc = ctx_target(ctx, &t);	/* reads ctx only: outside the lock */
	if (SSL_CTX_set_tlsext_status_cb(ctx, status_cb) != 1 ||
	    SSL_CTX_set_tlsext_status_arg(ctx, o) != 1)
		rc = -1;
	if (pthread_mutex_lock(&o->mu) != 0) {
		target_free(&t);
		return -1;
	}
	o->ctx = ctx;
	o->gen++;
	target_free(&o->t);
	o->t = t;		/* leaf NULL when rc != 0 */
	free(o->der);
	o->der = NULL;
	o->der_len = 0;
	o->retry = o->retry_min;
	mono_after(&o->due, 0);
	(void)pthread_cond_signal(&o->cv);
	(void)pthread_mutex_unlock(&o->mu);
	return rc < 0 ? -1 : 0;
}

struct smtp_ocsp *
smtp_ocsp_new(void)
{
	struct smtp_ocsp *o = calloc(1, sizeof(*o));
	pthread_condattr_t ca;

	if (o == NULL)
		return NULL;
	o->retry_min = RETRY_MIN_S;
	o->retry_max = RETRY_MAX_S;
#ifdef NTAMSA_TEST_BUILD
	/* Test builds only: a short, constant retry lets a test see a responder come up. */
	const char *tr = getenv("NTAMSA_TEST_OCSP_RETRY_S");
	if (tr != NULL && atoi(tr) > 0)
		o->retry_min = o->retry_max = atoi(tr);
#endif
	o->retry = o->retry_min;
	int ok = pthread_condattr_init(&ca) == 0;
	if (ok) {
		ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
		    pthread_cond_init(&o->cv, &ca) == 0;
		(void)pthread_condattr_destroy(&ca);
	}
	if (!ok || pthread_mutex_init(&o->mu, NULL) != 0) {
		if (ok)
			(void)pthread_cond_destroy(&o->cv);
		free(o);
		return NULL;
	}
	return o;
}

int
smtp_ocsp_start(struct smtp_ocsp *o)
{
	sigset_t all, old;

	if (o == NULL || o->running)
		return 0;
	/* Signals belong to smtpd's signalfd loop, never to this thread. */
	if (sigfillset(&all) != 0 || pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return -1;
	int rc = pthread_create(&o->thread, NULL, fetch_thread, o);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	o->running = 1;
	return 0;
}

void
smtp_ocsp_stop(struct smtp_ocsp *o)
{
	if (o == NULL || !o->running)
		return;
	if (pthread_mutex_lock(&o->mu) != 0)
		abort();	/* cannot join a thread we cannot tell to stop */
	o->stop = 1;
	(void)pthread_cond_signal(&o->cv);
	(void)pthread_mutex_unlock(&o->mu);
	(void)pthread_join(o->thread, NULL);
	o->running = 0;
}

void
smtp_ocsp_free(struct smtp_ocsp *o)
{
	if (o == NULL)
		return;
	smtp_ocsp_stop(o);
	target_free(&o->t);
	free(o->der);
	(void)pthread_cond_destroy(&o->cv);
	(void)pthread_mutex_destroy(&o->mu);
	free(o);
}
