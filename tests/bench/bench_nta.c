/*
 * bench_nta.c - NTA record throughput and cached DNS check latency.
 *
 *   bench_nta parse [SECONDS]          records parsed+validated per second, one core
 *   bench_nta dns CONF DOMAIN [N]      latency of the lookups `nta check` does
 *                                      (TXT, MX or ntamx, A/AAAA, TLSA) with a warm cache
 * Prints figures; never fails on a number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "ntadns/ntadns.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const recs[] = {
	"v=NTA7516-1;startdate=2019-06;enddate=2020-09;provider=kenmerkNTAsysteem;ntamx=10 inc.webser.nl;ntamx=20 inc2.webser.nl",
	"v=NTA7516-1;startdate=2019-06;enddate=2020-09;provider=kenmerkNTAsysteem",
	"v=NTA7516-1;startdate=2019-06;enddate=2020-09;provider=kenmerkNTAsysteem;ntamx:10 inc.webser.nl",
	"v=spf1 ip4:192.0.2.0/24 -all",
};

static int
bench_parse(double secs)
{
	static struct nta_set s;
	struct nta_txt t[4];
	struct nta_eval_opts o = {{2020, 1, 15}, 1, 3600, NULL};
	size_t i, nrec = 0, bytes = 0, valid = 0;
	double t0 = now(), el;

	for (i = 0; i < 4; i++) {
		t[i].data = (const unsigned char *)recs[i];
		t[i].len = strlen(recs[i]);
	}
	do {
		for (int k = 0; k < 10000; k++) {
			/* One record per evaluation, rotating through the mix. */
			const struct nta_txt *r = &t[k & 3];
			if (nta_set_eval(&s, r, 1, &o) == NTA_VALID)
				valid++;
			nrec++;
			bytes += r->len;
		}
		el = now() - t0;
	} while (el < secs);
	printf("nta-parse: %.0f records/s parsed+validated (one core, %zu records, avg %zu bytes, %zu valid, %.2f s)\n",
	    (double)nrec / el, nrec, bytes / nrec, valid, el);
	return 0;
}

static double
one_check(struct dns_resolver *r, const char *domain)
{
	struct dns_txt *txt;
	struct dns_mx *mx;
	struct dns_addrs *a;
	struct dns_tlsa *tl;
	double t0 = now();

	if (dns_lookup_txt(r, domain, &txt) != 0 || dns_lookup_mx(r, domain, &mx) != 0)
		exit(1);
	if (mx->n > 0) {
		if (dns_lookup_addrs(r, mx->mx[0].host, &a) != 0 ||
		    dns_lookup_tlsa(r, mx->mx[0].host, 25, a, &tl) != 0)
			exit(1);
		dns_tlsa_free(tl);
		dns_addrs_free(a);
	}
	dns_mx_free(mx);
	dns_txt_free(txt);
	return now() - t0;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
bench_dns(const char *conf, const char *domain, int n)
{
	struct config c;
	struct dns_resolver *r;
	char err[512];
	double *lat, sum = 0, cold;
	int i;

	if (config_defaults(&c) != 0 || config_load(&c, conf, err, sizeof(err)) != 0 ||
	    dns_resolver_new(&c, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_nta: %s\n", err);
		return 1;
	}
	lat = calloc((size_t)n, sizeof(*lat));
	if (lat == NULL)
		return 1;
	cold = one_check(r, domain);
	for (i = 0; i < n; i++) {
		lat[i] = one_check(r, domain);
		sum += lat[i];
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmpd);
	printf("nta-check-dns: cold %.1f ms; cached mean %.1f us, p50 %.1f us, p99 %.1f us (%d checks of %s: TXT+MX+A/AAAA+TLSA)\n",
	    cold * 1e3, sum / n * 1e6, lat[n / 2] * 1e6, lat[(n * 99) / 100] * 1e6, n, domain);
	free(lat);
	dns_resolver_free(r);
	config_free(&c);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "parse") == 0)
		return bench_parse(argc > 2 ? atof(argv[2]) : 2.0);
	if (argc >= 4 && strcmp(argv[1], "dns") == 0)
		return bench_dns(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 2000);
	fprintf(stderr, "usage: bench_nta parse [SECONDS] | dns CONF DOMAIN [N]\n");
	return 2;
}
