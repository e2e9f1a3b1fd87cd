/*
 * dns_resolver.c - a validating libunbound context and its lookups.
 *
 * Every answer ends in exactly one of four states (spec R-FLOW-7).  The
 * libunbound traps (DESIGN.md) are handled here once: bogus answers come
 * *with* data, so the data of a bogus or failed answer is dropped before
 * anyone sees it; without a loaded trust anchor everything looks insecure,
 * so the resolver refuses to exist without one; options are set before the
 * first query (they fail after it).  Queries run asynchronously (one
 * resolver thread per context) so that dns.timeout bounds every lookup.
 */
#include "ntadns/ntadns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>


#define T_A	1
#define T_MX	15
#define T_TXT	16
#define T_AAAA	28
#define T_TLSA	52

struct dns_resolver {
	struct ub_ctx *ub;
	int timeout_ms;
};

const char *
dns_state_name(enum dns_state s)
{
	switch (s) {
	case DNS_SECURE: return "secure";
	case DNS_INSECURE: return "insecure";
	case DNS_BOGUS: return "bogus";
	default: return "tempfail";
	}
}

/*
 * Options that switch validation off or replace the anchor (DESIGN.md).
 * harden-dnssec-stripped "no" makes a trust-anchored zone whose signatures
 * were stripped insecure instead of bogus (unbound.conf(5): "you run the
 * risk of a downgrade attack"); val-sig-skew-* widen the window in which
 * expired signatures, i.e. replayed answers, still validate.
 */
static const char *const refused[] = {
	"val-permissive-mode", "domain-insecure", "module-config", "trust-anchor",
	"insecure-lan-zones", "auto-trust-anchor-file", "trusted-keys-file",
	"val-override-date", "harden-dnssec-stripped", "val-sig-skew",
};

static int
option_refused(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		size_t l = strlen(refused[i]);
		if (n >= l && strncasecmp(name, refused[i], l) == 0)
			return 1;
	}
	return 0;
}

/* "name: value" -> ub_ctx_set_option("name:", "value"). */
static int
set_option(struct ub_ctx *ub, const char *line, char *err, size_t errlen)
{
	const char *colon = strchr(line, ':');
	char name[128];
	const char *val;
	size_t n;
	int rc;

	while (*line == ' ' || *line == '\t')
		line++;
	if (colon == NULL || colon == line) {
		snprintf(err, errlen, "dns.unbound_option '%s': want 'name: value'", line);
		return -1;
	}
	n = (size_t)(colon - line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n + 2 > sizeof(name)) {
		snprintf(err, errlen, "dns.unbound_option: name too long");
		return -1;
	}
	if (option_refused(line, n)) {
		snprintf(err, errlen, "dns.unbound_option '%.*s' is refused: it weakens DNSSEC validation",
		    (int)n, line);
		return -1;
	}
	memcpy(name, line, n);
	name[n] = ':';
	name[n + 1] = '\0';
	val = colon + 1;
	while (*val == ' ' || *val == '\t')
		val++;
	rc = ub_ctx_set_option(ub, name, val);
	if (rc != 0) {
		snprintf(err, errlen, "dns.unbound_option '%s %s': %s", name, val, ub_strerror(rc));
		return -1;
	}
	return 0;
}

/* Is the owner (first word) of a zone-file line the root "."? */
static int
owner_is_root(const char *line)
{
	return line[0] == '.' && (line[1] == ' ' || line[1] == '\t');
}

/*
 * The trust anchor must exist and hold a DS or DNSKEY line for the root: unbound
 * silently treats a missing anchor as "no validation", which would make
 * every answer look insecure (R-FLOW-7).
 */
