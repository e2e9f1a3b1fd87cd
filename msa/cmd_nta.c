/*
 * cmd_nta.c - "ntamsa nta parse" and "ntamsa nta check".
 *
 * parse validates records given on the command line as one published set;
 * check does the live lookups the delivery policy does (R-FLOW-2..4) and
 * prints what DNS decides, as text or one JSON object.
 */
#include "msa/cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "ntadns/ntadns.h"
#include "outbound/facts.h"
#include "outbound/policy.h"
#include "outbound/smtpc.h"

#define CHECK_HOSTS_MAX 8

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ntamsa nta parse [--at YYYY-MM-DD] [--ttl N] RECORD...\n"
	    "       ntamsa nta check [--connect] [--json] DOMAIN\n"
	    "\n"
	    "parse  validate RECORDs as the TXT record set of one domain (spec section 3);\n"
	    "       --at: the Dutch date to validate at (default today), --ttl: the\n"
	    "       published TTL to check (R-NTA-4).  Exit 0 for a valid claim, 1 otherwise.\n"
	    "check  live DNSSEC-validated lookups: NTA records with TTL and DNSSEC state,\n"
	    "       the verdict, the mail hosts (ntamx or MX) with address and TLSA state,\n"
	    "       and the channel health mail would take as far as DNS decides\n"
	    "       (dane, bijlage-c, bijlage-b, portal; deferred for bogus/tempfail).\n"
	    "       --connect: then connect to every mail host the delivery plan names\n"
	    "       (port outbound.port) with the verification health mail requires,\n"
	    "       sending only EHLO, STARTTLS, EHLO and QUIT (never a message); print\n"
	    "       per address STARTTLS, TLS version, cipher, peer certificate SHA-256,\n"
	    "       DANE / PKIX / OU results and the policy's verdict, then the channel\n"
	    "       health mail would take now (dane, bijlage-c, bijlage-b, portal,\n"
	    "       deferred) and the channel of regular mail.\n"
	    "       Exit 0 when the domain has a valid claim, 1 otherwise.\n");
}

/* Printable form of record bytes: non-printables as \xNN. */
static void
put_escaped(FILE *f, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fputc(p[i], f);
		else
			fprintf(f, "\\x%02x", p[i]);
	}
}

/* JSON string with escapes; bytes >= 0x80 as \u00XX (records are ASCII). */
static void
put_json(FILE *f, const unsigned char *p, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], f);
		else
			fprintf(f, "\\u%04x", p[i]);
	}
	fputc('"', f);
}

static void
put_jstr(FILE *f, const char *s)
{
	put_json(f, (const unsigned char *)s, strlen(s));
}

static int
load_certified(const struct config *c, struct nta_providers **out)
{
	char err[256];

	*out = NULL;
	if (c->nta_certified_providers == NULL || *c->nta_certified_providers == '\0')
		return 0;
	if (nta_providers_load(c->nta_certified_providers, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "ntamsa nta: nta.certified_providers: %s\n", err);
		return -1;
	}
	return 0;
}

static void
print_reason(const char *indent, const struct nta_reason_item *r)
{
	printf("%sreason: %s: %s", indent, nta_reason_code(r->code),
	    nta_reason_sentence(r->code));
	if (r->detail[0] != '\0')
		printf(" (%s)", r->detail);
	printf("\n");
}

static const char *
rec_status(enum nta_rec_status s)
{
	return s == NTA_REC_VALID ? "valid" : s == NTA_REC_OUTSIDE ? "outside-period" : "invalid";
}

static void
print_set_text(const struct nta_set *s)
{
	struct nta_mx hosts[NTA_MAX_NTAMX];
	size_t i, j, nh;

	printf("%s\n", s->verdict == NTA_VALID ? "valid" : "invalid");
	if (s->verdict == NTA_NONE) {
		struct nta_reason_item none = {NTA_R_NO_RECORD, ""};
		print_reason("", &none);
	}
	for (i = 0; i < s->n_reasons; i++)
		print_reason(s->reasons[i].code == NTA_R_BAD_VERSION ? "note: " : "",
		    &s->reasons[i]);
	for (i = 0; i < s->n_kept; i++) {
		const struct nta_record *r = &s->rec[i];
		printf("record %zu: %s\n", i + 1, rec_status(r->status));
		for (j = 0; j < r->n_reasons; j++)
			print_reason("  ", &r->reasons[j]);
		if (r->start_y)
			printf("  startdate: %04d-%02d\n", r->start_y, r->start_m);
		if (r->end_y)
			printf("  enddate: %04d-%02d\n", r->end_y, r->end_m);
		if (r->provider[0])
			printf("  provider: %s\n", r->provider);
		for (j = 0; j < r->n_mx; j++)
			printf("  ntamx: %u %s\n", (unsigned)r->mx[j].prio, r->mx[j].host);
	}
	if (s->verdict == NTA_VALID) {
		nh = nta_set_hosts(s, hosts, NTA_MAX_NTAMX);
		if (nh == 0)
			printf("hosts: use MX\n");
		for (i = 0; i < nh; i++)
			printf("host: %u %s\n", (unsigned)hosts[i].prio, hosts[i].host);
	}
}

