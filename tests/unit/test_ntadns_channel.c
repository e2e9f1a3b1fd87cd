/*
 * test_ntadns_channel.c - what DNS alone decides for health mail
 * (spec R-FLOW-2..4, R-FLOW-7): nta_channel_for_host, table-driven,
 * plus the raw-answer RRSIG Original TTL reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ntadns/ntadns.h"

#define S DNS_SECURE
#define I DNS_INSECURE
#define B DNS_BOGUS
#define T DNS_TEMPFAIL
#define NA -1				/* no addrs / no tlsa given */

struct ccase {
	const char *name;
	enum dns_state txt;
	enum nta_verdict verdict;
	enum dns_state hosts;
	int addr;			/* dns_state or NA */
	int tlsa_looked_up;
	int tlsa;			/* dns_state or NA */
	size_t usable;
	enum nta_channel want;
};

static const struct ccase cc[] = {
	{"secure-tlsa-usable-dane", S, NTA_VALID, S, S, 1, S, 1, NTA_CH_DANE},
	{"secure-tlsa-absent-bijlage-c", S, NTA_VALID, S, S, 1, S, 0, NTA_CH_BIJLAGE_C},
	{"secure-tlsa-unusable-bijlage-c", S, NTA_VALID, S, S, 1, S, 0, NTA_CH_BIJLAGE_C},
	{"tlsa-insecure-bijlage-c", S, NTA_VALID, S, S, 1, I, 0, NTA_CH_BIJLAGE_C},
	{"addr-insecure-no-tlsa-bijlage-c", S, NTA_VALID, S, I, 0, NA, 0, NTA_CH_BIJLAGE_C},
	{"tlsa-bogus-deferred", S, NTA_VALID, S, S, 1, B, 0, NTA_CH_DEFERRED},
	{"tlsa-tempfail-deferred", S, NTA_VALID, S, S, 1, T, 0, NTA_CH_DEFERRED},
	{"addr-bogus-deferred", S, NTA_VALID, S, B, 0, NA, 0, NTA_CH_DEFERRED},
	{"addr-tempfail-deferred", S, NTA_VALID, S, T, 0, NA, 0, NTA_CH_DEFERRED},
	{"txt-insecure-bijlage-b", I, NTA_VALID, I, I, 0, NA, 0, NTA_CH_BIJLAGE_B},
	{"txt-insecure-even-with-tlsa-bijlage-b", I, NTA_VALID, S, S, 1, S, 1, NTA_CH_BIJLAGE_B},
	{"txt-bogus-deferred", B, NTA_VALID, S, S, 1, S, 1, NTA_CH_DEFERRED},
	{"txt-tempfail-deferred", T, NTA_NONE, S, NA, 0, NA, 0, NTA_CH_DEFERRED},
	{"txt-bogus-no-verdict-deferred", B, NTA_NONE, S, NA, 0, NA, 0, NTA_CH_DEFERRED},
	{"no-record-portal", S, NTA_NONE, S, S, 1, S, 1, NTA_CH_PORTAL},
	{"invalid-record-portal", S, NTA_INVALID, S, S, 1, S, 1, NTA_CH_PORTAL},
	{"insecure-no-record-portal", I, NTA_NONE, I, NA, 0, NA, 0, NTA_CH_PORTAL},
	{"mx-bogus-deferred", S, NTA_VALID, B, NA, 0, NA, 0, NTA_CH_DEFERRED},
	{"mx-tempfail-deferred", S, NTA_VALID, T, NA, 0, NA, 0, NTA_CH_DEFERRED},
	{"mx-insecure-bijlage-b", S, NTA_VALID, I, I, 0, NA, 0, NTA_CH_BIJLAGE_B},
	{"no-addrs-given-deferred", S, NTA_VALID, S, NA, 0, NA, 0, NTA_CH_DEFERRED},
	{"tlsa-not-given-bijlage-c", S, NTA_VALID, S, S, 0, NA, 0, NTA_CH_BIJLAGE_C},
};

