/*
 * policy.c - the per-recipient NTA 7516 decision (spec section 2).
 *
 * Every branch of R-FLOW-1..9 is one line of a table test in
 * tests/unit/test_outbound_policy.c; keep them in step.
 */
#include "outbound/policy.h"
#include "common/log.h"
#include "ntadns/ntadns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TLS12 0x0303		/* TLS1_2_VERSION, without pulling in OpenSSL */

static const char *const channel_names[] = {
	[OUT_CH_NONE] = "none",
	[OUT_CH_REGULAR] = "regular",
	[OUT_CH_DANE] = "dane",
	[OUT_CH_BIJLAGE_C] = "bijlage-c",
	[OUT_CH_BIJLAGE_B] = "bijlage-b",
	[OUT_CH_PORTAL] = "portal",
};

static const char *const reason_names[OUT_R__COUNT] = {
	[OUT_R_OK] = "ok",
	[OUT_R_NOT_HEALTH] = "not-health",
	[OUT_R_NO_NTA_RECORD] = "no-nta-record",
	[OUT_R_NTA_INVALID] = "nta-invalid",
	[OUT_R_NTA_PROVIDER_UNCERTIFIED] = "provider-not-certified",
	[OUT_R_NTA_STALE] = "nta-answer-stale",
	[OUT_R_TXT_BOGUS] = "txt-bogus",
	[OUT_R_TXT_TEMPFAIL] = "txt-tempfail",
	[OUT_R_MX_BOGUS] = "mx-bogus",
	[OUT_R_MX_TEMPFAIL] = "mx-tempfail",
	[OUT_R_NULL_MX] = "null-mx",
	[OUT_R_NO_DOMAIN] = "no-such-domain",
	[OUT_R_NO_HOSTS] = "no-hosts",
	[OUT_R_SECURE_DANE] = "tlsa-usable",
	[OUT_R_SECURE_NO_TLSA] = "tlsa-absent",
	[OUT_R_ADDR_INSECURE] = "addr-insecure",
	[OUT_R_TLSA_UNUSABLE] = "tlsa-unusable",
	[OUT_R_TLSA_INSECURE] = "tlsa-insecure",
	[OUT_R_DOMAIN_INSECURE] = "domain-insecure",
	[OUT_R_ADDR_BOGUS] = "addr-bogus",
	[OUT_R_ADDR_TEMPFAIL] = "addr-tempfail",
	[OUT_R_TLSA_BOGUS] = "tlsa-bogus",
	[OUT_R_TLSA_TEMPFAIL] = "tlsa-tempfail",
	[OUT_R_OPPORTUNISTIC] = "opportunistic",
	[OUT_R_CONNECT_FAILED] = "connect-failed",
	[OUT_R_NO_STARTTLS] = "no-starttls",
	[OUT_R_TLS_FAILED] = "tls-failed",
	[OUT_R_TLS_VERSION] = "tls-version",
	[OUT_R_DANE_MISMATCH] = "dane-mismatch",
	[OUT_R_DANE_NOT_ENABLED] = "dane-not-enabled",
	[OUT_R_PKIX_FAILED] = "pkix-failed",
	[OUT_R_HOSTNAME_MISMATCH] = "hostname-mismatch",
	[OUT_R_OU_MISMATCH] = "ou-mismatch",
	[OUT_R_NO_OU_MARKERS] = "no-ou-markers",
	[OUT_R_NO_8BITMIME] = "no-8bitmime",
	[OUT_R_RETRY] = "retry",
	[OUT_R_PORTAL_AFTER] = "portal-after",
	[OUT_R_LIFETIME] = "lifetime-expired",
	[OUT_R_PERMANENT] = "permanent-failure",
};

const char *
out_channel_name(enum out_channel ch)
{
	if ((unsigned)ch >= sizeof(channel_names) / sizeof(channel_names[0]))
		return "none";
	return channel_names[ch];
}

int
out_channel_is_nta(enum out_channel ch)
{
	return ch == OUT_CH_DANE || ch == OUT_CH_BIJLAGE_C || ch == OUT_CH_BIJLAGE_B;
}