/* ------------------------------------------------ parse */

static int
cmd_parse(const struct config *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{"at", required_argument, NULL, 'a'},
		{"ttl", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct nta_eval_opts o = {0};
	struct nta_txt txt[64];
	struct nta_set *s;
	struct nta_providers *cert;
	int ch, i, n;
	char *end;

	o.at = nta_date_of(time(NULL));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (nta_date_parse(optarg, &o.at) != 0) {
				fprintf(stderr, "ntamsa nta parse: --at wants YYYY-MM-DD\n");
				return 2;
			}
			break;
		case 't': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > UINT32_MAX || optarg[0] == '-') {
				fprintf(stderr, "ntamsa nta parse: --ttl wants seconds\n");
				return 2;
			}
			o.ttl = (uint32_t)v;
			o.check_ttl = 1;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	n = argc - optind;
	if (n < 1 || n > (int)(sizeof(txt) / sizeof(txt[0]))) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < n; i++) {
		txt[i].data = (const unsigned char *)argv[optind + i];
		txt[i].len = strlen(argv[optind + i]);
	}
	if (load_certified(c, &cert) != 0)
		return 1;
	o.certified = cert;
	s = malloc(sizeof(*s));
	if (s == NULL) {
		nta_providers_free(cert);
		return 1;
	}
	nta_set_eval(s, txt, (size_t)n, &o);
	print_set_text(s);
	ch = s->verdict == NTA_VALID ? 0 : 1;
	free(s);
	nta_providers_free(cert);
	return ch;
}

/* ------------------------------------------------ check */

struct host_view {
	char name[DNS_NAME_MAX + 1];
	unsigned pref;
	struct dns_addrs *addrs;
	struct dns_tlsa *tlsa;
	enum nta_channel ch;
};

struct check {
	const char *domain;
	struct dns_txt *txt;
	struct nta_set set;
	uint32_t ttl_checked;
	struct dns_mx *mx;		/* NULL when ntamx hosts are used */
	const char *hosts_from;		/* "ntamx" or "mx" */
	enum dns_state hosts_state;
	size_t n_hosts;
	struct host_view h[CHECK_HOSTS_MAX];
	enum nta_channel channel;
	int undeliverable;		/* null MX (RFC 7505) */
	int provider_checked;		/* nta.certified_providers set (R-NTA-9) */
};

static void
addr_text(const struct dns_ip *ip, char *out, size_t cap)
{
	if (inet_ntop(ip->family, ip->addr, out, (socklen_t)cap) == NULL)
		snprintf(out, cap, "?");
}

static void
evaluate_txt(struct check *k, const struct nta_providers *cert)
{
	struct nta_txt txt[DNS_MAX_RRS];
	struct nta_eval_opts o = {0};
	size_t i;

	o.at = nta_date_of(time(NULL));
	o.certified = cert;
	o.check_ttl = 1;
	/* R-NTA-4: the RRSIG's Original TTL is the published one. */
	o.ttl = k->txt->have_orig_ttl ? k->txt->orig_ttl : k->txt->m.ttl;
	k->ttl_checked = o.ttl;
	for (i = 0; i < k->txt->n; i++) {
		txt[i].data = k->txt->rr[i].data;
		txt[i].len = k->txt->rr[i].len;
	}
	nta_set_eval(&k->set, txt, k->txt->n, &o);
}

static int
gather_hosts(struct check *k, struct dns_resolver *r)
{
	struct nta_mx nh[NTA_MAX_NTAMX];
	size_t i, n = nta_set_hosts(&k->set, nh, NTA_MAX_NTAMX);

	if (n > 0) {
		k->hosts_from = "ntamx";
		k->hosts_state = k->txt->m.state;
		for (i = 0; i < n && i < CHECK_HOSTS_MAX; i++) {
			memcpy(k->h[i].name, nh[i].host, sizeof(k->h[i].name));
			k->h[i].pref = nh[i].prio;
		}
		k->n_hosts = i;
		return 0;
	}
	if (k->txt->m.state == DNS_TEMPFAIL) {
		/* Deferred anyway; a second time-out would only slow the answer. */
		k->hosts_from = "none";
		k->hosts_state = DNS_TEMPFAIL;
		return 0;
	}
	k->hosts_from = "mx";
	if (dns_lookup_mx(r, k->domain, &k->mx) != 0)
		return -1;
	k->hosts_state = k->mx->m.state;
	k->undeliverable = k->mx->null_mx;
	for (i = 0; i < k->mx->n && i < CHECK_HOSTS_MAX; i++) {
		memcpy(k->h[i].name, k->mx->mx[i].host, sizeof(k->h[i].name));
		k->h[i].pref = k->mx->mx[i].pref;
	}
	k->n_hosts = i;
	return 0;
}

