/*
 * deliver.c - the deliver worker: scheduler loop and the fate of each
 * recipient (spec §2 R-FLOW, DESIGN.md "Life of a message" steps 5-7).
 *
 * Per round: the due recipients, grouped by message and destination domain
 * (they share DNS facts, classification and so the plan); for each group:
 * DNS facts -> plan -> hosts in order, each connected (or taken from the
 * connection cache) with the plan's verification, judged, and the message
 * sent; every attempt recorded.  One group is one SMTP transaction, so a
 * SIGTERM lets the running ones finish.  Groups run on outbound.workers
 * threads (WORKERS_MAX at most), at most outbound.max_per_domain at a time
 * per destination domain.
 */
#include "outbound/deliver.h"
#include "outbound/deliver_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "ntadns/ntadns.h"
#include "outbound/dkim.h"
#include "outbound/facts.h"
#include "outbound/queue.h"

#define ROUND_MAX 64		/* recipients per scan */
#define IDLE_WAIT_MAX 10	/* seconds between scans when nothing is due */
#define CC_IDLE 30		/* seconds a verified connection is kept */
#define WORKERS_MAX 64		/* outbound.workers upper bound (config.c) */

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* One group: recipients of one message at one domain. */
struct group {
	size_t n;
	struct store_rcpt *r[ROUND_MAX];
	struct smtpc_rcpt sr[ROUND_MAX];
	int done[ROUND_MAX];		/* final outcome reached this attempt */
	struct out_dns_facts *df;
	struct out_msg_facts m;
	/* worst failure seen, for out_policy_after_failure() */
	enum out_channel fail_ch;
	enum out_reason fail_why;
	int cert_fail_seen;
	char fail_host[OUT_HOSTNAME_MAX];
	char fail_reply[SMTPC_REPLY_MAX];
};

/* ---- attempt records ---- */

static const char *
nta_verdict(const struct out_dns_facts *df)
{
	switch (df->nta) {
	case OUT_NTA_VALID: return "valid";
	case OUT_NTA_INVALID: return "invalid";
	default: return "absent";
	}
}

static const char *
dns_name(enum out_dns s)
{
	static const char *const n[] = {"secure", "insecure", "bogus", "tempfail"};
	return (unsigned)s < 4 ? n[s] : "?";
}

struct att {
	const char *channel, *host, *addr, *reply, *result;
	const struct smtpc_facts *f;
};

/* The attempt row of recipient i; nrec is storage for the NTA record text. */
static void
fill_attempt(const struct group *g, size_t i, const struct att *a, time_t now,
    struct store_attempt *sa, char *nrec, size_t nreclen)
{
	const struct out_dns_facts *df = g->df;
	const struct store_rcpt *r = g->r[i];

	*sa = (struct store_attempt){.rcpt_id = r->id, .msg_id = r->msg_id, .domain = r->domain,
	    .time = now, .channel = a->channel, .host = a->host, .addr = a->addr,
	    .reply = a->reply, .result = a->result};
	nrec[0] = '\0';
	if (df != NULL && !g->m.health) {
		/* Regular mail: facts do not look the NTA record up. */
		sa->nta_dnssec = "-";
		sa->nta_verdict = "not-checked";
	} else if (df != NULL) {
		if (df->nta == OUT_NTA_VALID)
			snprintf(nrec, nreclen, "provider=%s", df->provider);
		else if (df->nta == OUT_NTA_INVALID)
			snprintf(nrec, nreclen, "%s", df->nta_why);
		sa->nta_record = nrec;
		sa->nta_dnssec = dns_name(df->txt_state);
		sa->nta_verdict = nta_verdict(df);
	}
	if (a->f != NULL) {
		sa->tls_version = a->f->tls ? a->f->tls_version : "none";
		sa->cipher = a->f->cipher;
		sa->peer_cert_sha256 = a->f->peer_sha256;
		sa->auth_result = a->f->result;
	}
}

static void
record(struct dctx *d, struct group *g, size_t i, const struct att *a, time_t now)
{
	struct store_attempt sa;
	char nrec[OUT_PROVIDER_MAX + 16];