static int
anchor_ok(const char *path, int *autotrust, char *err, size_t errlen)
{
	FILE *f;
	char line[4096];
	int found = 0;

	*autotrust = 0;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "dns.trust_anchor is empty: refusing to run without DNSSEC validation");
		return -1;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "dns.trust_anchor %s: %s", path, strerror(errno));
		return -1;
	}
	while (found != 2 && fgets(line, sizeof(line), f) != NULL) {
		char *c = strchr(line, ';');
		if (c != NULL && strstr(c, "autotrust trust anchor file") != NULL)
			*autotrust = 1;
		if (c != NULL)
			*c = '\0';
		if (strstr(line, " DS ") || strstr(line, "\tDS\t") || strstr(line, "\tDS ") ||
		    strstr(line, " DNSKEY ") || strstr(line, "\tDNSKEY\t") || strstr(line, "\tDNSKEY "))
			found = owner_is_root(line) ? 2 : 1;
	}
	fclose(f);
	if (found != 2) {
		/* An anchor for another zone leaves the root unanchored. */
		snprintf(err, errlen, "dns.trust_anchor %s holds no DS or DNSKEY record%s", path,
		    found ? " for the root zone '.'" : "");
		return -1;
	}
	return 0;
}

static int
configure(struct dns_resolver *r, const struct config *c, char *err, size_t errlen)
{
	int rc, autr;
	size_t i;

	if (anchor_ok(c->dns_trust_anchor, &autr, err, errlen) != 0)
		return -1;
	for (i = 0; i < c->dns_unbound_option.n; i++)
		if (set_option(r->ub, c->dns_unbound_option.v[i], err, errlen) != 0)
			return -1;
	if (c->dns_root_hints != NULL && *c->dns_root_hints != '\0' &&
	    (rc = ub_ctx_set_option(r->ub, "root-hints:", c->dns_root_hints)) != 0) {
		snprintf(err, errlen, "dns.root_hints %s: %s", c->dns_root_hints, ub_strerror(rc));
		return -1;
	}
	if (c->dns_forwarder != NULL && *c->dns_forwarder != '\0') {
		rc = strcmp(c->dns_forwarder, "resolv.conf") == 0 ?
		    ub_ctx_resolvconf(r->ub, NULL) : ub_ctx_set_fwd(r->ub, c->dns_forwarder);
		if (rc != 0) {
			snprintf(err, errlen, "dns.forwarder %s: %s", c->dns_forwarder, ub_strerror(rc));
			return -1;
		}
	}
	/*
	 * RFC 5011 tracking where the file allows it: an autotrust state file
	 * (as unbound-anchor keeps in /var/lib/unbound) that we may write.
	 * A plain anchor (Debian's /usr/share/dns/root.key, a test network's
	 * DS) is loaded as it is.
	 */
	autr = autr && access(c->dns_trust_anchor, W_OK) == 0;
	rc = autr ? ub_ctx_add_ta_autr(r->ub, c->dns_trust_anchor) :
	    ub_ctx_add_ta_file(r->ub, c->dns_trust_anchor);
	if (rc != 0 ||
	    (rc = ub_ctx_async(r->ub, 1)) != 0) {
		snprintf(err, errlen, "dns.trust_anchor %s: %s", c->dns_trust_anchor, ub_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Force unbound to finalize its configuration now (it does so at the first
 * query), so a trust anchor that does not parse is refused at start, not
 * discovered at the first delivery.  "localhost." is one of unbound's own
 * local zones: no network is involved.
 */
static int
finalize(struct dns_resolver *r, char *err, size_t errlen)
{
	struct ub_result *res = NULL;
	int rc = ub_resolve(r->ub, "localhost.", T_A, 1, &res);

	if (res != NULL)
		ub_resolve_free(res);
	if (rc != 0) {
		snprintf(err, errlen, "resolver start: %s (check dns.trust_anchor and dns.unbound_option)",
		    ub_strerror(rc));
		return -1;
	}
	return 0;
}

int
dns_resolver_new(const struct config *c, struct dns_resolver **out, char *err,
    size_t errlen)
{
	struct dns_resolver *r;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->timeout_ms = (int)(c->dns_timeout > 0 ? c->dns_timeout : 20) * 1000;
	r->ub = ub_ctx_create();
	if (r->ub == NULL) {
		snprintf(err, errlen, "ub_ctx_create failed");
		free(r);
		return -1;
	}
	if (configure(r, c, err, errlen) != 0 || finalize(r, err, errlen) != 0) {
		dns_resolver_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void
dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	if (r->ub != NULL)
		ub_ctx_delete(r->ub);
	free(r);
}

/* ------------------------------------------------ one query */

struct pending {
	int done;
	int err;
	struct ub_result *res;
};

static void
on_result(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	p->done = 1;
	p->err = err;
	p->res = res;
}

static long
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Host names only: LDH, '_' (for _25._tcp), dots; lower-cased copy. */
static int
norm_name(const char *in, char *out, size_t cap)
{
	size_t i, n = strlen(in);

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX || n + 1 > cap)
		return -1;
	for (i = 0; i < n; i++) {
		char ch = in[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.')) {
			out[0] = '\0';	/* never leave a prefix that looks like a name */
			return -1;
		}
		out[i] = ch;
	}
	out[n] = '\0';
	return 0;
}

static void
meta_fail(struct dns_meta *m, enum dns_state st, const char *why)
{
	m->state = st;
	snprintf(m->why, sizeof(m->why), "%s", why);
}

/* Classify a result into exactly one state (R-FLOW-7). */
static void
classify(struct dns_meta *m, const struct ub_result *res)
{
	m->rcode = res->rcode;
	m->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	if (res->canonname != NULL && strcasecmp(res->canonname, res->qname) != 0)
		norm_name(res->canonname, m->canon, sizeof(m->canon));
	if (res->bogus) {
		meta_fail(m, DNS_BOGUS, res->why_bogus ? res->why_bogus : "validation failed");
		return;
	}
	if (res->was_ratelimited || (res->rcode != 0 && res->rcode != 3)) {
		char why[64];
		snprintf(why, sizeof(why), "rcode %d%s", res->rcode,
		    res->rcode == 2 ? " (SERVFAIL)" : "");
		meta_fail(m, DNS_TEMPFAIL, why);
		return;
	}
	m->state = res->secure ? DNS_SECURE : DNS_INSECURE;
	m->nxdomain = res->nxdomain != 0;
	m->nodata = !m->nxdomain && !res->havedata;
}

/*
 * Run one query with the dns.timeout deadline.  On return *resp is the
 * result (caller frees) only when m->state is SECURE or INSECURE.
 */
static void
query(struct dns_resolver *r, const char *name, int type, struct dns_meta *m,
    struct ub_result **resp)
{
	struct pending p = {0, 0, NULL};
	int id, rc;
	long deadline = now_ms() + r->timeout_ms;

	*resp = NULL;
	memset(m, 0, sizeof(*m));
	if (norm_name(name, m->qname, sizeof(m->qname)) != 0) {
		meta_fail(m, DNS_TEMPFAIL, "not a valid host name");
		return;
	}
	rc = ub_resolve_async(r->ub, m->qname, type, 1, &p, on_result, &id);
	if (rc != 0) {
		meta_fail(m, DNS_TEMPFAIL, ub_strerror(rc));
		return;
	}
	while (!p.done) {
		long left = deadline - now_ms();
		struct pollfd pfd = {ub_fd(r->ub), POLLIN, 0};
		if (left <= 0) {
			(void)ub_cancel(r->ub, id);	/* no callback after this */
			meta_fail(m, DNS_TEMPFAIL, "timed out");
			return;
		}
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno != EINTR) {
			(void)ub_cancel(r->ub, id);
			meta_fail(m, DNS_TEMPFAIL, strerror(errno));
			return;
		}
		if (rc > 0 && (rc = ub_process(r->ub)) != 0) {
			meta_fail(m, DNS_TEMPFAIL, ub_strerror(rc));
			return;
		}
	}
	if (p.err != 0 || p.res == NULL) {
		meta_fail(m, DNS_TEMPFAIL, p.err ? ub_strerror(p.err) : "no result");
		if (p.res != NULL)
			ub_resolve_free(p.res);
		return;
	}
	classify(m, p.res);
	if (m->state == DNS_BOGUS || m->state == DNS_TEMPFAIL) {
		ub_resolve_free(p.res);		/* bogus data is never used */
		return;
	}
	*resp = p.res;
}

static size_t
count_data(const struct ub_result *res, size_t *total)
{
	size_t n = 0;

	*total = 0;
	if (res->havedata)
		for (; res->data[n] != NULL; n++)
			*total += (size_t)res->len[n];
	return n;
}

/* ------------------------------------------------ TXT */

int
dns_lookup_txt(struct dns_resolver *r, const char *name, struct dns_txt **out)
{
	struct dns_txt *t;
	struct ub_result *res;
	size_t i, n, total, off = 0;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	query(r, name, T_TXT, &t->m, &res);
	if (res == NULL) {
		*out = t;
		return 0;
	}
	n = count_data(res, &total);
	t->buf_ = malloc(total + 1);
	if (t->buf_ == NULL) {
		ub_resolve_free(res);
		free(t);
		return -1;
	}
	/*
	 * Beyond DNS_MAX_RRS records, keep the ones that start like an NTA
	 * record first (pass 0): dropping a third NTA record would hide a
	 * too-many-records violation (R-NTA-3).  Judged on the concatenated
	 * strings (R-NTA-7): "v=" "NTA7516-1;..." is an NTA record too.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < n && t->n < DNS_MAX_RRS; i++) {
			const unsigned char *d = (const unsigned char *)res->data[i];
			long l = nta_txt_concat(d, (size_t)res->len[i], t->buf_ + off,
			    total + 1 - off);
			int nta;

			if (l < 0)
				continue;	/* malformed RDATA: not a record */
			nta = l >= 5 && memcmp(t->buf_ + off, "v=NTA", 5) == 0;
			if (nta != (pass == 0))
				continue;	/* its bytes are overwritten by the next one */
			t->rr[t->n].data = t->buf_ + off;
			t->rr[t->n].len = (size_t)l;
			t->n++;
			off += (size_t)l;
		}
	}
	if (t->m.state == DNS_SECURE && dns_wire_rrsig_orig_ttl(res->answer_packet,
	    (size_t)(res->answer_len > 0 ? res->answer_len : 0), T_TXT, &t->orig_ttl) == 0)
		t->have_orig_ttl = 1;
	ub_resolve_free(res);
	*out = t;
	return 0;
}