const char *
out_action_name(enum out_action a)
{
	switch (a) {
	case OUT_ACT_DELIVER: return "deliver";
	case OUT_ACT_PORTAL: return "portal";
	case OUT_ACT_DEFER: return "defer";
	case OUT_ACT_BOUNCE: return "bounce";
	}
	return "unknown";
}

const char *
out_verify_name(enum out_verify v)
{
	switch (v) {
	case OUT_VERIFY_OPPORTUNISTIC: return "opportunistic";
	case OUT_VERIFY_TLS_UNAUTH: return "tls-unauthenticated";
	case OUT_VERIFY_DANE: return "dane";
	case OUT_VERIFY_PKIX_HOST: return "pkix-hostname";
	case OUT_VERIFY_PKIX_OU: return "pkix-ou";
	}
	return "unknown";
}

const char *
out_reason_name(enum out_reason r)
{
	if ((unsigned)r >= OUT_R__COUNT || reason_names[r] == NULL)
		return "unknown";
	return reason_names[r];
}

int
out_reason_is_security_event(enum out_reason r)
{
	return r == OUT_R_DANE_MISMATCH;
}

/* ------------------------------------------------------------ config */

int
out_policy_cfg_init(struct out_policy_cfg *pc, const struct config *c,
    char *err, size_t errlen)
{
	memset(pc, 0, sizeof(*pc));
	pc->portal_after = c->nta_portal_after;
	pc->queue_lifetime = c->out_queue_lifetime;
	pc->ou_markers = &c->nta_ou_markers;
	pc->compliant = &c->nta_compliant_domain;
	if (c->nta_certified_providers != NULL && c->nta_certified_providers[0]) {
		char why[512];

		pc->certified_set = 1;
		if (nta_providers_load(c->nta_certified_providers, &pc->certified, why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "nta.certified_providers: %s", why);
			out_policy_cfg_free(pc);
			return -1;
		}
		log_info("nta-certified-providers", "count=%zu",
		    nta_providers_count(pc->certified));
	} else {
		/* R-NTA-9: say at start-up that provider= is not checked. */
		log_warn("nta-provider-unchecked",
		    "reason=nta.certified_providers-unset audit=provider-unchecked");
	}
	if (pc->ou_markers->n == 0)
		log_warn("nta-bijlage-b-off", "reason=nta.ou_markers-empty");
	return 0;
}

void
out_policy_cfg_free(struct out_policy_cfg *pc)
{
	nta_providers_free(pc->certified);
	pc->certified = NULL;
}

static int
provider_certified(const struct out_policy_cfg *pc, const char *provider)
{
	/* R-NTA-9: exact, case-sensitive match (R-NTA-1). */
	return pc->certified != NULL &&
	    nta_providers_has(pc->certified, provider, strlen(provider));
}

/* -------------------------------------------------------------- plan */

static void
plan_end(struct out_plan *p, enum out_action a, enum out_reason r)
{
	p->action = a;
	p->reason = r;
	switch (a) {
	case OUT_ACT_DEFER:
		p->smtp_code = 451;
		p->status = "4.4.3";	/* directory server failure / routing */
		break;
	case OUT_ACT_BOUNCE:
		if (r == OUT_R_NULL_MX) {
			p->smtp_code = 556;	/* RFC 7505 section 4.1 */
			p->status = "5.1.10";
		} else {
			p->smtp_code = 550;
			p->status = "5.1.2";
		}
		break;
	default:
		p->smtp_code = 0;
		p->status = NULL;
		break;
	}
}

/* Worst of two states: bogus > tempfail > insecure > secure. */
static enum out_dns
dns_worst(enum out_dns a, enum out_dns b)
{
	static const int rank[] = {
		[OUT_DNS_SECURE] = 0, [OUT_DNS_INSECURE] = 1,
		[OUT_DNS_TEMPFAIL] = 2, [OUT_DNS_BOGUS] = 3,
	};
	return rank[a] >= rank[b] ? a : b;
}

/* A bogus or failed address lookup makes the host a temporary failure. */
static int
hop_addr_fail(struct out_hop *h)
{
	if (h->host->addr_state == OUT_DNS_BOGUS) {
		h->skip = 1;
		h->reason = OUT_R_ADDR_BOGUS;
		return 1;
	}
	if (h->host->addr_state == OUT_DNS_TEMPFAIL) {
		h->skip = 1;
		h->reason = OUT_R_ADDR_TEMPFAIL;
		return 1;
	}
	return 0;
}