static int
probe_hosts(struct check *k, struct dns_resolver *r)
{
	size_t i;
	int all_deferred = 1, decided = 0;
	enum dns_state ts = k->txt->m.state;

	for (i = 0; i < k->n_hosts; i++) {
		struct host_view *h = &k->h[i];
		if (dns_lookup_addrs(r, h->name, &h->addrs) != 0 ||
		    dns_lookup_tlsa(r, h->name, 25, h->addrs, &h->tlsa) != 0)
			return -1;
		h->ch = nta_channel_for_host(ts, k->set.verdict, k->hosts_state, h->addrs, h->tlsa);
		/* Mail tries hosts in order; a deferred host hands over to the next. */
		if (h->ch != NTA_CH_DEFERRED && !decided) {
			k->channel = h->ch;
			decided = 1;
		}
		if (h->ch != NTA_CH_DEFERRED)
			all_deferred = 0;
	}
	if (k->n_hosts == 0 || all_deferred)
		k->channel = nta_channel_for_host(ts, k->set.verdict, k->hosts_state, NULL, NULL);
	return 0;
}

static void
print_meta_text(const char *label, const struct dns_meta *m)
{
	printf("%s: %s rcode=%d%s%s ttl=%u", label, dns_state_name(m->state), m->rcode,
	    m->nxdomain ? " nxdomain" : "", m->nodata ? " nodata" : "", (unsigned)m->ttl);
	if (m->canon[0])
		printf(" cname=%s", m->canon);
	if (m->why[0])
		printf(" why=\"%s\"", m->why);
	printf("\n");
}

static void
print_check_text(const struct check *k)
{
	size_t i, j;
	char a[64];

	printf("domain: %s\n", k->domain);
	print_meta_text("txt", &k->txt->m);
	if (k->txt->have_orig_ttl)
		printf("txt-original-ttl: %u\n", (unsigned)k->txt->orig_ttl);
	for (i = 0; i < k->txt->n; i++) {
		printf("txt-record: ");
		put_escaped(stdout, k->txt->rr[i].data, k->txt->rr[i].len);
		printf("\n");
	}
	printf("verdict: %s\n", nta_verdict_name(k->set.verdict));
	printf("provider-check: %s\n", k->provider_checked ? "certified-list" : "provider-unchecked");
	if (k->txt->m.state == DNS_SECURE || k->txt->m.state == DNS_INSECURE)
		print_set_text(&k->set);
	printf("hosts-from: %s (%s)\n", k->hosts_from, dns_state_name(k->hosts_state));
	if (k->mx != NULL) {
		print_meta_text("mx", &k->mx->m);
		if (k->mx->implicit)
			printf("mx-implicit: yes\n");
		if (k->mx->null_mx)
			printf("mx-null: yes (RFC 7505: undeliverable)\n");
	}
	for (i = 0; i < k->n_hosts; i++) {
		const struct host_view *h = &k->h[i];
		printf("mailhost: %u %s\n", h->pref, h->name);
		print_meta_text("  address", &h->addrs->m);
		for (j = 0; j < h->addrs->n; j++) {
			addr_text(&h->addrs->ip[j], a, sizeof(a));
			printf("  addr: %s\n", a);
		}
		if (h->tlsa->looked_up)
			print_meta_text("  tlsa", &h->tlsa->m);
		else
			printf("  tlsa: not-looked-up (address records %s)\n",
			    dns_state_name(h->addrs->m.state));
		for (j = 0; j < h->tlsa->n; j++)
			printf("  tlsa-record: %u %u %u (%zu bytes)\n", h->tlsa->rr[j].usage,
			    h->tlsa->rr[j].selector, h->tlsa->rr[j].mtype, h->tlsa->rr[j].len);
		printf("  channel: %s\n", nta_channel_name(h->ch));
	}
	printf("channel: %s\n", k->undeliverable && k->n_hosts == 0 ? "undeliverable" :
	    nta_channel_name(k->channel));
	/* What the deliver worker does then (outbound/policy.c, R-FLOW-9): a
	 * DSN, for health mail too, whatever the NTA record says. */
	if (k->undeliverable && k->n_hosts == 0)
		printf("bounce: 556 5.1.10 (null MX)\n");
}