void
dns_txt_free(struct dns_txt *t)
{
	if (t == NULL)
		return;
	free(t->buf_);
	free(t);
}

/* ------------------------------------------------ names in RDATA */

/* Uncompressed wire name (libunbound decompresses RDATA) to text. */
static int
wire_name(const unsigned char *p, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < len && p[i] != 0) {
		size_t l = p[i++];
		if (l > 63 || i + l > len || o + l + 2 > cap)
			return -1;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	if (i >= len)
		return -1;
	out[o] = '\0';
	return 0;
}

/* ------------------------------------------------ MX */

static void
sort_mx(struct dns_mx *m)
{
	size_t i, j;

	for (i = 1; i < m->n; i++) {
		struct dns_mx_host t = m->mx[i];
		for (j = i; j > 0 && m->mx[j - 1].pref > t.pref; j--)
			m->mx[j] = m->mx[j - 1];
		m->mx[j] = t;
	}
	/* RFC 5321 5.1: randomize among equal preferences. */
	for (i = 0; i < m->n; i = j) {
		for (j = i + 1; j < m->n && m->mx[j].pref == m->mx[i].pref; j++)
			;
		for (size_t k = j - 1; k > i; k--) {
			size_t x = i + arc4random_uniform((uint32_t)(k - i + 1));
			struct dns_mx_host t = m->mx[k];
			m->mx[k] = m->mx[x];
			m->mx[x] = t;
		}
	}
}

