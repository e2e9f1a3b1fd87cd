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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntadns/ntadns.h"

#define CHECK_HOSTS_MAX 8

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ntamsa nta parse [--at YYYY-MM-DD] [--ttl N] RECORD...\n"
	    "       ntamsa nta check [--json] DOMAIN\n"
	    "\n"
	    "parse  validate RECORDs as the TXT record set of one domain (spec section 3);\n"
	    "       --at: the Dutch date to validate at (default today), --ttl: the\n"
	    "       published TTL to check (R-NTA-4).  Exit 0 for a valid claim, 1 otherwise.\n"
	    "check  live DNSSEC-validated lookups: NTA records with TTL and DNSSEC state,\n"
	    "       the verdict, the mail hosts (ntamx or MX) with address and TLSA state,\n"
	    "       and the channel health mail would take as far as DNS decides\n"
	    "       (dane, bijlage-c, bijlage-b, portal; deferred for bogus/tempfail).\n"
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
	printf("],\"channel\":\"%s\"}\n", k->undeliverable && k->n_hosts == 0 ?
	    "undeliverable" : nta_channel_name(k->channel));
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

static int
run_check(const struct config *c, const char *domain, int json)
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch, json = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
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
	return run_check(c, argv[optind], json);
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