/* Collect the usable TLSA records (DANE-TA(2), DANE-EE(3); RFC 7672 3.1.3). */
static void
hop_usable_tlsa(struct out_hop *h)
{
	size_t i;

	h->n_tlsa = 0;
	for (i = 0; i < h->host->n_tlsa && i < OUT_TLSA_MAX; i++) {
		const struct out_tlsa *t = &h->host->tlsa[i];

		/* Unknown selectors / matching types are unusable too (RFC 6698
		 * 7.2, 7.3; the same rule as ntadns's n_usable). */
		if ((t->usage == 2 || t->usage == 3) && t->selector <= 1 &&
		    t->mtype <= 2)
			h->tlsa[h->n_tlsa++] = t;
	}
}

/*
 * TLSA state of a host whose addresses are secure.  Returns 1 when the
 * host is a temporary failure (bogus/failed TLSA: never a downgrade,
 * RFC 7672 2.2), else 0 with h->n_tlsa set; *insecure when the TLSA
 * answer itself was insecure (treated as absent, as Postfix does).
 */
static int
hop_tlsa(struct out_hop *h, int *insecure)
{
	const struct out_host_facts *f = h->host;

	*insecure = 0;
	if (!f->tlsa_looked_up || f->tlsa_state == OUT_DNS_TEMPFAIL) {
		/* Not looked up although the addresses are secure: we cannot
		 * know, so this is a temporary failure, not "no TLSA". */
		h->skip = 1;
		h->reason = OUT_R_TLSA_TEMPFAIL;
		return 1;
	}
	if (f->tlsa_state == OUT_DNS_BOGUS) {
		h->skip = 1;
		h->reason = OUT_R_TLSA_BOGUS;
		return 1;
	}
	if (f->tlsa_state == OUT_DNS_INSECURE) {
		*insecure = 1;
		h->n_tlsa = 0;
		return 0;
	}
	hop_usable_tlsa(h);
	return 0;
}

/* A host for mail that is not NTA mail (R-FLOW-1; issue 6 "Regular mail"). */
static void
hop_regular(struct out_hop *h, enum out_dns mx_state)
{
	int insecure;

	h->channel = OUT_CH_REGULAR;
	h->verify = OUT_VERIFY_OPPORTUNISTIC;
	h->reason = OUT_R_OPPORTUNISTIC;
	if (hop_addr_fail(h))
		return;
	/* RFC 7672 2.2.1: DANE applies only to hosts named by a secure MX
	 * RRset and with secure addresses; otherwise opportunistic TLS. */
	if (mx_state != OUT_DNS_SECURE || h->host->addr_state != OUT_DNS_SECURE)
		return;
	if (hop_tlsa(h, &insecure))
		return;
	if (insecure || h->host->n_tlsa == 0)
		return;
	if (h->n_tlsa > 0) {
		/* As Postfix's "dane" level: enforced when usable TLSA exist. */
		h->verify = OUT_VERIFY_DANE;
		h->reason = OUT_R_SECURE_DANE;
	} else {
		/* RFC 7672 3.1.3 / 2.2: only unusable records = TLS mandatory,
		 * without authentication. */
		h->verify = OUT_VERIFY_TLS_UNAUTH;
		h->reason = OUT_R_TLSA_UNUSABLE;
	}
}

/* A host on the NTA path whose naming answer was secure (R-FLOW-4 "Yes"). */
static void
hop_secure(struct out_hop *h)
{
	int insecure;

	h->channel = OUT_CH_BIJLAGE_C;
	h->verify = OUT_VERIFY_PKIX_HOST;
	if (hop_addr_fail(h))
		return;
	if (h->host->addr_state == OUT_DNS_INSECURE) {
		/* Mail host zone unsigned: no TLSA lookup (RFC 7672 2.2). */
		h->reason = OUT_R_ADDR_INSECURE;
		return;
	}
	if (hop_tlsa(h, &insecure))
		return;
	if (insecure) {
		h->reason = OUT_R_TLSA_INSECURE;
	} else if (h->n_tlsa > 0) {
		/* Never falls back to Bijlage C: judge() fails this host. */
		h->channel = OUT_CH_DANE;
		h->verify = OUT_VERIFY_DANE;
		h->reason = OUT_R_SECURE_DANE;
	} else if (h->host->n_tlsa > 0) {
		h->reason = OUT_R_TLSA_UNUSABLE;
	} else {
		h->reason = OUT_R_SECURE_NO_TLSA;
	}
}