	fill_attempt(g, i, a, now, &sa, nrec, sizeof(nrec));
	if (store_attempt_add(d->s, &sa) != STORE_OK)
		log_err("attempt-record-failed", "msg=%s", g->r[i]->msg_id);
}

/* Attempt and final state in one transaction (one fsync per recipient). */
static void
finish(struct dctx *d, struct group *g, size_t i, const struct att *a, const char *state,
    const char *channel, const char *reason, const char *reply, time_t now)
{
	struct store_attempt sa;
	struct store_rcpt_update u = {.state = state, .channel = channel, .reason = reason,
	    .last_reply = reply, .tried = 1, .now = now};
	char nrec[OUT_PROVIDER_MAX + 16];

	fill_attempt(g, i, a, now, &sa, nrec, sizeof(nrec));
	if (store_rcpt_record(d->s, g->r[i]->id, &u, &sa) != STORE_OK)
		log_err("rcpt-update-failed", "msg=%s rcpt_id=%lld", g->r[i]->msg_id,
		    (long long)g->r[i]->id);
	g->done[i] = 1;
}

static void
record_all(struct dctx *d, struct group *g, const struct att *a, time_t now)
{
	for (size_t i = 0; i < g->n; i++)
		if (!g->done[i])
			record(d, g, i, a, now);
}

/* ---- final and retry states ---- */

static void
set_state(struct dctx *d, struct group *g, size_t i, const char *state, time_t next,
    const char *channel, const char *reason, const char *reply, time_t now)
{
	struct store_rcpt_update u = {.state = state, .next_attempt = next, .channel = channel,
	    .reason = reason, .last_reply = reply, .tried = 1, .now = now};

	if (store_rcpt_update(d->s, g->r[i]->id, &u) != STORE_OK)
		log_err("rcpt-update-failed", "msg=%s rcpt_id=%lld", g->r[i]->msg_id,
		    (long long)g->r[i]->id);
	g->done[i] = 1;
}

static void
bounce(struct dctx *d, struct group *g, size_t i, const char *status, const char *host,
    const char *reply, const char *reason, int expired, time_t now)
{
	if (dsn_queue(d, g->r[i], status, host, reply, expired, now) != 0) {
		/* No DSN stored: keep the recipient queued rather than lose the news. */
		log_err("dsn-failed", "msg=%s", g->r[i]->msg_id);
		set_state(d, g, i, "queued", now + out_queue_backoff(1), NULL, "dsn-failed",
		    reply, now);
		return;
	}
	set_state(d, g, i, "bounced", 0, NULL, reason, reply, now);
	log_info("bounced", "msg=%s status=%s reason=%s", g->r[i]->msg_id, status, reason);
}

static void
to_portal(struct dctx *d, struct group *g, size_t i, const char *reason, time_t now)
{
	struct att a = {.channel = "portal", .result = "portal", .reply = reason};

	finish(d, g, i, &a, "portal", "portal", reason, NULL, now);
	log_info("portal", "msg=%s reason=%s", g->r[i]->msg_id, reason);
}

/* Nothing delivered this attempt for recipient i: retry, portal or bounce. */
static void
after_failure(struct dctx *d, struct group *g, size_t i, int permanent, time_t now)
{
	enum out_reason why;
	enum out_next nx = out_policy_after_failure(&d->pc, &g->m, g->fail_ch,
	    g->fail_why, permanent, &why);
	const char *reply = g->sr[i].reply[0] ? g->sr[i].reply : g->fail_reply;
	time_t next;

	if (nx == OUT_NEXT_PORTAL) {
		to_portal(d, g, i, out_reason_name(why), now);
	} else if (nx == OUT_NEXT_BOUNCE) {
		bounce(d, g, i, permanent ? "5.0.0" : "4.4.7", g->fail_host, reply,
		    out_reason_name(why), !permanent, now);
	} else if (out_queue_next(now, g->r[i]->created, g->r[i]->attempts + 1,
	    d->c->out_queue_lifetime, &next) == OUT_QUEUE_EXPIRED) {
		bounce(d, g, i, "4.4.7", g->fail_host, reply, "lifetime", 1, now);
	} else {
		set_state(d, g, i, "queued", next, out_channel_name(g->fail_ch),
		    out_reason_name(g->fail_why), reply, now);
	}
}