static void
json_meta(const char *key, const struct dns_meta *m)
{
	printf("\"%s\":{\"state\":\"%s\",\"rcode\":%d,\"nxdomain\":%s,\"nodata\":%s,\"ttl\":%u,\"cname\":",
	    key, dns_state_name(m->state), m->rcode, m->nxdomain ? "true" : "false",
	    m->nodata ? "true" : "false", (unsigned)m->ttl);
	put_jstr(stdout, m->canon);
	printf(",\"why\":");
	put_jstr(stdout, m->why);
	printf("}");
}

static void
json_set(const struct nta_set *s)
{
	size_t i, j;

	printf("\"reasons\":[");
	for (i = 0; i < s->n_reasons; i++) {
		printf("%s{\"code\":\"%s\",\"detail\":", i ? "," : "",
		    nta_reason_code(s->reasons[i].code));
		put_jstr(stdout, s->reasons[i].detail);
		printf("}");
	}
	printf("],\"records\":[");
	for (i = 0; i < s->n_kept; i++) {
		const struct nta_record *r = &s->rec[i];
		printf("%s{\"status\":\"%s\",\"startdate\":\"%04d-%02d\",\"enddate\":\"%04d-%02d\",\"provider\":",
		    i ? "," : "", rec_status(r->status), r->start_y, r->start_m, r->end_y, r->end_m);
		put_jstr(stdout, r->provider);
		printf(",\"ntamx\":[");
		for (j = 0; j < r->n_mx; j++) {
			printf("%s{\"priority\":%u,\"host\":", j ? "," : "", (unsigned)r->mx[j].prio);
			put_jstr(stdout, r->mx[j].host);
			printf("}");
		}
		printf("],\"reasons\":[");
		for (j = 0; j < r->n_reasons; j++) {
			printf("%s{\"code\":\"%s\",\"detail\":", j ? "," : "",
			    nta_reason_code(r->reasons[j].code));
			put_jstr(stdout, r->reasons[j].detail);
			printf("}");
		}
		printf("]}");
	}
	printf("]");
}

static void
json_host(const struct host_view *h)
{
	size_t j;
	char a[64];

	printf("{\"host\":");
	put_jstr(stdout, h->name);
	printf(",\"preference\":%u,", h->pref);
	json_meta("address", &h->addrs->m);
	printf(",\"addresses\":[");
	for (j = 0; j < h->addrs->n; j++) {
		addr_text(&h->addrs->ip[j], a, sizeof(a));
		printf("%s\"%s\"", j ? "," : "", a);
	}
	printf("],\"tlsa_looked_up\":%s,", h->tlsa->looked_up ? "true" : "false");
	json_meta("tlsa", &h->tlsa->m);
	printf(",\"tlsa_records\":%zu,\"tlsa_usable\":%zu,\"channel\":\"%s\"}",
	    h->tlsa->n, h->tlsa->n_usable, nta_channel_name(h->ch));
}

static void
print_check_json(const struct check *k)
{
	size_t i;

	printf("{\"domain\":");
	put_jstr(stdout, k->domain);
	printf(",");
	json_meta("txt", &k->txt->m);
	printf(",\"txt_original_ttl\":");
	if (k->txt->have_orig_ttl)
		printf("%u", (unsigned)k->txt->orig_ttl);
	else
		printf("null");
	printf(",\"txt_records\":[");
	for (i = 0; i < k->txt->n; i++) {
		if (i)
			printf(",");
		put_json(stdout, k->txt->rr[i].data, k->txt->rr[i].len);
	}
	printf("],\"verdict\":\"%s\",\"reason\":\"%s\",", nta_verdict_name(k->set.verdict),
	    nta_reason_code(nta_set_first_reason(&k->set)));
	json_set(&k->set);
	printf(",\"provider_check\":\"%s\"", k->provider_checked ? "certified-list" : "provider-unchecked");
	printf(",\"hosts_from\":\"%s\",\"hosts_state\":\"%s\",", k->hosts_from,
	    dns_state_name(k->hosts_state));
	if (k->mx != NULL) {
		json_meta("mx", &k->mx->m);
		printf(",\"mx_implicit\":%s,\"null_mx\":%s,", k->mx->implicit ? "true" : "false",
		    k->mx->null_mx ? "true" : "false");
	}
	printf("\"hosts\":[");
	for (i = 0; i < k->n_hosts; i++) {
		if (i)
			printf(",");
		json_host(&k->h[i]);
	}
	/* The caller closes the object (--connect appends its part). */
	printf("],\"channel\":\"%s\"", k->undeliverable && k->n_hosts == 0 ?
	    "undeliverable" : nta_channel_name(k->channel));
}