static void
fill_mx(struct dns_mx *m, const struct ub_result *res)
{
	size_t i, total, n = count_data(res, &total);

	for (i = 0; i < n; i++) {
		const unsigned char *d = (const unsigned char *)res->data[i];
		char host[DNS_NAME_MAX + 2];

		if (res->len[i] < 3 || wire_name(d + 2, (size_t)res->len[i] - 2, host, sizeof(host)) != 0)
			continue;
		if (host[0] == '\0') {
			m->null_mx = 1;		/* RFC 7505: "." */
			continue;
		}
		if (m->n >= DNS_MAX_RRS || norm_name(host, m->mx[m->n].host, sizeof(m->mx[0].host)) != 0)
			continue;
		m->mx[m->n++].pref = (uint16_t)(d[0] << 8 | d[1]);
	}
	if (m->null_mx)
		m->n = 0;			/* undeliverable: no host at all */
	sort_mx(m);
}

int
dns_lookup_mx(struct dns_resolver *r, const char *domain, struct dns_mx **out)
{
	struct dns_mx *m;
	struct ub_result *res;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -1;
	query(r, domain, T_MX, &m->m, &res);
	if (res != NULL) {
		fill_mx(m, res);
		ub_resolve_free(res);
		/* RFC 5321 5.1: no MX at an existing name -> the name itself. */
		if (m->m.nodata && !m->null_mx) {
			m->implicit = 1;
			m->n = 1;
			m->mx[0].pref = 0;
			memcpy(m->mx[0].host, m->m.qname, sizeof(m->mx[0].host));
		}
	}
	*out = m;
	return 0;
}