/* ---- one host ---- */

static void
note_failure(struct group *g, const struct out_hop *hop, enum out_reason why,
    const char *reply)
{
	int cert = why == OUT_R_DANE_MISMATCH || why == OUT_R_PKIX_FAILED ||
	    why == OUT_R_HOSTNAME_MISMATCH || why == OUT_R_OU_MISMATCH;

	/* The first certificate-level failure decides (policy.h phase 3). */
	if (g->cert_fail_seen)
		return;
	g->cert_fail_seen = cert;
	g->fail_ch = hop->channel;
	g->fail_why = why;
	snprintf(g->fail_host, sizeof(g->fail_host), "%s", hop->host->name);
	snprintf(g->fail_reply, sizeof(g->fail_reply), "%s", reply);
}

static void
hop_params(struct dctx *d, const struct out_hop *hop, const char *addr,
    struct smtpc_tlsa *tl, struct smtpc_params *p)
{
	*p = (struct smtpc_params){.host = hop->host->name, .addr = addr,
	    .port = (int)d->c->out_port, .helo = d->helo, .bind = d->c->out_bind,
	    .connect_timeout = (int)d->c->out_connect_timeout, .cmd_timeout = 300,
	    .nta = out_channel_is_nta(hop->channel)};
	switch (hop->verify) {
	case OUT_VERIFY_TLS_UNAUTH: p->require_tls = 1; break;
	case OUT_VERIFY_DANE:
		p->auth = SMTPC_AUTH_DANE;
		/* DANE-TA reference identifiers: the host and its TLSA base domain. */
		p->tlsa_base = hop->host->tlsa_base[0] ? hop->host->tlsa_base : NULL;
		break;
	case OUT_VERIFY_PKIX_HOST: p->auth = SMTPC_AUTH_PKIX; break;
	case OUT_VERIFY_PKIX_OU: p->auth = SMTPC_AUTH_PKIX_OU; break;
	default: break;
	}
	for (size_t k = 0; k < hop->n_tlsa && k < OUT_TLSA_MAX; k++) {
		const struct out_tlsa *t = hop->tlsa[k];
		tl[k] = (struct smtpc_tlsa){.usage = t->usage, .selector = t->selector,
		    .mtype = t->mtype, .data = t->data, .len = t->len};
	}
	p->tlsa = tl;
	p->n_tlsa = hop->n_tlsa;
}

/* A connection for hop at addr: cached (after RSET) or new.  NULL on failure. */
static struct smtpc *
connect_hop(struct dctx *d, struct group *g, const struct out_hop *hop, const char *addr,
    const char *key, time_t now)
{
	struct smtpc_tlsa tl[OUT_TLSA_MAX];
	struct smtpc_params p;
	struct smtpc_facts f;
	struct out_tls_facts tf;
	struct smtpc *c = out_cc_get(d->cc, key, now);
	char reply[SMTPC_REPLY_MAX];
	enum out_reason why;
	int rc;

	if (c != NULL && smtpc_rset(c) == SMTPC_OK)
		return c;
	smtpc_close(c);
	hop_params(d, hop, addr, tl, &p);
	rc = smtpc_open(d->tls, &p, &c, &f, reply, sizeof(reply));
	if (rc == SMTPC_CHANNEL && hop->verify == OUT_VERIFY_OPPORTUNISTIC) {
		/* Opportunistic TLS that fails is retried in plaintext (RFC 7435
		 * §3, as Postfix's "may" level does): regular mail only. */
		log_info("tls-fallback-plain", "host=%s addr=%s", hop->host->name, addr);
		p.no_starttls = 1;
		rc = smtpc_open(d->tls, &p, &c, &f, reply, sizeof(reply));
	}
	out_tls_facts_from_smtpc(&f, rc, &tf);
	if (out_policy_judge(hop, &g->m, &tf, &why) == OUT_PASS && rc == SMTPC_OK)
		return c;
	if (why == OUT_R_OK)
		why = OUT_R_CONNECT_FAILED;	/* smtpc refused what policy passed */
	if (out_reason_is_security_event(why)) {
		char detail[OUT_HOSTNAME_MAX + 160];

		log_warn("security-event", "reason=%s host=%s addr=%s cert=%s",
		    out_reason_name(why), hop->host->name, addr, f.peer_sha256);
		snprintf(detail, sizeof(detail), "reason=%s host=%s addr=%s cert=%s",
		    out_reason_name(why), hop->host->name, addr, f.peer_sha256);
		(void)store_audit(d->s, "security-event", g->r[0]->msg_id, detail);
	}
	struct att a = {.channel = out_channel_name(hop->channel), .host = hop->host->name,
	    .addr = addr, .reply = reply, .result = out_reason_name(why), .f = &f};
	record_all(d, g, &a, now);
	note_failure(g, hop, why, reply);
	smtpc_close(c);
	return NULL;
}