/* ------------------------------------------------ check --connect */

/*
 * The TLS probe runs the deliver worker's own steps (facts.h -> policy plan
 * -> smtpc_open with the hop's verification -> policy judge -> after
 * failure) for a health and a regular message that do not exist: smtpc_open
 * stops after EHLO/STARTTLS/EHLO and smtpc_close sends QUIT, so no MAIL
 * command and no message byte is ever sent.
 */

#define PROBE_MAX 32		/* connections per kind: hosts x addresses */
#define PROBE_CMD_TIMEOUT 30	/* seconds per reply: a probe, not a delivery */

struct probe {
	const struct out_hop *hop;
	char addr[OUT_ADDRSTR_MAX];	/* "" when the hop was skipped */
	int noaddr;			/* not skipped, but no address to try */
	int rc;				/* smtpc_open result */
	int plain_retry;		/* opportunistic TLS failed, plaintext tried */
	struct smtpc_facts f;
	char reply[SMTPC_REPLY_MAX];
	enum out_judgement j;
	enum out_reason why;
};

struct conn_kind {
	const char *kind;		/* "health" or "regular" */
	int local_failure;		/* facts or plan failed on our side */
	struct out_dns_facts df;
	struct out_msg_facts m;
	struct out_plan plan;
	size_t n;
	struct probe p[PROBE_MAX];
	const char *channel;		/* dane bijlage-c bijlage-b regular portal
					 * deferred undeliverable */
	enum out_reason reason;
};

struct conn_ctx {
	const struct config *c;
	struct dns_resolver *r;
	struct smtpc_tls *tls;
	struct out_policy_cfg pc;
	int pc_ok;
	const char *helo;
	time_t now;
};

static void
probe_params(const struct conn_ctx *x, const struct out_hop *hop, const char *addr,
    struct smtpc_tlsa *tl, struct smtpc_params *p)
{
	size_t k;

	memset(p, 0, sizeof(*p));
	p->host = hop->host->name;
	p->tlsa_base = hop->host->tlsa_base[0] ? hop->host->tlsa_base : NULL;
	p->addr = addr;
	p->port = (int)x->c->out_port;
	p->helo = x->helo;
	p->bind = x->c->out_bind;
	p->connect_timeout = (int)x->c->out_connect_timeout;
	p->cmd_timeout = PROBE_CMD_TIMEOUT;
	p->nta = out_channel_is_nta(hop->channel);
	switch (hop->verify) {
	case OUT_VERIFY_TLS_UNAUTH: p->require_tls = 1; break;
	case OUT_VERIFY_DANE: p->auth = SMTPC_AUTH_DANE; break;
	case OUT_VERIFY_PKIX_HOST: p->auth = SMTPC_AUTH_PKIX; break;
	case OUT_VERIFY_PKIX_OU: p->auth = SMTPC_AUTH_PKIX_OU; break;
	default: break;
	}
	for (k = 0; k < hop->n_tlsa && k < OUT_TLSA_MAX; k++) {
		const struct out_tlsa *t = hop->tlsa[k];
		tl[k] = (struct smtpc_tlsa){.usage = t->usage, .selector = t->selector,
		    .mtype = t->mtype, .data = t->data, .len = t->len};
	}
	p->tlsa = tl;
	p->n_tlsa = k;
}

/* One connection: open as the hop demands, QUIT, judge. */
static void
probe_one(const struct conn_ctx *x, struct conn_kind *ck, struct probe *p)
{
	struct smtpc_tlsa tl[OUT_TLSA_MAX];
	struct smtpc_params sp;
	struct out_tls_facts tf;
	struct smtpc *sc = NULL;

	probe_params(x, p->hop, p->addr, tl, &sp);
	p->rc = smtpc_open(x->tls, &sp, &sc, &p->f, p->reply, sizeof(p->reply));
	smtpc_close(sc);
	if (p->rc == SMTPC_CHANNEL && p->hop->verify == OUT_VERIFY_OPPORTUNISTIC) {
		/* As the deliver worker does for regular mail (RFC 7435). */
		p->plain_retry = 1;
		sp.no_starttls = 1;
		sc = NULL;
		p->rc = smtpc_open(x->tls, &sp, &sc, &p->f, p->reply, sizeof(p->reply));
		smtpc_close(sc);
	}
	out_tls_facts_from_smtpc(&p->f, p->rc, &tf);
	p->j = out_policy_judge(p->hop, &ck->m, &tf, &p->why);
	if (p->rc != SMTPC_OK && (p->j == OUT_PASS || p->why == OUT_R_OK)) {
		p->j = OUT_FAIL;
		p->why = OUT_R_CONNECT_FAILED;	/* smtpc refused what policy passed */
	}
}

