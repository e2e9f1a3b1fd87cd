/*
 * deliver_msg.c - the outgoing message as a stream: the sealed blob is
 * decrypted (store_reader) once to rewrite the header and compute the
 * DKIM body hash; a body up to BODY_KEEP_MAX is kept from that pass (in
 * memory, wiped on free) and sent from there, a larger one is decrypted a
 * second time while sending.  Plaintext exists only in memory and on the
 * wire: never on disk.  Also the DSNs, built from the original header without content.
 */
#include "outbound/deliver_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/wipe.h"
#include "outbound/dkim.h"
#include "outbound/dsn.h"
#include "outbound/facts.h"
#include "outbound/rewrite.h"

#define READ_STEP 16384
#define BODY_KEEP_MAX (256 * 1024)	/* bodies kept in memory between hashing and sending */

struct msgsrc {
	struct dctx *d;
	char msg_id[STORE_ID_LEN];
	struct store_reader *rd;
	size_t orig_hdr_len;		/* bytes of the stored header to skip */
	uint64_t body_len;
	char *out;			/* DKIM-Signature + rewritten header */
	size_t out_len, out_off;
	size_t skipped;
	char *body;			/* the body when kept (<= BODY_KEEP_MAX) */
	size_t body_cap, body_have, body_off;
	int body_dropped;		/* too large: stream it from the store again */
};