/* A host on the NTA path whose naming answer was insecure: Bijlage B. */
static void
hop_insecure(struct out_hop *h)
{
	h->channel = OUT_CH_BIJLAGE_B;
	h->verify = OUT_VERIFY_PKIX_OU;
	h->reason = OUT_R_DOMAIN_INSECURE;
	(void)hop_addr_fail(h);
}

/* Fill the hops from a host list; DEFER when every host is skipped. */
static void
plan_hosts(struct out_plan *p, const struct out_host_facts *hosts, size_t n,
    void (*fill)(struct out_hop *, enum out_dns), enum out_dns list_state)
{
	size_t i, usable = 0;

	if (n > OUT_HOSTS_MAX)
		n = OUT_HOSTS_MAX;
	for (i = 0; i < n; i++) {
		struct out_hop *h = &p->hop[i];

		memset(h, 0, sizeof(*h));
		h->host = &hosts[i];
		fill(h, list_state);
		if (!h->skip)
			usable++;
	}
	p->n_hop = n;
	if (n == 0)
		plan_end(p, OUT_ACT_DEFER, OUT_R_NO_HOSTS);
	else if (usable == 0)
		plan_end(p, OUT_ACT_DEFER, p->hop[0].reason);
	else
		plan_end(p, OUT_ACT_DELIVER, p->reason);
}

static void
fill_regular(struct out_hop *h, enum out_dns st)
{
	hop_regular(h, st);
}

static void
fill_nta(struct out_hop *h, enum out_dns st)
{
	if (st == OUT_DNS_SECURE)
		hop_secure(h);
	else
		hop_insecure(h);
}

/* The MX side common to both paths; returns 1 when the plan is decided. */
static int
plan_mx_final(struct out_plan *p, const struct out_dns_facts *df)
{
	if (df->mx_state == OUT_DNS_BOGUS) {
		plan_end(p, OUT_ACT_DEFER, OUT_R_MX_BOGUS);
		return 1;
	}
	if (df->mx_state == OUT_DNS_TEMPFAIL) {
		plan_end(p, OUT_ACT_DEFER, OUT_R_MX_TEMPFAIL);
		return 1;
	}
	if (!df->domain_exists) {
		plan_end(p, OUT_ACT_BOUNCE, OUT_R_NO_DOMAIN);
		return 1;
	}
	if (df->null_mx) {
		/* R-FLOW-9: undeliverable, a DSN, not the portal. */
		plan_end(p, OUT_ACT_BOUNCE, OUT_R_NULL_MX);
		return 1;
	}
	return 0;
}

static void
plan_regular(struct out_plan *p, const struct out_dns_facts *df)
{
	p->reason = OUT_R_NOT_HEALTH;
	if (plan_mx_final(p, df))
		return;
	/* R-FLOW-9: mail that is not NTA mail uses the normal MX, never ntamx. */
	plan_hosts(p, df->mx, df->n_mx, fill_regular, df->mx_state);
	if (p->action == OUT_ACT_DELIVER)
		p->reason = OUT_R_NOT_HEALTH;
}

/*
 * The portal, unless the domain has a null MX: then the notification could
 * not be delivered either and R-FLOW-9 says a DSN, not the portal.
 */
static void
plan_portal(struct out_plan *p, const struct out_dns_facts *df, enum out_reason r)
{
	if (df->null_mx)
		plan_end(p, OUT_ACT_BOUNCE, OUT_R_NULL_MX);
	else
		plan_end(p, OUT_ACT_PORTAL, r);
}