/* The failure after_failure() gets: the first certificate-level one, else the last. */
static void
probe_failure(const struct conn_kind *ck, enum out_channel *ch, enum out_reason *why)
{
	size_t i;

	*ch = OUT_CH_NONE;
	*why = OUT_R_CONNECT_FAILED;
	for (i = 0; i < ck->n; i++) {
		enum out_reason r = ck->p[i].why;

		if (ck->p[i].noaddr)
			continue;	/* the deliver worker tries nothing there */
		*ch = ck->p[i].hop->channel;
		*why = r;
		if (r == OUT_R_DANE_MISMATCH || r == OUT_R_PKIX_FAILED ||
		    r == OUT_R_HOSTNAME_MISMATCH || r == OUT_R_OU_MISMATCH)
			return;
	}
}

/* Nothing passed (or the plan deferred): what the policy does now. */
static void
conn_after_failure(const struct conn_ctx *x, struct conn_kind *ck, enum out_channel ch,
    enum out_reason fail_r)
{
	enum out_reason why;

	switch (out_policy_after_failure(&x->pc, &ck->m, ch, fail_r, 0, &why)) {
	case OUT_NEXT_PORTAL:
		ck->channel = "portal";
		ck->reason = why;
		break;
	case OUT_NEXT_BOUNCE:
		ck->channel = "undeliverable";
		ck->reason = why;
		break;
	default:
		ck->channel = "deferred";
		ck->reason = fail_r;	/* the cause, more useful than "retry" */
		break;
	}
}

/*
 * Every host and address of the plan, in order.  Mail stops at the first
 * pass; health probes go on (the operator wants to see every host), the
 * regular one stops as mail does.
 */
static void
conn_probe_hops(const struct conn_ctx *x, struct conn_kind *ck, int stop_at_pass)
{
	size_t h, a;
	int passed = 0;

	for (h = 0; h < ck->plan.n_hop && ck->n < PROBE_MAX; h++) {
		const struct out_hop *hop = &ck->plan.hop[h];

		if (hop->skip || hop->host->n_addr == 0) {
			struct probe *p = &ck->p[ck->n++];
			p->hop = hop;
			p->j = OUT_FAIL;
			p->why = hop->skip ? hop->reason : OUT_R_NO_HOSTS;
			p->noaddr = !hop->skip;
			continue;
		}
		for (a = 0; a < hop->host->n_addr && ck->n < PROBE_MAX; a++) {
			struct probe *p = &ck->p[ck->n++];

			p->hop = hop;
			snprintf(p->addr, sizeof(p->addr), "%s", hop->host->addr[a]);
			probe_one(x, ck, p);
			if (p->j == OUT_PASS && !passed) {
				passed = 1;
				ck->channel = out_channel_name(hop->channel);
				ck->reason = hop->reason;
			}
			if (passed && stop_at_pass)
				return;
		}
	}
}

static void
conn_run(const struct conn_ctx *x, const char *domain, int health, struct conn_kind *ck)
{
	enum out_channel ch;
	enum out_reason why;

	ck->kind = health ? "health" : "regular";
	ck->m = (struct out_msg_facts){.health = health, .first_attempt = x->now,
	    .now = x->now};
	if (out_facts_gather(x->r, domain, health, (uint16_t)x->c->out_port, x->now,
	    &ck->df) != 0 || out_policy_plan(&x->pc, &ck->m, &ck->df, &ck->plan) != 0) {
		ck->local_failure = 1;
		ck->channel = "deferred";
		ck->reason = OUT_R_RETRY;
		return;
	}
	switch (ck->plan.action) {
	case OUT_ACT_PORTAL:
		ck->channel = "portal";
		ck->reason = ck->plan.reason;
		return;
	case OUT_ACT_BOUNCE:
		ck->channel = "undeliverable";
		ck->reason = ck->plan.reason;
		return;
	case OUT_ACT_DEFER:
		conn_after_failure(x, ck, OUT_CH_NONE, ck->plan.reason);
		return;
	default:
		break;
	}
	conn_probe_hops(x, ck, !health);
	if (ck->channel != NULL)
		return;
	probe_failure(ck, &ch, &why);
	conn_after_failure(x, ck, ch, why);
}

static const char *
ou_text(int ou_ok)
{
	return ou_ok < 0 ? "not-checked" : ou_ok ? "marker-found" : "no-marker";
}