/* Send on c; record per recipient; returns 1 when nothing is left to try. */
static int
send_on(struct dctx *d, struct group *g, const struct out_hop *hop, const char *addr,
    struct smtpc *c, struct msgsrc *ms, time_t now)
{
	struct smtpc_rcpt sr[ROUND_MAX];
	size_t map[ROUND_MAX], n = 0;
	char reply[SMTPC_REPLY_MAX];
	const char *ch = out_channel_name(hop->channel);

	for (size_t i = 0; i < g->n; i++)
		if (!g->done[i]) {
			map[n] = i;
			sr[n++] = (struct smtpc_rcpt){.addr = g->r[i]->addr};
		}
	struct smtpc_txn tx = {.mail_from = g->r[0]->mail_from, .body_8bit = g->m.eightbit,
	    .size = msgsrc_size(ms), .rcpt = sr, .n_rcpt = n, .read = msgsrc_read, .read_arg = ms};
	(void)msgsrc_rewind(ms);
	(void)smtpc_send(c, &tx, reply, sizeof(reply));
	for (size_t k = 0; k < n; k++) {
		size_t i = map[k];
		int res = sr[k].result;
		struct att a = {.channel = ch, .host = hop->host->name, .addr = addr,
		    .reply = sr[k].reply[0] ? sr[k].reply : reply,
		    .result = res == SMTPC_OK ? "delivered" : res == SMTPC_PERM ? "bounced" : "deferred",
		    .f = smtpc_get_facts(c)};

		snprintf(g->sr[i].reply, sizeof(g->sr[i].reply), "%s", a.reply);
		if (res == SMTPC_OK) {
			finish(d, g, i, &a, "delivered", ch, "ok", a.reply, now);
			log_info("delivered", "msg=%s channel=%s host=%s auth=%s", g->r[i]->msg_id,
			    ch, hop->host->name, smtpc_get_facts(c)->result);
		} else if (res == SMTPC_PERM) {
			record(d, g, i, &a, now);
			bounce(d, g, i, "5.0.0", hop->host->name, a.reply, "permanent", 0, now);
		} else {
			record(d, g, i, &a, now);
			note_failure(g, hop, res == SMTPC_CHANNEL ? OUT_R_NO_8BITMIME : OUT_R_RETRY,
			    a.reply);
		}
	}
	return 1;	/* the receiver answered: do not try other hosts this round */
}

static int
all_done(const struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (!g->done[i])
			return 0;
	return 1;
}