void
dns_mx_free(struct dns_mx *m)
{
	free(m);
}

/* ------------------------------------------------ A / AAAA */

static void
fill_addrs(struct dns_addrs *a, const struct ub_result *res, int family)
{
	size_t i, total, n = count_data(res, &total);
	size_t want = family == AF_INET ? 4 : 16;

	for (i = 0; i < n && a->n < DNS_MAX_RRS; i++) {
		if ((size_t)res->len[i] != want)
			continue;
		a->ip[a->n].family = family;
		memcpy(a->ip[a->n].addr, res->data[i], want);
		a->n++;
	}
}

static int
rank(enum dns_state s)
{
	/* Weakest wins: bogus > tempfail > insecure > secure. */
	switch (s) {
	case DNS_BOGUS: return 3;
	case DNS_TEMPFAIL: return 2;
	case DNS_INSECURE: return 1;
	default: return 0;
	}
}

int
dns_lookup_addrs(struct dns_resolver *r, const char *host, struct dns_addrs **out)
{
	struct dns_addrs *a;
	struct ub_result *res;
	const struct dns_meta *w;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -1;
	query(r, host, T_A, &a->a, &res);
	if (res != NULL) {
		fill_addrs(a, res, AF_INET);
		ub_resolve_free(res);
	}
	query(r, host, T_AAAA, &a->aaaa, &res);
	if (res != NULL) {
		fill_addrs(a, res, AF_INET6);
		ub_resolve_free(res);
	}
	w = rank(a->aaaa.state) > rank(a->a.state) ? &a->aaaa : &a->a;
	a->m = *w;
	a->m.nxdomain = a->a.nxdomain && a->aaaa.nxdomain;
	a->m.nodata = !a->m.nxdomain && a->n == 0 && rank(w->state) < 2;
	a->m.ttl = a->a.ttl < a->aaaa.ttl || a->aaaa.nodata ? a->a.ttl : a->aaaa.ttl;
	if (a->m.canon[0] == '\0')
		memcpy(a->m.canon, a->aaaa.canon, sizeof(a->m.canon));
	*out = a;
	return 0;
}

void
dns_addrs_free(struct dns_addrs *a)
{
	free(a);
}