static void
print_probe_text(const struct probe *p)
{
	const struct smtpc_facts *f = &p->f;

	printf("  probe: %s %s channel=%s verify=%s\n", p->hop->host->name,
	    p->addr[0] ? p->addr : "-", out_channel_name(p->hop->channel),
	    out_verify_name(p->hop->verify));
	if (p->addr[0] == '\0') {
		printf("    skipped: %s\n", out_reason_name(p->why));
		return;
	}
	printf("    connect: %s%s\n", smtpc_strerror(p->rc),
	    p->plain_retry ? " (plaintext retry after failed opportunistic TLS)" : "");
	printf("    starttls: %s\n", f->starttls_offered ? "offered" : "not-offered");
	printf("    tls: %s %s\n", f->tls ? f->tls_version : "none", f->tls ? f->cipher : "-");
	printf("    peer-sha256: %s\n", f->peer_sha256[0] ? f->peer_sha256 : "-");
	printf("    dane: tlsa-added=%d authority=%d usage=%d\n", f->tlsa_added,
	    f->dane_authority, f->dane_usage);
	printf("    pkix: %ld (%s)\n", f->verify_code, f->verify_text[0] ? f->verify_text : "-");
	printf("    ou: %s\n", ou_text(f->ou_ok));
	printf("    auth-result: %s\n", f->result[0] ? f->result : "-");
	printf("    reply: ");
	put_escaped(stdout, (const unsigned char *)p->reply, strlen(p->reply));
	printf("\n    verdict: %s (%s)\n", p->j == OUT_PASS ? "pass" : "fail",
	    out_reason_name(p->why));
}

static void
print_conn_text(const struct conn_kind *ck)
{
	size_t i;

	printf("connect-%s: plan=%s (%s)%s\n", ck->kind, ck->local_failure ? "local-failure" :
	    out_action_name(ck->plan.action), out_reason_name(ck->plan.reason),
	    ck->plan.provider_unchecked ? " provider-unchecked" : "");
	for (i = 0; i < ck->n; i++)
		print_probe_text(&ck->p[i]);
	printf("%s-channel-now: %s (%s)\n", ck->kind, ck->channel, out_reason_name(ck->reason));
}

static void
json_probe(const struct probe *p)
{
	const struct smtpc_facts *f = &p->f;

	printf("{\"host\":");
	put_jstr(stdout, p->hop->host->name);
	printf(",\"address\":");
	put_jstr(stdout, p->addr);
	printf(",\"channel\":\"%s\",\"verify\":\"%s\",\"skipped\":%s,\"connect\":\"%s\","
	    "\"plaintext_retry\":%s,\"starttls_offered\":%s,\"tls\":%s,\"tls_version\":",
	    out_channel_name(p->hop->channel), out_verify_name(p->hop->verify),
	    p->addr[0] ? "false" : "true", p->addr[0] ? smtpc_strerror(p->rc) : "",
	    p->plain_retry ? "true" : "false", f->starttls_offered ? "true" : "false",
	    f->tls ? "true" : "false");
	put_jstr(stdout, f->tls ? f->tls_version : "");
	printf(",\"cipher\":");
	put_jstr(stdout, f->tls ? f->cipher : "");
	printf(",\"peer_sha256\":");
	put_jstr(stdout, f->peer_sha256);
	printf(",\"tlsa_added\":%d,\"dane_authority\":%d,\"dane_usage\":%d,"
	    "\"pkix_code\":%ld,\"pkix_text\":", f->tlsa_added, f->dane_authority,
	    f->dane_usage, f->verify_code);
	put_jstr(stdout, f->verify_text);
	printf(",\"ou\":\"%s\",\"auth_result\":", ou_text(f->ou_ok));
	put_jstr(stdout, f->result);
	printf(",\"reply\":");
	put_json(stdout, (const unsigned char *)p->reply, strlen(p->reply));
	printf(",\"verdict\":\"%s\",\"reason\":\"%s\"}", p->j == OUT_PASS ? "pass" : "fail",
	    out_reason_name(p->why));
}

static void
json_conn(const struct conn_kind *ck)
{
	size_t i;

	printf("\"%s\":{\"plan\":\"%s\",\"plan_reason\":\"%s\",\"provider_unchecked\":%s,"
	    "\"probes\":[", ck->kind, ck->local_failure ? "local-failure" :
	    out_action_name(ck->plan.action), out_reason_name(ck->plan.reason),
	    ck->plan.provider_unchecked ? "true" : "false");
	for (i = 0; i < ck->n; i++) {
		if (i)
			printf(",");
		json_probe(&ck->p[i]);
	}
	printf("],\"channel\":\"%s\",\"reason\":\"%s\"}", ck->channel,
	    out_reason_name(ck->reason));
}