/* Try the plan's hosts in order until the transaction happened. */
static void
try_hops(struct dctx *d, struct group *g, const struct out_plan *plan, struct msgsrc *ms,
    time_t now)
{
	for (size_t h = 0; h < plan->n_hop && !all_done(g) && !stop; h++) {
		const struct out_hop *hop = &plan->hop[h];

		if (hop->skip) {
			struct att a = {.channel = out_channel_name(hop->channel),
			    .host = hop->host->name, .result = out_reason_name(hop->reason)};
			record_all(d, g, &a, now);
			note_failure(g, hop, hop->reason, out_reason_name(hop->reason));
			continue;
		}
		for (size_t k = 0; k < hop->host->n_addr && !all_done(g); k++) {
			const char *addr = hop->host->addr[k];
			char key[OUT_CC_KEY_MAX];
			struct smtpc *c;

			out_cc_key(key, sizeof(key), out_channel_name(hop->channel),
			    out_verify_name(hop->verify), hop->host->name, addr, (int)d->c->out_port);
			if ((c = connect_hop(d, g, hop, addr, key, now)) == NULL)
				continue;
			int fin = send_on(d, g, hop, addr, c, ms, now);
			out_cc_put(d->cc, key, c, now);
			if (fin)
				return;
		}
	}
}

/* ---- one group ---- */

static void
fail_rest(struct dctx *d, struct group *g, int permanent, time_t now)
{
	for (size_t i = 0; i < g->n; i++)
		if (!g->done[i])
			after_failure(d, g, i, permanent, now);
}

static void
defer_local(struct dctx *d, struct group *g, const char *why, time_t now)
{
	struct att a = {.channel = "none", .reply = why, .result = why};

	record_all(d, g, &a, now);
	g->fail_ch = OUT_CH_NONE;
	g->fail_why = OUT_R_RETRY;
	snprintf(g->fail_reply, sizeof(g->fail_reply), "451 4.3.0 %s", why);
	fail_rest(d, g, 0, now);
}

static void
act_on_plan(struct dctx *d, struct group *g, const struct out_plan *plan, time_t now)
{
	struct msgsrc *ms = NULL;
	int nta = plan->n_hop > 0 && out_channel_is_nta(plan->hop[0].channel), rc;

	switch (plan->action) {
	case OUT_ACT_PORTAL:
		for (size_t i = 0; i < g->n; i++)
			to_portal(d, g, i, out_reason_name(plan->reason), now);
		return;
	case OUT_ACT_BOUNCE:
		for (size_t i = 0; i < g->n; i++)
			bounce(d, g, i, plan->status ? plan->status : "5.0.0", NULL,
			    out_reason_name(plan->reason), out_reason_name(plan->reason), 0, now);
		return;
	case OUT_ACT_DEFER: {
		struct att a = {.channel = "none", .result = out_reason_name(plan->reason),
		    .reply = out_reason_name(plan->reason)};
		record_all(d, g, &a, now);
		g->fail_ch = OUT_CH_NONE;
		g->fail_why = plan->reason;
		fail_rest(d, g, 0, now);
		return;
	}
	default:
		break;
	}
	rc = msgsrc_prepare(d, g->r[0]->msg_id, nta, now, &ms);
	if (rc != MSG_OK) {
		defer_local(d, g, rc == MSG_NOKEY ? "dkim-no-key" : rc == MSG_BAD ?
		    "message-unsendable" : "message-unreadable", now);
		return;
	}
	try_hops(d, g, plan, ms, now);
	msgsrc_free(ms);
	fail_rest(d, g, 0, now);
}

static void
deliver_group(struct dctx *d, struct group *g, time_t now)
{
	struct out_plan plan;
	const struct store_rcpt *r = g->r[0];

	g->m = (struct out_msg_facts){.health = r->cls_health, .eightbit = r->body_8bit,
	    .first_attempt = r->first_attempt ? r->first_attempt : now, .now = now};
	g->fail_ch = OUT_CH_NONE;
	g->fail_why = OUT_R_CONNECT_FAILED;
	if ((g->df = calloc(1, sizeof(*g->df))) == NULL) {
		defer_local(d, g, "out-of-memory", now);
		return;
	}
	if (out_facts_gather(d->res, r->domain, r->cls_health, (uint16_t)d->c->out_port, now,
	    g->df) != 0) {
		defer_local(d, g, "dns-local-failure", now);
	} else if (out_policy_plan(&d->pc, &g->m, g->df, &plan) != 0) {
		defer_local(d, g, "policy-failure", now);
	} else {
		if (plan.provider_unchecked)
			(void)store_audit(d->s, "provider-unchecked", r->msg_id, r->domain);
		act_on_plan(d, g, &plan, now);
	}
	free(g->df);
	g->df = NULL;
}