/* Health mail with a present NTA answer; returns 1 when decided. */
static int
plan_nta_record(const struct out_policy_cfg *pc, const struct out_msg_facts *m,
    const struct out_dns_facts *df, struct out_plan *p)
{
	/* R-FLOW-7: bogus and tempfail data are never used: defer. */
	if (df->txt_state == OUT_DNS_BOGUS) {
		plan_end(p, OUT_ACT_DEFER, OUT_R_TXT_BOGUS);
		return 1;
	}
	if (df->txt_state == OUT_DNS_TEMPFAIL) {
		plan_end(p, OUT_ACT_DEFER, OUT_R_TXT_TEMPFAIL);
		return 1;
	}
	/* R-FLOW-8: an NTA answer older than 86400 s is never used. */
	if (m->now - df->fetched > OUT_NTA_MAX_AGE || df->fetched > m->now + 300) {
		plan_end(p, OUT_ACT_DEFER, OUT_R_NTA_STALE);
		return 1;
	}
	if (!df->domain_exists) {
		/* No such domain: not even a portal notification can reach it. */
		plan_end(p, OUT_ACT_BOUNCE, OUT_R_NO_DOMAIN);
		return 1;
	}
	if (df->nta == OUT_NTA_ABSENT) {
		plan_portal(p, df, OUT_R_NO_NTA_RECORD);	/* R-FLOW-2 */
		return 1;
	}
	if (df->nta != OUT_NTA_VALID) {
		plan_portal(p, df, OUT_R_NTA_INVALID);	/* R-FLOW-3 */
		return 1;
	}
	if (!pc->certified_set) {
		p->provider_unchecked = 1;
	} else if (!provider_certified(pc, df->provider)) {
		plan_portal(p, df, OUT_R_NTA_PROVIDER_UNCERTIFIED);
		return 1;
	}
	return 0;
}

static void
plan_health(const struct out_policy_cfg *pc, const struct out_msg_facts *m,
    const struct out_dns_facts *df, struct out_plan *p)
{
	const struct out_host_facts *hosts;
	size_t n;
	enum out_dns list_state;

	if (plan_nta_record(pc, m, df, p))
		return;
	if (df->n_ntamx > 0) {
		/* R-NTA-6 / R-FLOW-9: only the ntamx hosts, named by the TXT
		 * answer; a null MX does not stop them (they are explicit). */
		hosts = df->ntamx;
		n = df->n_ntamx;
		list_state = df->txt_state;
	} else {
		if (plan_mx_final(p, df))
			return;
		hosts = df->mx;
		n = df->n_mx;
		/* Both the claim and the host list must be secure for R-FLOW-4 "yes". */
		list_state = dns_worst(df->txt_state, df->mx_state);
	}
	if (list_state != OUT_DNS_SECURE && (pc->ou_markers == NULL ||
	    pc->ou_markers->n == 0)) {
		/* Bijlage B with no markers always fails: portal now (R-FLOW-4). */
		plan_portal(p, df, OUT_R_NO_OU_MARKERS);
		return;
	}
	p->reason = list_state == OUT_DNS_SECURE ? OUT_R_OK : OUT_R_DOMAIN_INSECURE;
	plan_hosts(p, hosts, n, fill_nta, list_state);
}

int
out_policy_plan(const struct out_policy_cfg *pc, const struct out_msg_facts *m,
    const struct out_dns_facts *df, struct out_plan *plan)
{
	if (plan == NULL)
		return -1;
	memset(plan, 0, sizeof(*plan));
	if (pc == NULL || m == NULL || df == NULL) {
		plan_end(plan, OUT_ACT_DEFER, OUT_R_NO_HOSTS);
		return -1;
	}
	if (!m->health)
		plan_regular(plan, df);		/* R-FLOW-1 */
	else
		plan_health(pc, m, df, plan);
	return 0;
}

/* ------------------------------------------------------------- judge */

static enum out_judgement
fail(enum out_reason *why, enum out_reason r)
{
	*why = r;
	return OUT_FAIL;
}

/* Mandatory TLS (any mode but opportunistic). */
static int
tls_done(const struct out_tls_facts *t, enum out_reason *why)
{
	if (!t->starttls_offered)
		return fail(why, OUT_R_NO_STARTTLS), 0;
	if (!t->tls)
		return fail(why, OUT_R_TLS_FAILED), 0;
	return 1;
}