static void
run(void **state)
{
	const struct ccase *c = *state;
	struct dns_addrs a;
	struct dns_tlsa t;
	enum nta_channel got;

	memset(&a, 0, sizeof(a));
	memset(&t, 0, sizeof(t));
	a.m.state = c->addr == NA ? DNS_SECURE : (enum dns_state)c->addr;
	t.looked_up = c->tlsa_looked_up;
	t.m.state = c->tlsa == NA ? DNS_SECURE : (enum dns_state)c->tlsa;
	t.n_usable = c->usable;
	t.n = c->usable;
	got = nta_channel_for_host(c->txt, c->verdict, c->hosts,
	    c->addr == NA ? NULL : &a, c->tlsa == NA ? NULL : &t);
	if (got != c->want)
		fail_msg("%s: got %s, want %s", c->name, nta_channel_name(got),
		    nta_channel_name(c->want));
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(nta_channel_name(NTA_CH_DANE), "dane");
	assert_string_equal(nta_channel_name(NTA_CH_BIJLAGE_C), "bijlage-c");
	assert_string_equal(nta_channel_name(NTA_CH_BIJLAGE_B), "bijlage-b");
	assert_string_equal(nta_channel_name(NTA_CH_PORTAL), "portal");
	assert_string_equal(nta_channel_name(NTA_CH_DEFERRED), "deferred");
	assert_string_equal(dns_state_name(DNS_SECURE), "secure");
	assert_string_equal(dns_state_name(DNS_INSECURE), "insecure");
	assert_string_equal(dns_state_name(DNS_BOGUS), "bogus");
	assert_string_equal(dns_state_name(DNS_TEMPFAIL), "tempfail");
}

/* A TXT answer with two RRSIGs (two keys) and one over another type. */
static size_t
packet(unsigned char *p, uint32_t ttl1, uint32_t ttl2)
{
	static const unsigned char q[] = {6, 's', 'e', 'c', 'u', 'r', 'e', 4, 't', 'e', 's', 't', 0, 0, 16, 0, 1};
	size_t o = 0;
	uint32_t ttls[3] = {ttl1, ttl2, 999999};
	uint16_t cov[3] = {16, 16, 1};

	memcpy(p, "\x00\x01\x81\x80\x00\x01\x00\x03\x00\x00\x00\x00", 12);
	o = 12;
	memcpy(p + o, q, sizeof(q));
	o += sizeof(q);
	for (int i = 0; i < 3; i++) {
		p[o++] = 0xc0;
		p[o++] = 0x0c;			/* compressed owner */
		memcpy(p + o, "\x00\x2e\x00\x01\x00\x00\x01\x2c\x00\x14", 10);
		o += 10;
		p[o++] = (unsigned char)(cov[i] >> 8);
		p[o++] = (unsigned char)cov[i];
		p[o++] = 13;
		p[o++] = 2;
		p[o++] = (unsigned char)(ttls[i] >> 24);
		p[o++] = (unsigned char)(ttls[i] >> 16);
		p[o++] = (unsigned char)(ttls[i] >> 8);
		p[o++] = (unsigned char)ttls[i];
		memset(p + o, 0, 12);
		o += 12;
	}
	return o;
}

static void
test_orig_ttl(void **state)
{
	unsigned char p[512];
	uint32_t ttl = 0;
	size_t n;

	(void)state;
	n = packet(p, 3600, 90000);
	assert_int_equal(dns_wire_rrsig_orig_ttl(p, n, 16, &ttl), 0);
	assert_int_equal(ttl, 90000);		/* the largest, not the A one */
	assert_int_equal(dns_wire_rrsig_orig_ttl(p, n, 52, &ttl), -1);
	assert_int_equal(dns_wire_rrsig_orig_ttl(p, n - 1, 16, &ttl), -1);	/* truncated */
	assert_int_equal(dns_wire_rrsig_orig_ttl(p, 11, 16, &ttl), -1);
	assert_int_equal(dns_wire_rrsig_orig_ttl(NULL, 0, 16, &ttl), -1);
}

int
main(void)
{
	static struct CMUnitTest t[sizeof(cc) / sizeof(cc[0]) + 2];
	size_t i, n = 0;

	for (i = 0; i < sizeof(cc) / sizeof(cc[0]); i++) {
		t[n].name = cc[i].name;
		t[n].test_func = run;
		t[n].initial_state = (void *)&cc[i];
		n++;
	}
	t[n].name = "names";
	t[n++].test_func = test_names;
	t[n].name = "rrsig-original-ttl";
	t[n++].test_func = test_orig_ttl;
	return _cmocka_run_group_tests("ntadns_channel", t, n, NULL, NULL);
}