/* Crypto-shred the round's messages no recipient needs any more (step 7). */
static void
shred_round(struct dctx *d, const struct group *g, size_t n)
{
	const char *ids[ROUND_MAX];
	size_t k = 0, done = 0;

	if (d->c->out_retention > 0)
		return;		/* kept until retention_sweep() */
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < k && strcmp(ids[j], g[i].r[0]->msg_id) != 0)
			j++;
		if (j == k)
			ids[k++] = g[i].r[0]->msg_id;
	}
	if (store_queue_shred_done(d->s, ids, k, &done) != STORE_OK)
		log_err("shred-failed", "messages=%zu", k);
	else if (done > 0)
		log_info("shredded", "messages=%zu", done);
}

/* ---- the loop ---- */

struct due {
	size_t n;
	struct store_rcpt r[ROUND_MAX];
};

static int
due_cb(const struct store_rcpt *r, void *arg)
{
	struct due *du = arg;

	if (du->n < ROUND_MAX)
		du->r[du->n++] = *r;
	return du->n >= ROUND_MAX;
}

/*
 * The worker pool: outbound.workers threads, each with a dctx copy holding
 * its own resolver (a dns_resolver is not thread-safe), take groups of the current
 * round; a group starts only when its domain is below
 * outbound.max_per_domain connections (out_slots).
 */
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct group *g;		/* this round's groups */
	int *st;			/* 0 waiting, 1 running, 2 done */
	size_t n, left;
	int quit;
	struct out_slots slots;
	unsigned long round;		/* scan counter: sender-compliance cache */
	size_t nth;
	pthread_t th[WORKERS_MAX];
	struct dctx wd[WORKERS_MAX];
};

/* Lock held: a waiting group whose domain has a free slot, or -1. */
static int
pick(struct pool *p)
{
	if (stop) {
		/* SIGTERM: groups not started stay queued for the next run. */
		for (size_t i = 0; i < p->n; i++)
			if (p->st[i] == 0) {
				p->st[i] = 2;
				p->left--;
			}
		pthread_cond_broadcast(&p->done_cv);
		return -1;
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->st[i] == 0 && out_slots_take(&p->slots, p->g[i].r[0]->domain) == 0)
			return (int)i;
	return -1;
}