enum out_judgement
out_policy_judge(const struct out_hop *hop, const struct out_msg_facts *m,
    const struct out_tls_facts *t, enum out_reason *why)
{
	enum out_reason dummy;

	if (why == NULL)
		why = &dummy;
	*why = OUT_R_OK;
	if (hop == NULL || t == NULL || hop->skip)
		return fail(why, hop != NULL && hop->skip ? hop->reason :
		    OUT_R_CONNECT_FAILED);
	if (!t->connected)
		return fail(why, OUT_R_CONNECT_FAILED);
	if (hop->verify == OUT_VERIFY_OPPORTUNISTIC)
		return OUT_PASS;
	if (!tls_done(t, why))
		return OUT_FAIL;
	if (out_channel_is_nta(hop->channel) && t->tls_version < TLS12)
		return fail(why, OUT_R_TLS_VERSION);	/* R-FLOW-6 */
	switch (hop->verify) {
	case OUT_VERIFY_DANE:
		/* OpenSSL DANE is silently off when no record was added. */
		if (t->dane_tlsa_added <= 0)
			return fail(why, OUT_R_DANE_NOT_ENABLED);
		if (t->dane_authority < 0)
			return fail(why, OUT_R_DANE_MISMATCH);
		break;
	case OUT_VERIFY_PKIX_HOST:
		if (!t->pkix_ok)
			return fail(why, OUT_R_PKIX_FAILED);
		if (!t->host_ok)
			return fail(why, OUT_R_HOSTNAME_MISMATCH);
		break;
	case OUT_VERIFY_PKIX_OU:
		if (!t->pkix_ok)
			return fail(why, OUT_R_PKIX_FAILED);
		if (!t->ou_ok)
			return fail(why, OUT_R_OU_MISMATCH);
		break;
	default:
		break;
	}
	/* R-HDR-3: never downconvert on an NTA channel. */
	if (out_channel_is_nta(hop->channel) && m != NULL && m->eightbit &&
	    !t->eightbitmime)
		return fail(why, OUT_R_NO_8BITMIME);
	return OUT_PASS;
}

int
out_policy_ou_match(const char *const *ous, size_t n,
    const struct config_list *markers)
{
	size_t i, j;

	if (markers == NULL || markers->n == 0 || ous == NULL)
		return 0;	/* empty marker list: Bijlage B always fails */
	for (i = 0; i < n; i++) {
		if (ous[i] == NULL)
			continue;
		for (j = 0; j < markers->n; j++)
			if (markers->v[j] != NULL && markers->v[j][0] != '\0' &&
			    strcmp(ous[i], markers->v[j]) == 0)
				return 1;
	}
	return 0;
}

/* ------------------------------------------------------ after failure */

/*
 * R-FLOW-7: a bogus or failed answer for the domain itself (its NTA TXT or
 * MX) leaves the recipient deferred: "never downgraded", not even to the
 * portal, since a forged answer must not steer the message anywhere.
 * Failures of single hosts (R-FLOW-4: TLSA bogus, TLS, DANE, connect) do
 * lead to the portal after nta.portal_after.
 */
static int
domain_dns_failure(enum out_reason r)
{
	return r == OUT_R_TXT_BOGUS || r == OUT_R_TXT_TEMPFAIL ||
	    r == OUT_R_MX_BOGUS || r == OUT_R_MX_TEMPFAIL || r == OUT_R_NTA_STALE;
}

static int
bijlage_b_cert_failure(enum out_channel ch, enum out_reason r)
{
	return ch == OUT_CH_BIJLAGE_B && (r == OUT_R_PKIX_FAILED ||
	    r == OUT_R_OU_MISMATCH || r == OUT_R_NO_OU_MARKERS);
}

enum out_next
out_policy_after_failure(const struct out_policy_cfg *pc,
    const struct out_msg_facts *m, enum out_channel ch, enum out_reason fail_r,
    int permanent, enum out_reason *why)
{
	enum out_reason dummy;
	int64_t age;

	if (why == NULL)
		why = &dummy;
	if (permanent) {
		*why = OUT_R_PERMANENT;
		return OUT_NEXT_BOUNCE;
	}
	age = (int64_t)(m->now - m->first_attempt);
	if (m->health && bijlage_b_cert_failure(ch, fail_r)) {
		*why = fail_r;		/* R-FLOW-4: any Bijlage B step fails -> portal */
		return OUT_NEXT_PORTAL;
	}
	if (m->health && age >= pc->portal_after && !domain_dns_failure(fail_r)) {
		*why = OUT_R_PORTAL_AFTER;
		return OUT_NEXT_PORTAL;
	}
	if (age >= pc->queue_lifetime) {
		*why = OUT_R_LIFETIME;
		return OUT_NEXT_BOUNCE;
	}
	*why = OUT_R_RETRY;
	return OUT_NEXT_RETRY;
}

