/*
 * facts.c - DNS facts of one recipient domain, through ntadns.
 *
 * Only states and data that ntadns handed out are copied: ntadns never
 * returns data of a bogus or failed answer, and neither do we.
 */
#include "outbound/facts.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

_Static_assert((int)OUT_DNS_SECURE == (int)DNS_SECURE &&
    (int)OUT_DNS_INSECURE == (int)DNS_INSECURE &&
    (int)OUT_DNS_BOGUS == (int)DNS_BOGUS &&
    (int)OUT_DNS_TEMPFAIL == (int)DNS_TEMPFAIL, "out_dns mirrors dns_state");

enum out_dns
out_facts_state(enum dns_state s)
{
	switch (s) {
	case DNS_SECURE: return OUT_DNS_SECURE;
	case DNS_INSECURE: return OUT_DNS_INSECURE;
	case DNS_BOGUS: return OUT_DNS_BOGUS;
	case DNS_TEMPFAIL: return OUT_DNS_TEMPFAIL;
	}
	return OUT_DNS_TEMPFAIL;
}

static int
usable(const struct dns_tlsa_rr *rr)
{
	return (rr->usage == 2 || rr->usage == 3) && rr->selector <= 1 && rr->mtype <= 2;
}

/* TLSA of one host whose addresses are secure (RFC 7672 2.2). */
static int
host_tlsa(struct dns_resolver *r, uint16_t port, const struct dns_addrs *a,
    struct out_host_facts *h)
{
	struct dns_tlsa *t = NULL;
	size_t i;

	if (dns_lookup_tlsa(r, h->name, port, a, &t) != 0)
		return -1;
	h->tlsa_looked_up = t->looked_up;
	h->tlsa_state = out_facts_state(t->m.state);
	snprintf(h->tlsa_base, sizeof(h->tlsa_base), "%s", t->base);
	for (i = 0; i < t->n; i++) {
		const struct dns_tlsa_rr *rr = &t->rr[i];
		struct out_tlsa *o;

		if (rr->len > OUT_TLSA_DATA_MAX || h->n_tlsa >= OUT_TLSA_MAX) {
			if (!usable(rr))
				continue;
			/* A usable record we cannot carry: not knowing it must
			 * not turn DANE into Bijlage C, so the host defers. */
			h->tlsa_state = OUT_DNS_TEMPFAIL;
			h->n_tlsa = 0;
			break;
		}
		o = &h->tlsa[h->n_tlsa++];
		o->usage = rr->usage;
		o->selector = rr->selector;
		o->mtype = rr->mtype;
		o->len = (uint8_t)rr->len;
		memcpy(o->data, rr->data, rr->len);
	}
	dns_tlsa_free(t);
	return 0;
}

/* Addresses (and TLSA when want_tlsa and they are secure) of one host. */
static int
host_gather(struct dns_resolver *r, uint16_t port, int want_tlsa,
    struct out_host_facts *h)
{
	struct dns_addrs *a = NULL;
	size_t i;
	int rc = 0;

	if (dns_lookup_addrs(r, h->name, &a) != 0)
		return -1;
	h->addr_state = out_facts_state(a->m.state);
	for (i = 0; i < a->n && h->n_addr < OUT_ADDRS_MAX; i++) {
		if (inet_ntop(a->ip[i].family, a->ip[i].addr, h->addr[h->n_addr],
		    OUT_ADDRSTR_MAX) != NULL)
			h->n_addr++;
	}
	if (want_tlsa && h->addr_state == OUT_DNS_SECURE)
		rc = host_tlsa(r, port, a, h);
	dns_addrs_free(a);
	return rc;
}

/* The NTA TXT set at the domain, evaluated at the attempt date (R-FLOW-8). */
static int
gather_txt(struct dns_resolver *r, const char *domain, time_t now,
    struct out_dns_facts *df)
{
	struct dns_txt *txt = NULL;
	struct nta_txt in[DNS_MAX_RRS];
	struct nta_eval_opts o;
	struct nta_set *set;
	struct nta_mx mx[NTA_MAX_NTAMX];
	size_t i, n;
	enum nta_verdict v;