/* ------------------------------------------------ TLSA */

/* RFC 7672 3.1.3: only DANE-TA(2)/DANE-EE(3) are usable for SMTP. */
static int
tlsa_usable(const unsigned char *d)
{
	return (d[0] == 2 || d[0] == 3) && d[1] <= 1 && d[2] <= 2;
}

static int
fill_tlsa(struct dns_tlsa *t, const struct ub_result *res)
{
	size_t i, total, n = count_data(res, &total), off = 0;

	t->buf_ = malloc(total + 1);
	if (t->buf_ == NULL)
		return -1;
	/*
	 * Beyond DNS_MAX_RRS records, the usable ones are kept first (pass 0):
	 * dropping them for unusable ones would turn DANE into Bijlage C.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < n && t->n < DNS_MAX_RRS; i++) {
			const unsigned char *d = (const unsigned char *)res->data[i];
			size_t l = (size_t)res->len[i];
			struct dns_tlsa_rr *rr;

			if (l < 4 || tlsa_usable(d) != (pass == 0))
				continue;
			rr = &t->rr[t->n++];
			rr->usage = d[0];
			rr->selector = d[1];
			rr->mtype = d[2];
			memcpy(t->buf_ + off, d + 3, l - 3);
			rr->data = t->buf_ + off;
			rr->len = l - 3;
			off += l - 3;
			if (pass == 0)
				t->n_usable++;
		}
	}
	return 0;
}

int
dns_lookup_tlsa_at(struct dns_resolver *r, const char *owner, struct dns_tlsa **out)
{
	struct dns_tlsa *t;
	struct ub_result *res;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->looked_up = 1;
	query(r, owner, T_TLSA, &t->m, &res);
	memcpy(t->owner, t->m.qname, sizeof(t->owner));
	if (res != NULL) {
		int rc = fill_tlsa(t, res);
		ub_resolve_free(res);
		if (rc != 0) {
			dns_tlsa_free(t);
			return -1;
		}
	}
	*out = t;
	return 0;
}

static int
tlsa_owner(char *out, size_t cap, uint16_t port, const char *host)
{
	int w = snprintf(out, cap, "_%u._tcp.%s", (unsigned)port, host);

	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int
dns_lookup_tlsa(struct dns_resolver *r, const char *host, uint16_t port,
    const struct dns_addrs *addrs, struct dns_tlsa **out)
{
	char owner[DNS_NAME_MAX + 16];
	struct dns_tlsa *t;

	*out = NULL;
	if (addrs->m.state != DNS_SECURE) {
		/* RFC 7672 2.2: no TLSA lookup for insecure or failed addresses. */
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			return -1;
		t->m = addrs->m;
		if (t->m.state == DNS_INSECURE)
			snprintf(t->m.why, sizeof(t->m.why), "address records not secure: TLSA not looked up");
		*out = t;
		return 0;
	}
	/* RFC 7672 2.2.2: secure CNAME expansion -> the target name first. */
	if (addrs->m.canon[0] != '\0') {
		if (tlsa_owner(owner, sizeof(owner), port, addrs->m.canon) != 0 ||
		    dns_lookup_tlsa_at(r, owner, &t) != 0)
			return -1;
		if (t->n > 0 || t->m.state == DNS_BOGUS || t->m.state == DNS_TEMPFAIL) {
			memcpy(t->base, addrs->m.canon, sizeof(t->base));
			*out = t;
			return 0;
		}
		dns_tlsa_free(t);
	}
	if (tlsa_owner(owner, sizeof(owner), port, host) != 0 ||
	    dns_lookup_tlsa_at(r, owner, &t) != 0)
		return -1;
	if (norm_name(host, t->base, sizeof(t->base)) != 0)
		t->base[0] = '\0';
	*out = t;
	return 0;
}

void
dns_tlsa_free(struct dns_tlsa *t)
{
	if (t == NULL)
		return;
	free(t->buf_);
	free(t);
}