int
dctx_reload_ring(struct dctx *d)
{
	struct keys_ring *r = NULL;
	char err[256], q[300];

	if (keys_load_ring(d->c->data_dir, d->pass, &r, err, sizeof(err)) != 0) {
		log_err("key-reload", "what=ring error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	/* The original ring is shared by every worker: only our own goes. */
	if (d->own_ring)
		keys_ring_free(d->ring);
	d->ring = r;
	d->own_ring = 1;
	log_info("key-reload", "what=ring");
	return 0;
}

int
dctx_reload_pub(struct dctx *d)
{
	struct keys_pub *p = NULL;
	char err[256], q[300];

	if (keys_load_pub(d->c->data_dir, &p, err, sizeof(err)) != 0) {
		log_err("key-reload", "what=pub error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	if (d->own_pub)
		keys_pub_free(d->pub);
	d->pub = p;
	d->own_pub = 1;
	log_info("key-reload", "what=pub key=%u", keys_pub_id(p));
	return 0;
}

void
dctx_free_reloaded(struct dctx *d)
{
	if (d->own_ring)
		keys_ring_free(d->ring);
	if (d->own_pub)
		keys_pub_free(d->pub);
	d->own_ring = d->own_pub = 0;
}

/* store_reader_open, once more with a reloaded ring after STORE_KEY. */
static int
reader_open(struct dctx *d, const char *msg_id, struct store_reader **rd)
{
	int rc = store_reader_open(d->s, d->ring, msg_id, rd);

	if (rc == STORE_KEY && dctx_reload_ring(d) == 0)
		rc = store_reader_open(d->s, d->ring, msg_id, rd);
	return rc;
}

/*
 * Read the header block (with its empty line) into a buffer; *extra gets
 * how many body bytes were read past it.  The reader stays open.
 */
static int
read_header(struct store_reader *rd, char **buf, size_t *cap, size_t *have, size_t *hdr_len)
{
	for (;;) {
		int rc = *have ? out_rw_header_len(*buf, *have, hdr_len) : OUT_RW_ETOOBIG;
		ssize_t n;

		if (rc == OUT_RW_OK)
			return MSG_OK;
		if (*have >= OUT_HDR_MAX)
			return MSG_BAD;
		if (*cap - *have < READ_STEP) {
			size_t nc = *cap ? *cap * 2 : 4 * READ_STEP;
			char *p = wipe_grow(*buf, *have, nc);
			if (p == NULL)
				return MSG_TEMP;
			*buf = p;
			*cap = nc;
		}
		n = store_reader_read(rd, *buf + *have, READ_STEP);
		if (n < 0)
			return MSG_TEMP;
		if (n == 0)
			return out_rw_header_len(*buf, *have, hdr_len) == OUT_RW_OK ? MSG_OK : MSG_BAD;
		*have += (size_t)n;
	}
}

int
msg_load_header(struct dctx *d, const char *msg_id, char **hdr, size_t *len)
{
	struct store_reader *rd = NULL;
	char *buf = NULL;
	size_t cap = 0, have = 0, hl = 0;
	int rc;

	*hdr = NULL;
	*len = 0;
	if (reader_open(d, msg_id, &rd) != STORE_OK)
		return MSG_TEMP;
	rc = read_header(rd, &buf, &cap, &have, &hl);
	store_reader_close(rd);
	if (rc != MSG_OK) {
		wipe_free(buf, cap);
		return rc;
	}
	/* Keep only the header: the body part read along is wiped. */
	sodium_memzero(buf + hl, cap - hl);
	*hdr = buf;
	*len = hl;
	return MSG_OK;
}

void
msg_free_header(char *hdr, size_t len)
{
	wipe_free(hdr, len);
}

/*
 * R-HDR-1: configured as compliant, or the sender's domain publishes a
 * valid NTA record right now (its own TXT set; the recipient-side facts of
 * regular mail do not look it up).  Cached per domain for this round.
 */
static int
sender_compliant(struct dctx *d, const char *dom, time_t now)
{
	struct sender_cache *sc = &d->sc;
	struct out_dns_facts *df;
	int ok;

	if (out_policy_sender_compliant(&d->pc, dom, NULL, now))
		return 1;
	if (sc->round != d->round) {
		sc->round = d->round;
		sc->n = 0;
	}
	for (size_t i = 0; i < sc->n; i++)
		if (strcasecmp(sc->e[i].dom, dom) == 0)
			return sc->e[i].ok;
	if ((df = calloc(1, sizeof(*df))) == NULL)
		return 0;
	if (out_facts_gather_nta(d->res, dom, now, df) != 0) {
		free(df);
		return 0;	/* a local failure is no evidence; not cached */
	}
	ok = out_policy_sender_compliant(&d->pc, dom, df, now);
	free(df);
	if (sc->n < SENDER_CACHE_MAX && strlen(dom) < sizeof(sc->e[0].dom)) {
		snprintf(sc->e[sc->n].dom, sizeof(sc->e[0].dom), "%s", dom);
		sc->e[sc->n++].ok = ok;
	}
	return ok;
}

/* Rewrite the header for the channel into m->out (after room for the signature). */
static int
rewrite(struct msgsrc *m, const char *hdr, size_t hl, int nta, time_t now,
    char **rw, size_t *rwlen, size_t *rwcap)
{
	char dom[256] = "";
	struct out_rw_opts o = {.nta_channel = nta, .provider_id = m->d->c->nta_provider_id,
	    .extra_strip = &m->d->c->nta_strip_header};

	if (nta && out_rw_from_domain(hdr, hl, dom, sizeof(dom)) == OUT_RW_OK)
		o.sender_compliant = sender_compliant(m->d, dom, now);
	*rwcap = hl + out_rw_extra(&o);
	*rw = malloc(*rwcap);
	if (*rw == NULL)
		return MSG_TEMP;
	if (out_rw_header(hdr, hl, &o, *rw, *rwcap, rwlen) != OUT_RW_OK)
		return MSG_BAD;
	return MSG_OK;
}

/* Give up the kept body: msgsrc_read decrypts it again from the store. */
static void
body_drop(struct msgsrc *m)
{
	wipe_free(m->body, m->body_cap);
	m->body = NULL;
	m->body_cap = m->body_have = 0;
	m->body_dropped = 1;
}

/* Keep n more body bytes if the body stays within BODY_KEEP_MAX. */
static void
body_keep(struct msgsrc *m, const char *p, size_t n)
{
	if (m->body_dropped || n == 0)
		return;
	if (m->body_have + n > BODY_KEEP_MAX) {
		body_drop(m);
		return;
	}
	if (m->body_have + n > m->body_cap) {
		size_t cap = m->body_cap ? m->body_cap : 4096;
		char *nb;

		while (cap < m->body_have + n)
			cap *= 2;
		if (cap > BODY_KEEP_MAX)
			cap = BODY_KEEP_MAX;
		/* No realloc: the old block is wiped, not left behind in the heap. */
		if ((nb = wipe_grow(m->body, m->body_have, cap)) == NULL) {
			body_drop(m);
			return;
		}
		m->body = nb;
		m->body_cap = cap;
	}
	memcpy(m->body + m->body_have, p, n);
	m->body_have += n;
}

/* DKIM over the rewritten header and the body (rest of buf, then the reader). */
static int
sign(struct msgsrc *m, const char *rw, size_t rwlen, const char *body0, size_t n0,
    time_t now, char *sig, size_t *siglen)
{
	struct out_dkim_sig *ds = NULL;
	char buf[READ_STEP];
	ssize_t n;
	int rc = out_dkim_begin(m->d->dkim, rw, rwlen, &ds);

	if (rc == OUT_DKIM_NOKEY)
		return MSG_NOKEY;
	if (rc != OUT_DKIM_OK)
		return MSG_BAD;
	m->body_len = n0;
	if (n0 > 0 && out_dkim_body(ds, body0, n0) != OUT_DKIM_OK)
		goto fail;
	body_keep(m, body0, n0);
	while ((n = store_reader_read(m->rd, buf, sizeof(buf))) > 0) {
		m->body_len += (uint64_t)n;
		body_keep(m, buf, (size_t)n);
		if (out_dkim_body(ds, buf, (size_t)n) != OUT_DKIM_OK)
			goto fail;
	}
	sodium_memzero(buf, sizeof(buf));
	if (n < 0)
		goto fail;
	return out_dkim_end(ds, now, sig, OUT_DKIM_SIG_MAX, siglen) == OUT_DKIM_OK ? MSG_OK : MSG_BAD;
fail:
	sodium_memzero(buf, sizeof(buf));
	out_dkim_abort(ds);
	return MSG_TEMP;
}

static int
prepare(struct msgsrc *m, int nta, time_t now)
{
	char *buf = NULL, *rw = NULL, sig[OUT_DKIM_SIG_MAX];
	size_t cap = 0, have = 0, hl = 0, rwlen = 0, rwcap = 0, siglen = 0;
	int rc;

	if (reader_open(m->d, m->msg_id, &m->rd) != STORE_OK)
		return MSG_TEMP;
	rc = read_header(m->rd, &buf, &cap, &have, &hl);
	if (rc == MSG_OK)
		rc = rewrite(m, buf, hl, nta, now, &rw, &rwlen, &rwcap);
	if (rc == MSG_OK)
		rc = sign(m, rw, rwlen, buf + hl, have - hl, now, sig, &siglen);
	if (rc == MSG_OK && (m->out = malloc(siglen + rwlen)) == NULL)
		rc = MSG_TEMP;
	if (rc == MSG_OK) {
		memcpy(m->out, sig, siglen);
		memcpy(m->out + siglen, rw, rwlen);
		m->out_len = siglen + rwlen;
		m->orig_hdr_len = hl;
	}
	wipe_free(buf, cap);
	wipe_free(rw, rwcap);
	store_reader_close(m->rd);
	m->rd = NULL;
	return rc;
}

int
msgsrc_prepare(struct dctx *d, const char *msg_id, int nta_channel, time_t now,
    struct msgsrc **out)
{
	struct msgsrc *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (m == NULL)
		return MSG_TEMP;
	m->d = d;
	snprintf(m->msg_id, sizeof(m->msg_id), "%s", msg_id);
	rc = prepare(m, nta_channel, now);
	if (rc != MSG_OK) {
		msgsrc_free(m);
		return rc;
	}
	*out = m;
	return MSG_OK;
}

int
msgsrc_rewind(struct msgsrc *m)
{
	if (m->rd != NULL) {
		store_reader_close(m->rd);
		m->rd = NULL;
	}
	m->out_off = 0;
	m->skipped = 0;
	m->body_off = 0;
	return MSG_OK;
}

uint64_t
msgsrc_size(const struct msgsrc *m)
{
	return m->out_len + m->body_len;
}

/* Skip the stored header before streaming the body. */
static int
skip_header(struct msgsrc *m, char *buf, size_t len)
{
	while (m->skipped < m->orig_hdr_len) {
		size_t want = m->orig_hdr_len - m->skipped;
		ssize_t n = store_reader_read(m->rd, buf, want < len ? want : len);

		if (n <= 0)
			return -1;
		m->skipped += (size_t)n;
	}
	sodium_memzero(buf, len);
	return 0;
}

ssize_t
msgsrc_read(void *arg, void *buf, size_t len)
{
	struct msgsrc *m = arg;

	if (m->out_off < m->out_len) {
		size_t k = m->out_len - m->out_off;

		if (k > len)
			k = len;
		memcpy(buf, m->out + m->out_off, k);
		m->out_off += k;
		return (ssize_t)k;
	}
	if (!m->body_dropped) {
		/* Kept from the hashing pass (an empty body is kept too). */
		size_t k = m->body_have - m->body_off;

		if (k > len)
			k = len;
		if (k > 0)
			memcpy(buf, m->body + m->body_off, k);
		m->body_off += k;
		return (ssize_t)k;
	}
	if (m->rd == NULL) {
		if (reader_open(m->d, m->msg_id, &m->rd) != STORE_OK)
			return -1;
		if (skip_header(m, buf, len) != 0)
			return -1;
	}
	return store_reader_read(m->rd, buf, len);
}

void
msgsrc_free(struct msgsrc *m)
{
	if (m == NULL)
		return;
	if (m->rd != NULL)
		store_reader_close(m->rd);
	wipe_free(m->out, m->out_len);
	wipe_free(m->body, m->body_cap);
	free(m);
}

/* The DSN goes in as a new message from the null sender (no loops). */
static int
dsn_store_once(struct dctx *d, const char *to, const char *buf, size_t len)
{
	struct store_msg *sm = NULL;
	struct store_meta meta = {.account = "", .mail_from = "", .message_id = ""};
	int rc = store_msg_new(d->s, d->pub, &sm);

	if (rc != STORE_OK)
		return rc;
	if ((rc = store_msg_write(sm, buf, len)) != STORE_OK ||
	    (rc = store_msg_add_rcpt(sm, to)) != STORE_OK) {
		store_msg_abort(sm);
		return rc;
	}
	return store_msg_commit(sm, &meta);
}

/*
 * After `keys rotate --reseal` the key we loaded at start is retired and the
 * database refuses DKs sealed to it (STORE_KEY): reload it, try once more.
 */
static int
dsn_store(struct dctx *d, const char *to, const char *buf, size_t len)
{
	int rc = dsn_store_once(d, to, buf, len);

	if (rc == STORE_KEY && dctx_reload_pub(d) == 0)
		rc = dsn_store_once(d, to, buf, len);
	return rc;
}

int
dsn_queue(struct dctx *d, const struct store_rcpt *r, const char *status,
    const char *remote, const char *diag, int expired, time_t now)
{
	struct out_dsn_info info = {.reporting_mta = d->c->hostname, .sender = r->mail_from,
	    .arrival = r->created, .now = now, .expired = expired};
	struct out_dsn_rcpt dr = {.rcpt = r->addr, .action = "failed", .status = status,
	    .remote_mta = remote, .diagnostic = diag, .last_attempt = now};
	char *hdr = NULL, *out = NULL;
	size_t hl = 0, ol = 0;
	int rc;

	if (r->mail_from[0] == '\0')
		return 0;	/* never a DSN to the null sender */
	/* Without the header (key gone, tamper) the DSN still goes, headerless. */
	if (msg_load_header(d, r->msg_id, &hdr, &hl) != MSG_OK)
		hdr = NULL;
	rc = out_dsn_build(&info, &dr, 1, hdr, hl, &out, &ol);
	msg_free_header(hdr, hl);
	if (rc == OUT_DSN_NONE)
		return 0;
	if (rc != OUT_DSN_OK)
		return -1;
	rc = dsn_store(d, r->mail_from, out, ol);
	free(out);
	if (rc != STORE_OK)
		return -1;
	log_info("dsn-queued", "msg=%s status=%s", r->msg_id, status);
	return 0;
}