static void *
worker(void *arg)
{
	struct dctx *d = arg;
	struct pool *p = d->pool;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		int i = -1;

		while (!p->quit && (i = pick(p)) < 0)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->quit || i < 0)
			break;
		p->st[i] = 1;
		d->round = p->round;
		pthread_mutex_unlock(&p->mu);
		deliver_group(d, &p->g[i], time(NULL));
		pthread_mutex_lock(&p->mu);
		out_slots_release(&p->slots, p->g[i].r[0]->domain);
		p->st[i] = 2;
		p->left--;
		pthread_cond_broadcast(&p->work_cv);
		pthread_cond_broadcast(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Group the due recipients by message and domain into g[]; returns count. */
static size_t
make_groups(struct due *du, struct group *g)
{
	int taken[ROUND_MAX] = {0};
	size_t n = 0;

	for (size_t i = 0; i < du->n; i++) {
		if (taken[i])
			continue;
		memset(&g[n], 0, sizeof(g[n]));
		for (size_t j = i; j < du->n; j++) {
			if (!taken[j] && strcmp(du->r[j].msg_id, du->r[i].msg_id) == 0 &&
			    strcasecmp(du->r[j].domain, du->r[i].domain) == 0) {
				taken[j] = 1;
				g[n].r[g[n].n++] = &du->r[j];
			}
		}
		n++;
	}
	return n;
}

/* One scan: returns the number of groups handled, -1 on a store failure. */
static int
round_once(struct dctx *d, struct pool *p, struct due *du)
{
	int st[ROUND_MAX] = {0};
	size_t n;

	du->n = 0;
	if (store_queue_due(d->s, time(NULL), ROUND_MAX, due_cb, du) != STORE_OK)
		return -1;
	if (du->n == 0)
		return 0;
	n = make_groups(du, p->g);
	pthread_mutex_lock(&p->mu);
	p->st = st;
	p->n = p->left = n;
	p->round++;
	pthread_cond_broadcast(&p->work_cv);
	while (p->left > 0)
		pthread_cond_wait(&p->done_cv, &p->mu);
	p->n = 0;
	p->st = NULL;
	pthread_mutex_unlock(&p->mu);
	shred_round(d, p->g, n);
	return (int)n;
}

static int
pool_start(struct dctx *d, struct pool *p)
{
	char err[512];

	if ((p->g = calloc(ROUND_MAX, sizeof(*p->g))) == NULL)
		return -1;
	out_slots_init(&p->slots, (int)d->c->out_max_per_domain);
	if (pthread_mutex_init(&p->mu, NULL) != 0 || pthread_cond_init(&p->work_cv, NULL) != 0 ||
	    pthread_cond_init(&p->done_cv, NULL) != 0)
		return -1;
	size_t nw = d->c->out_workers < 1 ? 1 : d->c->out_workers > WORKERS_MAX ? WORKERS_MAX :
	    (size_t)d->c->out_workers;

	for (size_t i = 0; i < nw; i++) {
		p->wd[i] = *d;
		p->wd[i].pool = p;
		if (dns_resolver_new(d->c, &p->wd[i].res, err, sizeof(err)) != 0) {
			char q[600];
			log_err("deliver-setup", "error=%s", log_quote(q, sizeof(q), err));
			return -1;
		}
		if (pthread_create(&p->th[i], NULL, worker, &p->wd[i]) != 0) {
			dns_resolver_free(p->wd[i].res);
			return -1;
		}
		p->nth++;
	}
	return 0;
}

static void
pool_stop(struct pool *p)
{
	if (p->nth > 0) {
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_broadcast(&p->work_cv);
		pthread_mutex_unlock(&p->mu);
	}
	for (size_t i = 0; i < p->nth; i++) {
		pthread_join(p->th[i], NULL);
		dns_resolver_free(p->wd[i].res);
		dctx_free_reloaded(&p->wd[i]);
	}
	free(p->g);
}

/* outbound.retention: data keys of finished messages go after that time. */
static void
retention_sweep(struct dctx *d)
{
	size_t n = 0;

	if (d->c->out_retention <= 0)
		return;
	if (store_queue_shred_retained(d->s, time(NULL) - (time_t)d->c->out_retention, &n) != STORE_OK)
		log_err("shred-failed", "reason=retention-sweep");
	else if (n > 0)
		log_info("shredded", "messages=%zu reason=retention", n);
}

/* Empty a readable wake fd (smtpd's socket or the queue commands' FIFO). */
static void
drain(const struct pollfd *p, const char *by)
{
	char buf[64];

	if (p->fd < 0 || !(p->revents & POLLIN))
		return;
	if (read(p->fd, buf, sizeof(buf)) < 0 && errno != EINTR && errno != EAGAIN)
		log_warn("deliver-wake", "by=%s read=failed", by);
	else if (strcmp(by, "queue-command") == 0)
		log_info("deliver-wake", "by=%s", by);
}

static void
wait_work(struct dctx *d, int wake_fd, int cmd_fd)
{
	time_t next = 0, now = time(NULL);
	int secs = IDLE_WAIT_MAX;
	/* poll ignores negative fds: either may be missing. */
	struct pollfd p[2] = {{.fd = wake_fd, .events = POLLIN}, {.fd = cmd_fd, .events = POLLIN}};

	if (store_queue_next_due(d->s, &next) == STORE_OK && next > 0)
		secs = next <= now ? 0 : next - now < IDLE_WAIT_MAX ? (int)(next - now) : IDLE_WAIT_MAX;
	if (poll(p, 2, secs * 1000 + (secs ? 0 : 200)) > 0) {
		drain(&p[0], "smtpd");
		drain(&p[1], "queue-command");
	}
	out_cc_expire(d->cc, time(NULL));
	retention_sweep(d);
}

static int
setup(struct dctx *d, const struct config *c)
{
	char err[512];
	const char *const *ou = (const char *const *)c->nta_ou_markers.v;
	struct smtpc_tls_conf tc = {.ca_file = c->out_ca_file,
	    .bijlage_b_ca_file = c->nta_bijlage_b_ca_file, .ou_markers = ou,
	    .n_ou_markers = c->nta_ou_markers.n};
	int rc;

	d->c = c;
	d->helo = c->out_helo[0] ? c->out_helo : c->hostname;
	rc = keys_load_ring(c->data_dir, d->pass, &d->ring, err, sizeof(err));
	if (rc != 0 || keys_load_pub(c->data_dir, &d->pub, err, sizeof(err)) != 0 ||
	    store_open(c->data_dir, &d->s, err, sizeof(err)) != 0 ||
	    out_dkim_load(c, &d->dkim, err, sizeof(err)) != 0 ||
	    smtpc_tls_new(&tc, &d->tls, err, sizeof(err)) != 0 ||
	    out_policy_cfg_init(&d->pc, c, err, sizeof(err)) != 0 ||
	    (d->cc = out_cc_new(CC_IDLE)) == NULL) {
		char q[600];
		log_err("deliver-setup", "error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	return 0;
}

static void
teardown(struct dctx *d)
{
	out_cc_free(d->cc);
	out_policy_cfg_free(&d->pc);
	smtpc_tls_free(d->tls);
	out_dkim_free(d->dkim);
	if (d->s != NULL) {
		uint64_t commits, recs;
		/* How well attempt records shared their fsyncs (bench_deliver reads it). */
		store_rcpt_record_stats(d->s, &commits, &recs);
		log_info("deliver-stats", "records=%llu record_commits=%llu",
		    (unsigned long long)recs, (unsigned long long)commits);
	}
	store_close(d->s);
	keys_pub_free(d->pub);
	keys_ring_free(d->ring);
}

int
out_deliver_main(const struct config *c, int wake_fd)
{
	return out_deliver_run(c, wake_fd, keys_passphrase_get());
}

int
out_deliver_run(const struct config *c, int wake_fd, char *passphrase)
{
	struct dctx d;
	struct due *du = calloc(1, sizeof(*du));
	struct sigaction sa;
	static struct pool pool;
	int rc = 1, cmd_fd = -1;

	memset(&d, 0, sizeof(d));
	memset(&sa, 0, sizeof(sa));
	log_set_proc("deliver");
	/* SA_RESTART: a running SMTP transaction completes before we stop. */
	sa.sa_handler = on_term;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (du == NULL || sigaction(SIGTERM, &sa, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		goto out;
	/* Kept for the life of the worker: a rotation reloads the ring. */
	d.pass = passphrase;
	if (setup(&d, c) != 0)
		goto out;
	/* queue flush/release wake us through it; without it the timer does. */
	if ((cmd_fd = out_wake_open(c->data_dir)) < 0)
		log_warn("deliver-wake", "fifo=unavailable");
	if (pool_start(&d, &pool) != 0) {
		pool_stop(&pool);
		goto out;
	}
	log_info("deliver-start", "helo=%s port=%lld workers=%d", d.helo,
	    (long long)c->out_port, (int)pool.nth);
	while (!stop) {
		int n = round_once(&d, &pool, du);

		if (n < 0)
			log_err("deliver-scan", "store=error");
		if (n <= 0 && !stop)
			wait_work(&d, wake_fd, cmd_fd);
	}
	log_info("deliver-stop", "reason=sigterm");
	pool_stop(&pool);
	rc = 0;
out:
	if (cmd_fd >= 0)
		close(cmd_fd);
	teardown(&d);
	free(du);
	keys_passphrase_free(passphrase);
	return rc;
}