/* ------------------------------------------------------------ decide */

static int
is_cert_failure(enum out_reason r)
{
	return r == OUT_R_PKIX_FAILED || r == OUT_R_OU_MISMATCH ||
	    r == OUT_R_HOSTNAME_MISMATCH || r == OUT_R_DANE_MISMATCH;
}

static enum out_channel
decide_next(const struct out_policy_cfg *pc, const struct out_msg_facts *m,
    enum out_channel ch, enum out_reason r, enum out_action *action,
    enum out_reason *why)
{
	switch (out_policy_after_failure(pc, m, ch, r, 0, why)) {
	case OUT_NEXT_PORTAL:
		*action = OUT_ACT_PORTAL;
		return OUT_CH_PORTAL;
	case OUT_NEXT_BOUNCE:
		*action = OUT_ACT_BOUNCE;
		return OUT_CH_NONE;
	case OUT_NEXT_RETRY:
		break;
	}
	*action = OUT_ACT_DEFER;
	*why = r;		/* the cause, more useful than "retry" */
	return OUT_CH_NONE;
}

enum out_channel
out_policy_decide(const struct out_policy_cfg *pc, const struct out_msg_facts *m,
    const struct out_dns_facts *df, const struct out_tls_facts *const *tls,
    size_t n_tls, enum out_action *action, enum out_reason *why)
{
	struct out_plan p;
	enum out_reason r, fail_r = OUT_R_NO_HOSTS;
	enum out_channel fail_ch = OUT_CH_NONE;
	int have_cert = 0;
	size_t i;

	if (out_policy_plan(pc, m, df, &p) < 0) {
		*action = OUT_ACT_DEFER;
		*why = OUT_R_NO_HOSTS;
		return OUT_CH_NONE;
	}
	*action = p.action;
	*why = p.reason;
	if (p.action == OUT_ACT_PORTAL)
		return OUT_CH_PORTAL;
	if (p.action == OUT_ACT_BOUNCE)
		return OUT_CH_NONE;
	if (p.action == OUT_ACT_DEFER)
		return decide_next(pc, m, OUT_CH_NONE, p.reason, action, why);
	for (i = 0; i < p.n_hop; i++) {
		const struct out_tls_facts *t = i < n_tls ? tls[i] : NULL;

		if (out_policy_judge(&p.hop[i], m, t, &r) == OUT_PASS) {
			*action = OUT_ACT_DELIVER;
			*why = p.hop[i].reason;
			return p.hop[i].channel;
		}
		/* Keep the first certificate-level failure: it decides Bijlage B. */
		if (!have_cert) {
			fail_r = r;
			fail_ch = p.hop[i].channel;
			have_cert = is_cert_failure(r);
		}
	}
	return decide_next(pc, m, fail_ch, fail_r, action, why);
}

/* ------------------------------------------------------ sender domain */

int
out_policy_sender_compliant(const struct out_policy_cfg *pc, const char *domain,
    const struct out_dns_facts *sdf, time_t now)
{
	size_t i;

	if (domain == NULL || domain[0] == '\0')
		return 0;
	if (pc->compliant != NULL)
		for (i = 0; i < pc->compliant->n; i++)
			if (strcasecmp(pc->compliant->v[i], domain) == 0)
				return 1;
	if (sdf == NULL)
		return 0;
	/* Bijlage D casus A: its own currently valid NTA record; a bogus or
	 * failed answer is not evidence. */
	if (sdf->txt_state != OUT_DNS_SECURE && sdf->txt_state != OUT_DNS_INSECURE)
		return 0;
	if (now - sdf->fetched > OUT_NTA_MAX_AGE)
		return 0;
	return sdf->nta == OUT_NTA_VALID;
}