	if (dns_lookup_txt(r, domain, &txt) != 0)
		return -1;
	df->txt_state = out_facts_state(txt->m.state);
	if (txt->m.nxdomain && txt->m.state != DNS_BOGUS && txt->m.state != DNS_TEMPFAIL)
		df->domain_exists = 0;
	if (df->txt_state == OUT_DNS_BOGUS || df->txt_state == OUT_DNS_TEMPFAIL) {
		dns_txt_free(txt);
		return 0;	/* no data used; the policy defers */
	}
	if ((set = malloc(sizeof(*set))) == NULL) {
		dns_txt_free(txt);
		return -1;
	}
	for (i = 0; i < txt->n; i++) {
		in[i].data = txt->rr[i].data;
		in[i].len = txt->rr[i].len;
	}
	memset(&o, 0, sizeof(o));
	o.at = nta_date_of(now);
	/* R-NTA-4: the published TTL is the RRSIG's original TTL when signed. */
	o.check_ttl = 1;
	o.ttl = txt->have_orig_ttl ? txt->orig_ttl : txt->m.ttl;
	o.certified = NULL;	/* R-NTA-9 is decided in the policy, one place */
	v = nta_set_eval(set, in, txt->n, &o);
	if (v == NTA_VALID) {
		df->nta = OUT_NTA_VALID;
		snprintf(df->provider, sizeof(df->provider), "%s",
		    set->rec[set->current].provider);
		n = nta_set_hosts(set, mx, NTA_MAX_NTAMX);
		for (i = 0; i < n && df->n_ntamx < OUT_HOSTS_MAX; i++) {
			struct out_host_facts *h = &df->ntamx[df->n_ntamx++];

			snprintf(h->name, sizeof(h->name), "%s", mx[i].host);
			h->pref = mx[i].prio;
		}
	} else {
		df->nta = v == NTA_INVALID ? OUT_NTA_INVALID : OUT_NTA_ABSENT;
		if (v == NTA_INVALID)
			snprintf(df->nta_why, sizeof(df->nta_why), "%s",
			    nta_reason_code(nta_set_first_reason(set)));
	}
	free(set);
	dns_txt_free(txt);
	return 0;
}

static int
gather_mx(struct dns_resolver *r, const char *domain, struct out_dns_facts *df)
{
	struct dns_mx *mx = NULL;
	size_t i;

	if (dns_lookup_mx(r, domain, &mx) != 0)
		return -1;
	df->mx_state = out_facts_state(mx->m.state);
	if (mx->m.nxdomain && mx->m.state != DNS_BOGUS && mx->m.state != DNS_TEMPFAIL)
		df->domain_exists = 0;
	df->null_mx = mx->null_mx;
	for (i = 0; i < mx->n && df->n_mx < OUT_HOSTS_MAX; i++) {
		struct out_host_facts *h = &df->mx[df->n_mx++];

		snprintf(h->name, sizeof(h->name), "%s", mx->mx[i].host);
		h->pref = mx->mx[i].pref;
	}
	dns_mx_free(mx);
	return 0;
}

int
out_facts_gather(struct dns_resolver *r, const char *domain, int health,
    uint16_t port, time_t now, struct out_dns_facts *df)
{
	struct out_host_facts *hosts;
	size_t i, n;
	int secure_list;

	if (r == NULL || domain == NULL || df == NULL)
		return -1;
	memset(df, 0, sizeof(*df));
	df->fetched = now;
	df->domain_exists = 1;
	df->txt_state = OUT_DNS_INSECURE;
	if (health && gather_txt(r, domain, now, df) != 0)
		return -1;
	if (gather_mx(r, domain, df) != 0)
		return -1;
	/* Hosts on the path the policy will take; TLSA only where it counts. */
	if (health && df->nta == OUT_NTA_VALID && df->n_ntamx > 0) {
		hosts = df->ntamx;
		n = df->n_ntamx;
		secure_list = df->txt_state == OUT_DNS_SECURE;
	} else {
		hosts = df->mx;
		n = df->n_mx;
		secure_list = df->mx_state == OUT_DNS_SECURE &&
		    (!health || df->txt_state == OUT_DNS_SECURE);
	}
	if (health && df->nta != OUT_NTA_VALID)
		return 0;	/* portal or defer: no host is contacted */
	for (i = 0; i < n; i++)
		if (host_gather(r, port, secure_list, &hosts[i]) != 0)
			return -1;
	return 0;
}

int
out_facts_gather_nta(struct dns_resolver *r, const char *domain, time_t now,
    struct out_dns_facts *df)
{
	if (r == NULL || domain == NULL || df == NULL)
		return -1;
	memset(df, 0, sizeof(*df));
	df->fetched = now;
	df->domain_exists = 1;
	return gather_txt(r, domain, now, df);
}

void
out_tls_facts_from_smtpc(const struct smtpc_facts *f, int rc, struct out_tls_facts *t)
{
	memset(t, 0, sizeof(*t));
	t->connected = rc != SMTPC_TEMP && rc != SMTPC_INTERNAL;
	t->starttls_offered = f->starttls_offered;
	t->tls = f->tls || f->verify_failed;
	t->tls_version = f->tls_version_num;
	t->eightbitmime = f->ext_8bitmime;
	t->dane_tlsa_added = f->tlsa_added;
	t->dane_authority = f->tls ? f->dane_authority : -1;
	t->pkix_ok = f->chain_ok;
	t->host_ok = f->host_ok == 1;
	t->ou_ok = f->ou_ok == 1;
}