static int
conn_setup(struct conn_ctx *x, const struct config *c, struct dns_resolver *r)
{
	struct smtpc_tls_conf tc = {.ca_file = c->out_ca_file,
	    .bijlage_b_ca_file = c->nta_bijlage_b_ca_file,
	    .ou_markers = (const char *const *)c->nta_ou_markers.v,
	    .n_ou_markers = c->nta_ou_markers.n};
	char err[512];

	memset(x, 0, sizeof(*x));
	x->c = c;
	x->r = r;
	x->now = time(NULL);
	x->helo = c->out_helo != NULL && c->out_helo[0] ? c->out_helo : c->hostname;
	/* A peer closing mid-write must not kill the probe (SSL writes). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "ntamsa nta check: cannot ignore SIGPIPE\n");
		return -1;
	}
	if (out_policy_cfg_init(&x->pc, c, err, sizeof(err)) != 0) {
		fprintf(stderr, "ntamsa nta check: %s\n", err);
		return -1;
	}
	x->pc_ok = 1;
	if (smtpc_tls_new(&tc, &x->tls, err, sizeof(err)) != 0) {
		fprintf(stderr, "ntamsa nta check: %s\n", err);
		return -1;
	}
	return 0;
}

static void
conn_teardown(struct conn_ctx *x)
{
	smtpc_tls_free(x->tls);
	if (x->pc_ok)
		out_policy_cfg_free(&x->pc);
}

/* Health and regular probes; 0 with both filled, -1 on a local failure. */
static int
run_connect(const struct config *c, struct dns_resolver *r, const char *domain,
    struct conn_kind *ck)
{
	struct conn_ctx x;
	int rc = -1;

	if (conn_setup(&x, c, r) == 0) {
		conn_run(&x, domain, 1, &ck[0]);
		conn_run(&x, domain, 0, &ck[1]);
		rc = 0;
	}
	conn_teardown(&x);
	return rc;
}

static void
check_free(struct check *k)
{
	size_t i;

	dns_txt_free(k->txt);
	dns_mx_free(k->mx);
	for (i = 0; i < k->n_hosts; i++) {
		dns_addrs_free(k->h[i].addrs);
		dns_tlsa_free(k->h[i].tlsa);
	}
	free(k);
}

/* The TLS probe after the DNS facts; its output goes after theirs. */
static int
print_connect(const struct config *c, struct dns_resolver *r, const char *domain, int json)
{
	/* Two plans with their DNS facts and probes: too big for the stack. */
	struct conn_kind *ck = calloc(2, sizeof(*ck));
	int rc = -1;

	if (ck != NULL && run_connect(c, r, domain, ck) == 0) {
		if (json) {
			printf(",\"connect\":{\"port\":%lld,", (long long)c->out_port);
			json_conn(&ck[0]);
			printf(",");
			json_conn(&ck[1]);
			printf("}");
		} else {
			printf("connect-port: %lld\n", (long long)c->out_port);
			print_conn_text(&ck[0]);
			print_conn_text(&ck[1]);
		}
		rc = 0;
	}
	free(ck);
	return rc;
}

static int
run_check(const struct config *c, const char *domain, int json, int connect)
{
	struct dns_resolver *r;
	struct nta_providers *cert;
	struct check *k;
	char err[512];
	int rc = -1;

	if (load_certified(c, &cert) != 0)
		return 1;
	if (dns_resolver_new(c, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "ntamsa nta check: %s\n", err);
		nta_providers_free(cert);
		return 1;
	}
	k = calloc(1, sizeof(*k));
	if (k != NULL) {
		k->domain = domain;
		k->provider_checked = cert != NULL;
		if (dns_lookup_txt(r, domain, &k->txt) == 0) {
			evaluate_txt(k, cert);
			if (gather_hosts(k, r) == 0 && probe_hosts(k, r) == 0)
				rc = 0;
		}
	}
	if (rc == 0) {
		if (json)
			print_check_json(k);
		else
			print_check_text(k);
		rc = k->set.verdict == NTA_VALID ? 0 : 1;
		if (connect && print_connect(c, r, domain, json) != 0)
			rc = 1;
		if (json)
			printf("}\n");
	} else {
		fprintf(stderr, "ntamsa nta check: out of memory or bad domain\n");
		rc = 1;
	}
	if (k != NULL)
		check_free(k);
	dns_resolver_free(r);
	nta_providers_free(cert);
	return rc;
}

static int
cmd_check(const struct config *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{"json", no_argument, NULL, 'j'},
		{"connect", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch, json = 0, connect = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'C':
			connect = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	return run_check(c, argv[optind], json, connect);
}

int
cmd_nta(const struct config *c, int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(c, argc - 1, argv + 1);
	fprintf(stderr, "ntamsa nta: unknown sub-command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
